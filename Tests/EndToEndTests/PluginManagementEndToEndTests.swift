import Foundation
import ITSMSystem
import ITSMTesting
import Synchronization
import Testing

/// Switching processes on and off while the coordinator runs, as an operator would.
@Suite(.serialized) struct PluginManagementEndToEndTests {
    @Test func disablingAndEnablingAtRunTimeLeavesTheOtherProcessesServing() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2ereload")
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - incident
              - name: hello
                command: [python3, \(ExamplePluginEndToEndTests.helloPython)]
            """, databaseURL: database.conninfo)
        defer { coordinator.remove() }

        // The service desk keeps creating incidents throughout.
        let stop = Atomic(false)
        let traffic = Task {
            var (created, failed) = (0, [String]())
            while !stop.load(ordering: .relaxed) {
                let (status, body) = try await coordinator.call("incident.create", ["title": "printer \(created)"])
                if status == 200 { created += 1 } else { failed.append("\(status) \(body)") }
            }
            return (created, failed)
        }

        // A process that is not enabled at all says how to enable it.
        let notEnabled = try await coordinator.call("problem.get", ["number": "PRB-1"])
        #expect(notEnabled.status == 503)
        #expect(notEnabled.body["error"].flatMap { ($0 as? [String: Any])?["message"] as? String }?
            .contains("itsm plugins enable problem") == true)

        let disabled = try await coordinator.cli(["plugins", "disable", "hello", "--reload"])
        #expect(disabled.status == .exited(0), "\(disabled.text)")
        #expect(disabled.text.contains("stopped: hello") && disabled.text.contains("unchanged: incident"))
        let refused = try await coordinator.call("hello.greet", ["name": "desk"])
        #expect(refused.status == 503)
        #expect(Self.kind(refused.body) == "plugin.disabled")
        #expect((try await coordinator.plugins())["hello"]?["state"] as? String == "disabled")
        #expect(try String(contentsOfFile: coordinator.configFile, encoding: .utf8).contains("enabled: false"))

        // Enabled again in the file, applied by SIGHUP this time.
        let enabled = try await coordinator.cli(["plugins", "enable", "hello"])
        #expect(enabled.status == .exited(0), "\(enabled.text)")
        coordinator.process.signal(SIGHUP)
        #expect(try await coordinator.waitUntil { try await coordinator.call("hello.greet", ["name": "desk"]).status == 200 })

        // A broken file is refused and changes nothing.
        let good = try String(contentsOfFile: coordinator.configFile, encoding: .utf8)
        try (good + "\nplugns: []\n").write(toFile: coordinator.configFile, atomically: true, encoding: .utf8)
        let (status, body) = try await coordinator.request("POST", "api/v1/plugins/reload", token: coordinator.token)
        #expect(status == 400)
        #expect(String(decoding: body, as: UTF8.self).contains("unknown key 'plugns'"))
        #expect(try await coordinator.call("hello.greet", ["name": "desk"]).status == 200)

        stop.store(true, ordering: .relaxed)
        let (created, failed) = try await traffic.value
        #expect(created > 0)
        #expect(failed.isEmpty, "incident calls failed during reloads: \(failed.prefix(3))")
        #expect(await coordinator.stop() == .exited(0))
    }

    static func kind(_ body: [String: Any]) -> String? {
        ((body["error"] as? [String: Any])?["data"] as? [String: Any])?["kind"] as? String
    }
}
