import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Logging
import Testing

/// Service requests over the real HTTP API and command line, as the people who raise, approve
/// and fulfil them, each signed in with their own session.
@Suite struct ServiceRequestEndToEndTests {
    @Test func aLaptopFromTheCatalogueGoesThroughTwoApprovalsAndThreeTasksToCompletion() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2ereq")
        let coordinator = try await RunningCoordinator.start(configuration: "plugins: [incident, service]", databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let people = ["rita": "requester", "rob": "requester", "lena": "agent", "pat": "process-owner", "piet": "agent", "dora": "agent", "audrey": "auditor"]
        for (name, role) in people {
            let created = try await coordinator.request("POST", "api/v1/users", body: try JSONSerialization.data(withJSONObject: [
                "name": name, "displayName": name.capitalized, "roles": [role], "password": "\(name) has a long password",
            ]), token: coordinator.token)
            #expect(created.0 == 200, "\(String(decoding: created.1, as: UTF8.self))")
        }
        for (group, member) in [("team-leads", "lena"), ("procurement", "piet"), ("desk", "dora")] {
            #expect(try await coordinator.cli(["group", "set", group, "--lead", member]).status == .exited(0))
        }

        // The catalogue, through the command line made from the schemas.
        let service = try await coordinator.cli(["service", "set", "Workplace", "--owner", "olga", "--customers", "Finance"])
        #expect(service.status == .exited(0), "\(service.text)")
        let always = #"{"timeZone": "UTC", "hours": {"monday": ["00:00-24:00"], "tuesday": ["00:00-24:00"], "wednesday": ["00:00-24:00"], "thursday": ["00:00-24:00"], "friday": ["00:00-24:00"], "saturday": ["00:00-24:00"], "sunday": ["00:00-24:00"]}}"#
        let item = try await coordinator.cli([
            "request-item", "set", "laptop", "--service", "Workplace", "--title", "New laptop",
            "--form", #"{"type": "object", "properties": {"model": {"type": "string", "enum": ["standard", "developer"], "default": "standard"}, "justification": {"type": "string", "description": "Why now"}}, "required": ["justification"]}"#,
            "--approvals", #"{"kind": "group", "name": "team-leads"}"#, "--approvals", #"{"kind": "role", "name": "process-owner"}"#,
            "--tasks", #"{"name": "order", "group": "procurement", "after": []}"#,
            "--tasks", #"{"name": "account", "group": "desk", "after": []}"#,
            "--tasks", #"{"name": "deliver", "group": "desk", "after": ["order", "account"]}"#,
            "--target-minutes", "2880", "--calendar", always,
        ])
        #expect(item.status == .exited(0), "\(item.text)")

        var sessions: [String: IdentityEndToEndTests.Session] = [:]
        for name in people.keys {
            let session: IdentityEndToEndTests.Session = try #require(try await IdentityEndToEndTests.signIn(coordinator, name, "\(name) has a long password").session)
            sessions[name] = session
        }
        // The requester browses the catalogue and asks; a wrong answer is refused, naming it.
        let catalogue = try await sessions["rita"]!.send("GET", "api/v1/request-items")
        #expect(((catalogue.body as? [String: Any])?["items"] as? [[String: Any]])?.map { $0["name"] as? String } == ["laptop"])
        let wrong = try await sessions["rita"]!.send("POST", "api/v1/requests", ["item": "laptop", "answers": ["model": "gaming", "justification": "x"]])
        #expect(wrong.status == 400 && Self.message(wrong.body) == "answers.model: 'gaming' is not one of standard, developer", "\(wrong)")
        let raised = try await sessions["rita"]!.send("POST", "api/v1/requests", ["item": "laptop", "answers": ["justification": "battery swollen"]])
        let number = try #require((raised.body as? [String: Any])?["number"] as? String, "\(raised)")

        // Two levels: a team lead, then a process owner. Nobody else, and not the requester.
        for (name, status) in [("rita", 403), ("pat", 403), ("dora", 403), ("audrey", 403)] {
            let refused = try await sessions[name]!.send("POST", "api/v1/rpc/request.decide", ["number": number, "decision": "approve"])
            #expect(refused.status == status, "\(name): \(refused)")
        }
        let awaiting = try await sessions["lena"]!.send("GET", "api/v1/requests?awaitingMyApproval=true")
        #expect(((awaiting.body as? [String: Any])?["items"] as? [[String: Any]])?.count == 1, "\(awaiting)")
        #expect(try await sessions["lena"]!.send("POST", "api/v1/rpc/request.decide", ["number": number, "decision": "approve"]).status == 200)
        let approved = try await sessions["pat"]!.send("POST", "api/v1/rpc/request.decide", ["number": number, "decision": "approve", "comment": "budgeted"])
        #expect((approved.body as? [String: Any])?["status"] as? String == "in_fulfilment", "\(approved)")

        // Three tasks, each by its group; deliver waits for the two others.
        let early = try await sessions["dora"]!.send("POST", "api/v1/rpc/request.complete_task", ["number": number, "task": "deliver"])
        #expect(early.status == 409 && Self.message(early.body) == "task 'deliver' waits for 'order' and 'account'", "\(early)")
        #expect(try await sessions["dora"]!.send("POST", "api/v1/rpc/request.complete_task", ["number": number, "task": "order"]).status == 403)
        #expect(try await sessions["rita"]!.send("POST", "api/v1/rpc/request.complete_task", ["number": number, "task": "account"]).status == 403)
        for (name, task) in [("piet", "order"), ("dora", "account"), ("dora", "deliver")] {
            let done = try await sessions[name]!.send("POST", "api/v1/rpc/request.complete_task", ["number": number, "task": task, "notes": "done"])
            #expect(done.status == 200, "\(name) \(task): \(done)")
        }

        // The requester sees where it stands: fulfilled, measured against its target.
        let followed = try await sessions["rita"]!.send("GET", "api/v1/requests/\(number)")
        let request = try #require(followed.body as? [String: Any])
        #expect(request["status"] as? String == "fulfilled")
        let clock = try #require(request["clock"] as? [String: Any])
        #expect(clock["met"] as? Bool == true && (clock["businessMinutes"] as? Double ?? -1) >= 0 && clock["targetMinutes"] as? Int == 2880, "\(clock)")
        let steps = (request["approvals"] as? [[String: Any]])?.map { "\($0["state"] ?? "") \($0["decidedBy"] ?? "")" }
        #expect(steps == ["approved user:lena", "approved user:pat"], "\(steps ?? [])")
        #expect((request["tasks"] as? [[String: Any]])?.map { $0["doneBy"] as? String } == ["user:piet", "user:dora", "user:dora"])
        // Someone else's request is not there for another requester; the auditor reads it.
        #expect(try await sessions["rob"]!.send("GET", "api/v1/requests/\(number)").status == 404)
        #expect(try await sessions["audrey"]!.send("GET", "api/v1/requests/\(number)").status == 200)

        // Each step is in the audit log under the person who took it.
        let audit = try await coordinator.cli(["audit", "list", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(audit.text.utf8)) as? [[String: Any]])
        let steps2 = entries.filter { ($0["action"] as? String)?.hasPrefix("request.") == true && $0["outcome"] as? String == "ok" }
            .map { "\($0["actor"] ?? "") \($0["action"] ?? "")" }
        #expect(steps2 == ["user:rita request.raise", "user:lena request.decide", "user:pat request.decide", "user:piet request.complete_task",
                           "user:dora request.complete_task", "user:dora request.complete_task"], "\(steps2)")
        #expect(await coordinator.stop() == .exited(0))
    }

    /// Every hour of every day.
    static var always: [String: Any] {
        ["timeZone": "UTC", "hours": Dictionary(uniqueKeysWithValues: [
            "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        ].map { ($0, ["00:00-24:00"]) })]
    }

    /// The customer's agreement measures its contact's incident; the month's service report
    /// shows what was achieved, counted from the records; a review's actions stay listed until
    /// each is done.
    @Test func aCustomersAgreementMeasuresItsIncidentsAndItsReportAndReviewFollow() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eslm")
        let coordinator = try await RunningCoordinator.start(configuration: "plugins: [incident, service]", databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let pool = PostgresPool(conninfo: database.conninfo, logger: Logger(label: "e2e"))
        func ok(_ method: String, _ params: [String: Any]) async throws -> [String: Any] {
            let (status, body) = try await coordinator.call(method, params)
            #expect(status == 200, "\(method): \(body)")
            return body
        }
        _ = try await ok("incident.sla.define", ["priority": "P3", "responseMinutes": 120, "resolutionMinutes": 480, "calendar": Self.always])
        _ = try await ok("service.set", ["name": "Workplace"])
        _ = try await ok("customer.set", ["name": "Acme", "contacts": ["rita"]])
        let taken = try await coordinator.call("customer.set", ["name": "Globex", "contacts": ["rita"]])
        #expect(taken.status == 400 && Self.message(taken.body) == "contacts: rita speaks for Acme already; a person belongs to one customer")
        _ = try await ok("agreement.set", [
            "reference": "ACME-2026", "customer": "Acme", "service": "Workplace", "validFrom": "2026-01-01", "validTo": "2027-12-31",
            "targets": ["priorities": [["priority": "P3", "responseMinutes": 30, "resolutionMinutes": 240]], "compliancePercent": 90,
                        "fulfilmentPercent": 80],
            "calendar": Self.always,
        ])
        let overlapping = try await coordinator.call("agreement.set", [
            "reference": "ACME-2027", "customer": "Acme", "service": "Workplace", "validFrom": "2027-06-01", "validTo": "2028-05-31",
            "targets": ["priorities": [["priority": "P3", "responseMinutes": 30, "resolutionMinutes": 240]]],
        ])
        #expect(overlapping.status == 400 && Self.message(overlapping.body) == "validFrom: the period overlaps ACME-2026, active for the same customer and service")
        // The incident process learns both through events; wait for exactly that.
        let learned = try await coordinator.waitUntil {
            try await pool.query("""
                SELECT (SELECT count(*) FROM incident.sla_definition WHERE agreement = 'ACME-2026' AND active)
                     + (SELECT count(*) FROM incident.customer_contact WHERE account = 'rita' AND customer = 'Acme') AS n
                """).single().decode(Int.self, "n") == 2
        }
        #expect(learned)

        // Rita speaks for Acme: her incident runs on the agreement's 240 minutes; Bob's on the default 480.
        func resolutionTarget(_ number: String) async throws -> Int? {
            let detail = try await ok("incident.get", ["number": number])
            return (detail["serviceLevels"] as? [[String: Any]])?.first { $0["kind"] as? String == "resolution" }?["targetMinutes"] as? Int
        }
        let ritas = try #require(try await ok("incident.create", ["title": "Laptop dock dead", "caller": "rita", "service": "Workplace"])["number"] as? String)
        let open = try #require(try await ok("incident.create", ["title": "Printer offline", "caller": "rita", "service": "Workplace"])["number"] as? String)
        let bobs = try #require(try await ok("incident.create", ["title": "Monitor flickers", "caller": "bob", "service": "Workplace"])["number"] as? String)
        #expect(try await resolutionTarget(ritas) == 240)
        #expect(try await resolutionTarget(open) == 240)
        #expect(try await resolutionTarget(bobs) == 480)
        _ = try await ok("incident.transition", ["number": ritas, "to": "in_progress"])
        _ = try await ok("incident.transition", ["number": ritas, "to": "resolved", "resolutionCode": "fixed", "resolutionNotes": "new dock"])

        // A request for Acme, fulfilled at once.
        _ = try await ok("request_item.set", ["name": "dock", "service": "Workplace", "title": "Docking station",
                                              "tasks": [["name": "hand over"]], "targetMinutes": 60, "calendar": Self.always])
        let request = try #require(try await ok("request.raise", ["item": "dock", "requester": "rita"])["number"] as? String)
        _ = try await ok("request.complete_task", ["number": request, "task": "hand over"])

        // A review with two actions; each stays listed until done.
        let review = try #require(try await ok("service_review.record", [
            "customer": "Acme", "heldOn": "2026-11-27", "attendees": ["olga", "acme-it"], "findings": "Dock failures",
            "actions": [["description": "Stock spare docks", "owner": "olga", "dueOn": "2026-12-15"],
                        ["description": "Report dock failures monthly", "owner": "acme-it", "dueOn": "2027-01-31"]],
        ])["number"] as? String)

        // This month's report, counted by hand: two Acme incidents (Bob's is not Acme's), one
        // resolved and responded to in time, the other still running; one request in time.
        let now = Date()
        let from = Calendar(identifier: .gregorian).date(byAdding: .day, value: -1, to: now)!.formatted(.iso8601)
        let to = now.addingTimeInterval(3600).formatted(.iso8601)
        let report = try await ok("service.report", ["customer": "Acme", "from": from, "to": to])
        #expect(report["incidentData"] as? String == "available", "\(report)")
        let acme = try #require((report["agreements"] as? [[String: Any]])?.first, "\(report)")
        #expect(acme["reference"] as? String == "ACME-2026" && acme["incidentsCreated"] as? Int == 2 && acme["incidentsResolved"] as? Int == 1)
        let p3 = try #require((acme["priorities"] as? [[String: Any]])?.first)
        #expect([p3["created"], p3["responseMet"], p3["responseMeasured"], p3["resolutionMet"], p3["resolutionMeasured"]].map { $0 as? Int }
                == [2, 1, 1, 1, 1], "\(p3)")
        #expect(acme["achievedPercent"] as? Double == 100 && acme["compliant"] as? Bool == true && (acme["breaches"] as? [Any])?.isEmpty == true)
        let requests = try #require(acme["requests"] as? [String: Any])
        #expect([requests["raised"], requests["fulfilled"], requests["withinTarget"]].map { $0 as? Int } == [1, 1, 1], "\(requests)")
        #expect((report["openReviewActions"] as? [String])?.count == 2)
        // Printable: the REST route answers the page.
        let (status, page) = try await coordinator.request("GET", "api/v1/service-reports/Acme?from=\(from)&to=\(to)", token: coordinator.token)
        let html = String(decoding: page, as: UTF8.self)
        #expect(status == 200 && html.contains("<h1>Service report: Acme</h1>") && html.contains("ACME-2026: Workplace"), "\(html.prefix(400))")

        // A service level manager finds the customer and its report in the console, signed in.
        #expect(try await coordinator.cli(["user", "create", "olga", "--role", "process-owner", "--password-stdin"],
                                          input: "olga has a long password\n").status == .exited(0))
        let olga = try #require(try await IdentityEndToEndTests.signIn(coordinator, "olga", "olga has a long password").session)
        let console = try await coordinator.request("GET", "console/requests", headers: ["Cookie": olga.cookie])
        let listing = String(decoding: console.1, as: UTF8.self)
        #expect(listing.contains(#"id="report-Acme""#) && listing.contains("ACME-2026 (Workplace)"), "\(listing.suffix(800))")
        let linked = try await coordinator.request("GET", "api/v1/service-reports/Acme", headers: ["Cookie": olga.cookie])
        #expect(linked.0 == 200 && String(decoding: linked.1, as: UTF8.self).contains("<h1>Service report: Acme</h1>"))

        func openReviews() async throws -> [String] {
            ((try await ok("service_review.list", ["openActions": true])["items"] as? [[String: Any]]) ?? []).compactMap { $0["number"] as? String }
        }
        #expect(try await openReviews() == [review])
        _ = try await ok("service_review.complete_action", ["number": review, "action": 1, "outcome": "Ten docks in stock"])
        #expect(try await openReviews() == [review])
        let twice = try await coordinator.call("service_review.complete_action", ["number": review, "action": 1, "outcome": "again"])
        #expect(twice.status == 409, "\(twice)")
        _ = try await ok("service_review.complete_action", ["number": review, "action": 2, "outcome": "On the monthly report"])
        #expect(try await openReviews().isEmpty)
        await pool.close()
        #expect(await coordinator.stop() == .exited(0))
    }

    /// Service names the incident records used before the catalogue join it when the service
    /// process starts; from then on a record names a catalogue service.
    @Test func theServiceNamesInUseJoinTheCatalogueAndNewRecordsNameACatalogueService() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2ecatalogue")
        let coordinator = try await RunningCoordinator.start(configuration: "plugins: [incident]", databaseURL: database.conninfo)
        defer { coordinator.remove() }
        for service in ["Payroll", "Email", "email"] {
            #expect(try await coordinator.call("incident.create", ["title": "Trouble with \(service)", "service": service]).status == 200)
        }
        let enabled = try await coordinator.cli(["plugins", "enable", "service", "--reload"])
        #expect(enabled.status == .exited(0), "\(enabled.text)")
        let pool = PostgresPool(conninfo: database.conninfo, logger: Logger(label: "e2e"))
        // Both names reach the catalogue, and the incident process learns them.
        let adopted = try await coordinator.waitUntil(timeout: .seconds(60)) {
            try await pool.query("SELECT count(*) AS n FROM incident.catalogue_service").single().decode(Int.self, "n") == 2
        }
        #expect(adopted)
        let listed = try await coordinator.call("service.list")
        #expect((listed.body["items"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["Email", "Payroll"], "\(listed)")
        let refused = try await coordinator.call("incident.create", ["title": "Timesheets", "service": "Timesheets"])
        #expect(refused.status == 400 && Self.message(refused.body) == "service: 'Timesheets' is not in the service catalogue (itsm service list)")
        #expect(try await coordinator.call("incident.create", ["title": "Payslips late", "service": "payroll"]).status == 200)
        await pool.close()
        #expect(await coordinator.stop() == .exited(0))
    }

    /// The self-service portal in a real browser: a requester asks from the catalogue through the
    /// form drawn from the item's schema, a team lead approves, two groups do their tasks.
    @Test func theConsoleTakesARequestFromTheCatalogueFormToFulfilment() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eportal")
        let coordinator = try await RunningCoordinator.start(configuration: "plugins: [incident, service]", databaseURL: database.conninfo)
        defer { coordinator.remove() }
        for (name, role) in ["rita": "requester", "lena": "agent", "piet": "agent", "dora": "agent"] {
            #expect(try await coordinator.cli(["user", "create", name, "--role", role, "--password-stdin"],
                                              input: "\(name) has a long password\n").status == .exited(0))
        }
        for (group, member) in [("team-leads", "lena"), ("procurement", "piet"), ("desk", "dora")] {
            #expect(try await coordinator.cli(["group", "set", group, "--lead", member]).status == .exited(0))
        }
        #expect(try await coordinator.call("service.set", ["name": "Workplace"]).status == 200)
        let item = try await coordinator.call("request_item.set", [
            "name": "laptop", "service": "Workplace", "title": "New laptop", "targetMinutes": 2880, "calendar": Self.always,
            "form": ["properties": ["model": ["type": "string", "enum": ["standard", "developer"], "default": "standard"],
                                    "justification": ["type": "string", "description": "Why the current one does not do"]],
                     "required": ["justification"]],
            "approvals": [["kind": "group", "name": "team-leads"], ["kind": "user", "name": "lena"]],
            "tasks": [["name": "order", "group": "procurement"], ["name": "deliver", "group": "desk"]],
        ])
        #expect(item.status == 200, "\(item.body)")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Browser/request_portal.py").standardized.path
        let browsed = try await Command.run(try ConsoleEndToEndTests.python(), [script, coordinator.baseURL.absoluteString])
        #expect(browsed.status == .exited(0) && browsed.text.contains("request portal: all steps passed"), "\(browsed.text)")
        // What the browser did went through the API's calls: the audit log names each person.
        let audit = try await coordinator.cli(["audit", "list", "--json"])
        let actions = (try JSONSerialization.jsonObject(with: Data(audit.text.utf8)) as? [[String: Any]] ?? [])
            .filter { ($0["action"] as? String)?.hasPrefix("request.") == true && $0["outcome"] as? String == "ok" }
            .map { "\($0["actor"] ?? "") \($0["action"] ?? "")" }
        #expect(actions == ["user:rita request.raise", "user:lena request.decide", "user:lena request.decide",
                            "user:piet request.complete_task", "user:dora request.complete_task"], "\(actions)")
        #expect(await coordinator.stop() == .exited(0))
    }

    /// The `error.message` of an answer's body.
    static func message(_ body: Any?) -> String? {
        ((body as? [String: Any])?["error"] as? [String: Any])?["message"] as? String
    }
}
