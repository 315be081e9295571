import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
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
            sessions[name] = try #require(try await IdentityEndToEndTests.signIn(coordinator, name, "\(name) has a long password").session)
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

    /// The `error.message` of an answer's body.
    static func message(_ body: Any?) -> String? {
        ((body as? [String: Any])?["error"] as? [String: Any])?["message"] as? String
    }
}
