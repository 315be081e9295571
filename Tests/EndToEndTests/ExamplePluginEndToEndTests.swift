import Foundation
import ITSMSystem
import ITSMTesting
import Testing

/// The example plugins must keep conforming and keep working under the coordinator.
@Suite(.serialized) struct ExamplePluginEndToEndTests {
    static let helloPython = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Examples/hello-python/plugin.py").standardizedFileURL.path

    @Test func pythonExamplePassesEveryRuleAndServesThroughTheAPI() async throws {
        let check = try await Command.run(try Binaries.path("itsm"), ["plugin", "check", "--", "python3", Self.helloPython])
        #expect(check.status == .exited(0), "\(check.text)")
        #expect(check.text.contains("all 14 rules pass"))

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
}
