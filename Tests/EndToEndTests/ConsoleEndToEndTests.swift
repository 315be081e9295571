import Foundation
import ITSMEndToEndTesting
import ITSMSystem
import ITSMTesting
import Testing

/// The console in a real browser: Debian's chromium driven through Selenium by
/// Tests/Browser/console_flows.py, against the real coordinator and plugins.
@Suite struct ConsoleEndToEndTests {
    static func python() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let tools = environment["ITSM_TOOLS"] ?? (environment["HOME"] ?? "/root") + "/.cache/itsm-tools/venv"
        let path = tools + "/bin/python"
        guard FileManager.default.isExecutableFile(atPath: path), FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") else {
            throw TestHarnessError("selenium or chromium-driver is missing; run deploy/local/install-prerequisites.sh")
        }
        return path
    }

    /// Every page the console draws from the built-in processes' schemas opens for an
    /// administrator: each kind of record's list, its form, and a record of each kind.
    @Test func everyDrawnPageOfEveryBuiltInProcessOpens() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2edrawn")
        let coordinator = try await RunningCoordinator.start(configuration: RunningCoordinator.everyBuiltInProcess, databaseURL: database.conninfo)
        defer { coordinator.remove() }
        #expect(try await coordinator.cli(["user", "create", "ada", "--role", "administrator", "--password-stdin"],
                                          input: "ada has a long password\n").status == .exited(0))
        // A record of a few kinds, so their record pages have something to show.
        for (method, params) in [
            ("incident.create", ["title": "Mail down"] as [String: Any]), ("problem.create", ["title": "Mail relay crashes"]),
            ("supplier.create", ["name": "Acme Networks", "kind": "external"]), ("service.set", ["name": "Workplace"]),
            ("customer.set", ["name": "Acme", "contacts": ["ada"]]),
            ("agreement.set", ["reference": "ACME-1", "customer": "Acme", "service": "Workplace", "validFrom": "2026-01-01", "validTo": "2026-12-31",
                               "targets": ["priorities": [["priority": "P2", "responseMinutes": 30, "resolutionMinutes": 240]]]]),
        ] {
            let made = try await coordinator.call(method, params)
            #expect(made.status == 200, "\(method): \(made.body)")
        }
        let ada = try #require(try await IdentityEndToEndTests.signIn(coordinator, "ada", "ada has a long password").session)
        func open(_ path: String) async throws -> (Int, String) {
            let (status, body) = try await coordinator.request("GET", String(path.dropFirst()), headers: ["Cookie": ada.cookie])
            return (status, String(decoding: body, as: UTF8.self))
        }
        func links(_ html: String, _ pattern: Regex<(Substring, Substring)>) -> [String] {
            Array(Set(html.matches(of: pattern).map { String($0.output.1) })).sorted()
        }
        let (status, index) = try await open("/console/processes")
        #expect(status == 200)
        let lists = links(index, /href="(\/console\/p\/[a-z_]+)"/)
        for namespace in ["incident", "problem", "supplier", "customer", "agreement", "service", "request", "nonconformity"] {
            #expect(lists.contains("/console/p/\(namespace)"), "\(namespace) missing from \(lists)")
        }
        var records = 0
        for list in lists {
            let (listed, page) = try await open(list)
            #expect(listed == 200, "\(list): \(listed)")
            for form in links(page, /href="(\/console\/p\/[a-z_]+\/new)"/) {
                #expect(try await open(form).0 == 200, "\(form)")
            }
            if let record = links(page, /href="(\/console\/p\/[a-z_]+\/records\/[^"]+)"/).first {
                let (shown, html) = try await open(record)
                #expect(shown == 200 && html.contains(#"id="record-key""#), "\(record): \(shown)")
                records += 1
            }
        }
        #expect(records >= 6, "\(records) record pages opened")

        // An incident linked to a problem opens the problem's page from its own.
        let linked = try await coordinator.call("problem.link", ["number": "PRB-000001", "incident": "INC-000001"])
        #expect(linked.status == 200, "\(linked.body)")
        // The incident process learns of the link from the problem process's event: asked until it has.
        let problemLink = #"<dd id="problem"><a href="/console/p/problem/records/PRB-000001">PRB-000001</a></dd>"#
        var incidentPage = ""
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            incidentPage = try await open("/console/incidents/INC-000001").1
            if incidentPage.contains(problemLink) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(incidentPage.contains(problemLink), "\(incidentPage)")

        // Searching for the symptoms finds the known error with its workaround, ahead of records.
        let published = try await coordinator.call("knownerror.publish", [
            "problem": "PRB-000001", "symptoms": "Outgoing mail stays in the queue after midnight",
            "workaround": "Restart the relay with systemctl restart postfix", "rootCause": "Log rotation fills /var"])
        #expect(published.status == 200, "\(published.body)")
        let (searched, results) = try await open("/console/search?q=mail+queue+after+midnight")
        #expect(searched == 200 && results.contains(#"id="known-errors""#) && results.contains(#"href="/console/p/knownerror/records/KE-000001""#)
                && results.contains("Restart the relay with systemctl restart postfix") && results.contains("“mail queue after midnight”"), "\(results)")

        // The dashboards: a card for every built-in process's figures, drawn from their shape.
        let (dashboard, figures) = try await open("/console/dashboard?days=7")
        #expect(dashboard == 200 && !figures.contains("message error") && figures.contains(#"id="period-7" aria-current="page""#), "\(figures)")
        for process in ["capacity", "improvement", "incident", "problem", "supplier"] {
            #expect(figures.contains(#"id="stats-\#(process)""#), "\(process) has no card")
        }
        #expect(figures.contains(#"<span class="tile-value">1</span> <span class="tile-label">Created in period</span>"#)
                && figures.contains("<title>Open by priority</title>"), "\(figures)")
        #expect(await coordinator.stop() == .exited(0))
    }

    /// A queue pages by the list's cursor: the next page follows the last record shown.
    @Test func aQueuePagesForwardByCursorAndBackToTheFirstPage() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2equeuepages")
        let coordinator = try await RunningCoordinator.start(configuration: "plugins:\n  - incident\n  - service\n", databaseURL: database.conninfo)
        defer { coordinator.remove() }
        #expect(try await coordinator.cli(["user", "create", "ada", "--role", "administrator", "--password-stdin"],
                                          input: "ada has a long password\n").status == .exited(0))
        for n in 1...30 {
            #expect(try await coordinator.call("incident.create", ["title": "Queue record \(n)"]).status == 200)
        }
        let ada = try #require(try await IdentityEndToEndTests.signIn(coordinator, "ada", "ada has a long password").session)
        func open(_ path: String) async throws -> String {
            let (status, body) = try await coordinator.request("GET", String(path.dropFirst()), headers: ["Cookie": ada.cookie])
            #expect(status == 200, "\(path)")
            return String(decoding: body, as: UTF8.self)
        }
        func titles(_ html: String) -> [String] { html.matches(of: /Queue record (\d+)/).map { String($0.output.1) } }
        let first = try await open("/console/?queue=all")
        #expect(first.contains("25 shown of 30") && titles(first).count == 25 && !first.contains(">First page<"), "\(first.suffix(2000))")
        let next = try #require(first.firstMatch(of: /href="(\/console\/\?queue=all&amp;sort=updated&amp;after=[^"]+)" rel="next"/)
            .map { String($0.output.1) })
        let second = try await open(next.replacingOccurrences(of: "&amp;", with: "&"))
        #expect(second.contains("5 shown of 30") && !second.contains(#"rel="next""#) && second.contains(">First page<"), "\(second.suffix(2000))")
        #expect(Set(titles(first)).isDisjoint(with: titles(second)) && Set(titles(first) + titles(second)).count == 30)

        // Narrowed to a priority, and the most urgent first; a value the list does not take is ignored.
        for n in 31...32 {
            #expect(try await coordinator.call("incident.create", ["title": "Queue record \(n)", "impact": "high", "urgency": "high"]).status == 200)
        }
        let urgent = try await open("/console/?queue=all&priority=P1")
        #expect(urgent.contains("2 shown of 2") && Set(titles(urgent)) == ["31", "32"] && urgent.contains(#"<option value="P1" selected>"#),
                "\(urgent.suffix(2000))")
        let byUrgency = try await open("/console/?queue=all&sort=priority")
        #expect(titles(byUrgency).prefix(2).sorted() == ["31", "32"] && byUrgency.contains("25 shown of 32"), "\(byUrgency.suffix(2000))")
        let ignored = try await open("/console/?queue=all&sort=bogus&priority=P9")
        #expect(ignored.contains("25 shown of 32"), "\(ignored.suffix(2000))")

        // Narrowed to a customer: the records of the people who speak for it. The incident
        // process learns a customer's contacts from the service process's event.
        #expect(try await coordinator.call("customer.set", ["name": "Acme", "contacts": ["ada"]]).status == 200)
        var acme: [String] = []
        #expect(try await coordinator.waitUntil {
            let created = try await coordinator.call("incident.create", ["title": "For a customer", "caller": "ada"]).body
            if created["customer"] as? String == "Acme", let number = created["number"] as? String { acme.append(number) }
            return !acme.isEmpty
        })
        let again = try await coordinator.call("incident.create", ["title": "For a customer", "caller": "ada"]).body
        acme.append(try #require(again["number"] as? String))
        let forAcme = try await open("/console/?queue=all&customer=Acme")
        #expect(forAcme.contains("2 shown of 2") && acme.allSatisfy(forAcme.contains) && forAcme.contains(#"id="queue-customer" name="customer" value="Acme""#)
                && forAcme.contains(#"<option value="Acme">"#), "\(forAcme.suffix(2500))")
        let nobody = try await open("/console/?queue=all&customer=Globex")
        #expect(!nobody.contains(#"id="queue""#) && !acme.contains(where: nobody.contains), "\(nobody.suffix(2000))")
        #expect(await coordinator.stop() == .exited(0))
    }

    /// A drawn list pages by cursor when its method takes one, and its page links keep the filter.
    @Test func aDrawnListPagesByCursorKeepingItsFilter() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2edrawnpages")
        let coordinator = try await RunningCoordinator.start(configuration: "plugins:\n  - incident\n  - problem\n", databaseURL: database.conninfo)
        defer { coordinator.remove() }
        #expect(try await coordinator.cli(["user", "create", "ada", "--role", "administrator", "--password-stdin"],
                                          input: "ada has a long password\n").status == .exited(0))
        for n in 1...30 {
            #expect(try await coordinator.call("problem.create", ["title": "Paged problem \(n)"]).status == 200)
        }
        let closed = try await coordinator.call("problem.create", ["title": "Paged problem filtered out"])
        let number = try #require(closed.body["number"] as? String)
        #expect(try await coordinator.call("problem.transition", ["number": number, "to": "closed", "note": "a duplicate"]).status == 200)
        let ada = try #require(try await IdentityEndToEndTests.signIn(coordinator, "ada", "ada has a long password").session)
        func open(_ path: String) async throws -> String {
            let (status, body) = try await coordinator.request("GET", String(path.dropFirst()), headers: ["Cookie": ada.cookie])
            #expect(status == 200, "\(path)")
            return String(decoding: body, as: UTF8.self)
        }
        func titles(_ html: String) -> [String] { html.matches(of: /Paged problem (\d+)/).map { String($0.output.1) } }
        let first = try await open("/console/p/problem?status=new")
        #expect(titles(first).count == 25 && !first.contains(#"id="first-page""#), "\(first.suffix(2000))")
        let next = try #require(first.firstMatch(of: /href="(\?status=new&amp;after=[^"]+)" id="next-page"/).map { String($0.output.1) })
        let second = try await open("/console/p/problem" + next.replacingOccurrences(of: "&amp;", with: "&"))
        #expect(titles(second).count == 5 && !second.contains(#"id="next-page""#) && second.contains(#"href="?status=new&amp;" id="first-page""#),
                "\(second.suffix(2000))")
        #expect(Set(titles(first) + titles(second)).count == 30 && !second.contains("filtered out"))
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func aRequesterReportsAnAgentWorksItAndTheRequesterConfirmsInARealBrowser() async throws {
        let coordinator = try await RunningCoordinator.start(configuration: "plugins: [incident]")
        defer { coordinator.remove() }
        for (name, role) in [("rita", "requester"), ("alan", "agent"), ("ada", "administrator"), ("audrey", "auditor")] {
            let created = try await coordinator.cli(["user", "create", name, "--role", role, "--password-stdin"],
                                                    input: "\(name) has a long password\n")
            #expect(created.status == .exited(0), "\(created.text)")
        }
        let other = try await coordinator.call("incident.create", ["title": "Someone else's laptop", "caller": "bob"])
        let otherNumber = try #require(other.body["number"] as? String)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Browser/console_flows.py").standardized.path
        let run = try await Command.run(try Self.python(), [script, coordinator.baseURL.absoluteString, otherNumber])
        print(run.text)
        #expect(run.status == .exited(0) && run.text.contains("console flows: all steps passed"), "\(run.text)")

        // What the browser did went through the same checks and into the audit log.
        let audit = try await coordinator.cli(["audit", "list", "--actor", "user:alan", "--json"])
        let actions = ((try? JSONSerialization.jsonObject(with: Data(audit.text.utf8))) as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
        #expect(actions.contains("incident.assign") && actions.contains("incident.transition") && actions.contains("session.login"), "\(actions)")

        // The page benchmark signs in the same way and times the page a person sees.
        let bench = try await coordinator.cli(["bench", "page", "/console/", "--name", "rita", "--requests", "20"],
                                              input: "rita has a long password\n")
        #expect(bench.status == .exited(0) && bench.text.contains("/console/ as rita ("), "\(bench.text)")
        let refused = try await coordinator.cli(["bench", "page", "/console/", "--name", "rita"], input: "not her password\n")
        #expect(refused.status != .exited(0) && refused.text.contains("could not sign in as rita: HTTP 401"), "\(refused.text)")
        #expect(await coordinator.stop() == .exited(0))
    }
    /// Service levels set in a real browser reach the incident process as `incident.sla.define`
    /// would from the API, and a refused one says which field; a priority matrix changed there
    /// is written to itsm.yaml and prioritises the next record.
    @Test func anAdministratorSetsServiceLevelsInARealBrowser() async throws {
        let coordinator = try await RunningCoordinator.start(configuration: "plugins: [incident]")
        defer { coordinator.remove() }
        for (name, role) in [("ada", "administrator"), ("alan", "agent")] {
            let created = try await coordinator.cli(["user", "create", name, "--role", role, "--password-stdin"],
                                                    input: "\(name) has a long password\n")
            #expect(created.status == .exited(0), "\(created.text)")
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Browser/service_levels.py").standardized.path
        let run = try await Command.run(try Self.python(), [script, coordinator.baseURL.absoluteString])
        print(run.text)
        #expect(run.status == .exited(0) && run.text.contains("service levels: all steps passed"), "\(run.text)")

        // The process holds what the page set, and measures a new record by it.
        let (listed, body) = try await coordinator.request("POST", "api/v1/rpc/incident.sla.list", body: Data("{}".utf8), token: coordinator.token)
        let defined = (try? JSONSerialization.jsonObject(with: body) as? [[String: Any]]) ?? []
        let definitions = defined.map { "\($0["service"] as? String ?? "*") \($0["priority"] as? String ?? "") \($0["resolutionMinutes"] as? Int ?? 0)" }
        #expect(listed == 200 && definitions.sorted() == ["* P2 270", "email P2 120"], "\(defined)")
        let record = try await coordinator.call("incident.create", ["title": "Mail down", "impact": "high", "urgency": "medium", "service": "email"])
        #expect(record.body["priority"] as? String == "P2", "\(record.body)")
        let detail = try await coordinator.call("incident.get", ["number": record.body["number"] as? String ?? ""])
        let targets = (detail.body["serviceLevels"] as? [[String: Any]] ?? []).compactMap { $0["targetMinutes"] as? Int }
        #expect(targets.sorted() == [15, 120], "\(detail.body)")

        // The matrix the page saved is in itsm.yaml, applied, and audited.
        let urgent = try await coordinator.call("incident.create", ["title": "VIP printer", "impact": "medium", "urgency": "high"])
        #expect(urgent.body["priority"] as? String == "P1", "\(urgent.body)")
        let yaml = try String(contentsOfFile: coordinator.configFile, encoding: .utf8)
        #expect(yaml.contains("{name: incident, config: {priorityMatrix: [[1, 2, 3], [1, 3, 4], [3, 4, 5]]}}"), "\(yaml)")
        let audit = try await coordinator.cli(["audit", "list", "--action", "plugins.configure"])
        #expect(audit.text.contains("plugins.configure") && audit.text.contains("user:ada") && audit.text.contains("incident"), "\(audit.text)")
        #expect(await coordinator.stop() == .exited(0))
    }
    /// An agent edits a record's details where they are shown and through the form; each change
    /// goes through incident.update as the agent, and only what the agent changed is sent.
    @Test func anAgentEditsARecordsDetailsInPlaceInARealBrowser() async throws {
        let coordinator = try await RunningCoordinator.start(configuration: "plugins: [incident]")
        defer { coordinator.remove() }
        let created = try await coordinator.cli(["user", "create", "alan", "--role", "agent", "--password-stdin"],
                                                input: "alan has a long password\n")
        #expect(created.status == .exited(0), "\(created.text)")
        // Round the clock, so the record's clocks run and count down whatever the hour.
        let allWeek = Dictionary(uniqueKeysWithValues: ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
            .map { ($0, ["00:00-24:00"]) })
        let defined = try await coordinator.call("incident.sla.define", ["priority": "P3", "responseMinutes": 60, "resolutionMinutes": 480,
                                                                           "calendar": ["timeZone": "UTC", "hours": allWeek]])
        #expect(defined.status == 200, "\(defined.body)")
        let record = try await coordinator.call("incident.create", ["title": "Mail relay slow", "category": "hardware"])
        let number = try #require(record.body["number"] as? String)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Browser/inline_edit.py").standardized.path
        let run = try await Command.run(try Self.python(), [script, coordinator.baseURL.absoluteString, number, coordinator.token])
        print(run.text)
        #expect(run.status == .exited(0) && run.text.contains("inline edit: all steps passed"), "\(run.text)")

        // Each change is alan's, in the history; a field he did not touch has no entry of his.
        let detail = try await coordinator.call("incident.get", ["number": number, "history": true])
        let incident = detail.body["incident"] as? [String: Any] ?? [:]
        #expect(incident["priority"] as? String == "P2" && incident["configurationItem"] as? String == "MX-01"
                && (incident["service"] as? String) == nil && incident["subcategory"] as? String == "relay", "\(incident)")
        let history = (detail.body["history"] as? [[String: Any]] ?? []).filter { $0["actor"] as? String == "user:alan" }
        let fields = Set(history.compactMap { $0["field"] as? String })
        #expect(fields == ["category", "impact", "priority", "service", "subcategory"], "\(history)")
        #expect(await coordinator.stop() == .exited(0))
    }
}
