import Foundation
import ITSMEndToEndTesting
import ITSMSystem
import ITSMTesting
import Testing

/// The example plugins must keep conforming and keep working under the coordinator.
@Suite(.serialized) struct ExamplePluginEndToEndTests {
    static let helloPython = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Examples/hello-python/plugin.py").standardizedFileURL.path

    static let changePython = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Examples/change-python/plugin.py").standardizedFileURL.path

    /// The Python SDK from this checkout, ahead of any installed copy.
    static let pythonSDK = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../sdk/python").standardizedFileURL.path

    /// The change example's entry in itsm.yaml: run by the tools' Python, which has psycopg.
    static func changeProcessEntry() throws -> String {
        """
          - name: change
            command: [\(try ConsoleEndToEndTests.python()), \(changePython)]
            env:
              PYTHONPATH: \(pythonSDK)
        """
    }

    /// `itsm plugin check` on the change example.
    static func checkChangeProcess() async throws -> Command.Output {
        try await Command.run(try Binaries.path("itsm"), ["plugin", "check", "--", "env", "PYTHONPATH=\(pythonSDK)",
                                                          try ConsoleEndToEndTests.python(), changePython])
    }

    @Test func pythonExamplePassesEveryRuleAndServesThroughTheAPI() async throws {
        let check = try await Command.run(try Binaries.path("itsm"), ["plugin", "check", "--", "python3", Self.helloPython])
        #expect(check.status == .exited(0), "\(check.text)")
        #expect(check.text.contains("all 20 rules pass"))

        let database = try await TestPostgres.makeDatabase(label: "e2ehello")
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - incident
              - name: hello
                command: [python3, \(Self.helloPython)]
            """, databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let (status, body) = try await coordinator.call("hello.greet", ["name": "service desk"])
        #expect(status == 200)
        #expect(body["greeting"] as? String == "Hello, service desk!")
        #expect(try await coordinator.call("hello.greet", ["name": ""]).status == 400)
        #expect(try await coordinator.call("incident.create", ["title": "still here"]).status == 200)
        #expect(coordinator.log.contains("hello ready"))
        #expect(await coordinator.stop() == .exited(0))
    }

    /// The console draws the change process's pages from its schemas alone: a list with a
    /// filter, a form, a record page.
    @Test func theConsoleShowsACustomProcessWithNoPageWrittenForIt() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2epages")
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - incident
            \(try Self.changeProcessEntry())
            """, databaseURL: database.conninfo)
        defer { coordinator.remove() }
        #expect(try await coordinator.cli(["user", "create", "ada", "--role", "administrator", "--password-stdin"],
                                          input: "ada has a long password\n").status == .exited(0))
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Browser/process_pages.py").standardized.path
        let browsed = try await Command.run(try ConsoleEndToEndTests.python(), [script, coordinator.baseURL.absoluteString])
        #expect(browsed.status == .exited(0) && browsed.text.contains("process pages: all steps passed"), "\(browsed.text)")
        // Made through the API's call, as ada.
        // The restart from the console is in the audit log under ada, and the process came back.
        let audit = try await coordinator.request("GET", "api/v1/audit?action=plugins.restart", token: coordinator.token)
        #expect(String(decoding: audit.1, as: UTF8.self).contains(#""actor":"user:ada""#), "\(String(decoding: audit.1, as: UTF8.self))")
        #expect(try await coordinator.waitUntil { try await coordinator.call("change.list").status == 200 })
        let made = try await coordinator.call("change.list")
        #expect(((made.body["items"] as? [[String: Any]])?.first?["title"] as? String) == "Patch the mail relay", "\(made.body)")
        #expect(await coordinator.stop() == .exited(0))
    }

    /// The change-request example: its own schema, methods, events both ways, and a call to
    /// the incident process through the coordinator.
    @Test func pythonChangeProcessWorksWithTheIncidentProcess() async throws {
        let check = try await Self.checkChangeProcess()
        #expect(check.status == .exited(0), "\(check.text)")

        let database = try await TestPostgres.makeDatabase(label: "e2echange")
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - incident
            \(try Self.changeProcessEntry())
            """, databaseURL: database.conninfo)
        defer { coordinator.remove() }

        let (status, change) = try await coordinator.call("change.create", ["title": "Patch the mail relay", "risk": "low"])
        #expect(status == 200, "\(change)")
        let number = try #require(change["number"] as? String)
        #expect(number.hasPrefix("CHG-") && change["status"] as? String == "draft")
        let skipped = try await coordinator.call("change.transition", ["number": number, "to": "implemented"])
        #expect(skipped.status == 422 || skipped.status == 409 || skipped.status == 400, "\(skipped)")
        #expect(PluginManagementEndToEndTests.kind(skipped.body) == "change.invalid_transition")
        for step in ["submitted", "approved", "implemented"] {
            #expect(try await coordinator.call("change.transition", ["number": number, "to": step]).status == 200)
        }
        let history = try await coordinator.call("change.get", ["number": number]).body["history"] as? [[String: Any]]
        #expect(history?.compactMap { $0["new_value"] as? String } == ["draft", "submitted", "approved", "implemented"])

        // Its params schemas make the coordinator refuse what a method does not take, naming it.
        for method in ["change.create", "change.get", "change.list", "change.transition"] {
            let refused = try await coordinator.call(method, ["number": number, "title": "x", "to": "closed", "attachments": [1]])
            #expect(refused.status == 400 && "\(refused.body)".contains("params.attachments: unknown member"), "\(method): \(refused.body)")
        }
        let mistyped = try await coordinator.call("change.create", ["title": "Patch", "risk": "extreme"])
        #expect(mistyped.status == 400 && (mistyped.body["error"] as? [String: Any])?["message"] as? String
                == "params.risk: 'extreme' is not one of low, medium, high", "\(mistyped.body)")

        // The command line knows it from its schemas: verbs, members, types, positional values.
        let verbs = try await coordinator.cli(["change", "--help"])
        #expect(verbs.status == .exited(0) && verbs.text.contains("transition") && verbs.text.contains("change.write"), "\(verbs.text)")
        let members = try await coordinator.cli(["change", "create", "--help"])
        #expect(members.text.contains("--risk") && members.text.contains("low|medium|high"), "\(members.text)")
        let fromCLI = try await coordinator.cli(["change", "create", "Replace the UPS batteries", "--risk", "high"])
        #expect(fromCLI.status == .exited(0) && fromCLI.text.contains("risk: high") && fromCLI.text.contains("number: CHG-"), "\(fromCLI.text)")
        let badLimit = try await coordinator.cli(["change", "list", "--limit", "ten"])
        #expect(badLimit.status == .exited(64) && badLimit.text.contains("--limit: 'ten' is not a whole number"), "\(badLimit.text)")
        let unknownMember = try await coordinator.cli(["change", "list", "--colour", "red"])
        #expect(unknownMember.status == .exited(64) && unknownMember.text.contains("--colour is not a member of change.list"), "\(unknownMember.text)")

        // The REST routes its manifest declares are served, and described, like the built-ins'.
        func json(_ object: [String: Any]) throws -> Data { try JSONSerialization.data(withJSONObject: object) }
        let (restStatus, restBody) = try await coordinator.request("POST", "api/v1/changes", body: try json(["title": "Rotate certificates", "risk": "low"]),
                                                                   token: coordinator.token)
        let restNumber = try #require(try JSONSerialization.jsonObject(with: restBody) as? [String: Any])["number"] as? String
        #expect(restStatus == 200 && restNumber?.hasPrefix("CHG-") == true)
        let transitioned = try await coordinator.request("POST", "api/v1/changes/\(restNumber ?? "")/transition",
                                                         body: try json(["to": "submitted"]), token: coordinator.token)
        #expect(transitioned.0 == 200, "\(String(decoding: transitioned.1, as: UTF8.self))")
        let fetched = try await coordinator.request("GET", "api/v1/changes/\(restNumber ?? "")", token: coordinator.token)
        #expect(fetched.0 == 200 && String(decoding: fetched.1, as: UTF8.self).contains("\"submitted\""))
        let openapi = try await coordinator.request("GET", "api/v1/openapi.json")
        let paths = try #require(try JSONSerialization.jsonObject(with: openapi.1) as? [String: Any])["paths"] as? [String: Any]
        #expect(paths?["/api/v1/changes/{number}/transition"] != nil && paths?["/api/v1/changes"] != nil)

        // A change names an incident: checked through the incident process.
        let unknown = try await coordinator.call("change.create", ["title": "Fix it", "incident": "INC-999999"])
        #expect(unknown.status == 400 && "\(unknown.body)".contains("INC-999999 does not exist"))
        let incident = try await coordinator.call("incident.create", ["title": "Mail down for everyone", "impact": "high", "urgency": "high"])
        let incidentNumber = try #require(incident.body["number"] as? String, "\(incident)")
        let linked = try await coordinator.call("change.create", ["title": "Replace relay", "incident": incidentNumber])
        #expect(linked.status == 200, "\(linked)")

        // Declaring it major makes the change process open one emergency change, by event.
        #expect(try await coordinator.call("incident.declare_major", ["number": incidentNumber, "reason": "all staff"]).status == 200)
        var emergencies: [[String: Any]] = []
        #expect(try await coordinator.waitUntil {
            let items = try await coordinator.call("change.list", ["status": "draft"]).body["items"] as? [[String: Any]] ?? []
            emergencies = items.filter { $0["kind"] as? String == "emergency" }
            return !emergencies.isEmpty
        })
        #expect(emergencies.count == 1)
        #expect(emergencies.first?["incident"] as? String == incidentNumber)

        // Without the incident process, a change naming an incident says which process is missing.
        #expect(try await coordinator.cli(["plugins", "disable", "incident", "--reload"]).status == .exited(0))
        let orphan = try await coordinator.call("change.create", ["title": "Later", "incident": incidentNumber])
        #expect(orphan.status == 503 && PluginManagementEndToEndTests.kind(orphan.body) == "plugin.disabled", "\(orphan)")
        #expect(try await coordinator.call("change.list").status == 200)
        // With the process disabled, its routes go too.
        #expect(try await coordinator.cli(["plugins", "disable", "change", "--reload"]).status == .exited(0))
        let gone = try await coordinator.request("GET", "api/v1/changes", token: coordinator.token)
        let goneBody = try JSONSerialization.jsonObject(with: gone.1) as? [String: Any] ?? [:]
        #expect(gone.0 == 404 && PluginManagementEndToEndTests.kind(goneBody) == "http.not_found", "\(goneBody)")
        #expect(await coordinator.stop() == .exited(0))
    }
}
