import Foundation
import ITSMEndToEndTesting
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
              - problem
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
        let notEnabled = try await coordinator.call("capacity.forecast", ["metric": "disk"])
        #expect(notEnabled.status == 503)
        #expect(notEnabled.body["error"].flatMap { ($0 as? [String: Any])?["message"] as? String }?
            .contains("itsm plugins enable capacity") == true)

        let before = try await coordinator.call("problem.create", ["title": "Kept while disabled"])
        #expect(before.status == 200)
        let disabled = try await coordinator.cli(["plugins", "disable", "problem", "--reload"])
        #expect(disabled.status == .exited(0), "\(disabled.text)")
        #expect(disabled.text.contains("stopped: problem") && disabled.text.contains("unchanged: incident"))
        let refused = try await coordinator.call("problem.list")
        #expect(refused.status == 503)
        #expect(Self.kind(refused.body) == "plugin.disabled")
        #expect("\(refused.body)".contains("itsm plugins enable problem"))
        #expect((try await coordinator.plugins())["problem"]?["state"] as? String == "disabled")
        #expect(try String(contentsOfFile: coordinator.configFile, encoding: .utf8).contains("{name: problem, enabled: false}"))

        // Enabled again in the file, applied by SIGHUP this time; its data is still there.
        let enabled = try await coordinator.cli(["plugins", "enable", "problem"])
        #expect(enabled.status == .exited(0), "\(enabled.text)")
        coordinator.process.signal(SIGHUP)
        #expect(try await coordinator.waitUntil { try await coordinator.call("problem.list").status == 200 })
        let kept = try await coordinator.call("problem.get", ["number": before.body["number"] as? String ?? ""])
        #expect((kept.body["problem"] as? [String: Any])?["title"] as? String == "Kept while disabled")

        // A broken file is refused and changes nothing.
        let good = try String(contentsOfFile: coordinator.configFile, encoding: .utf8)
        try (good + "\nplugns: []\n").write(toFile: coordinator.configFile, atomically: true, encoding: .utf8)
        let (status, body) = try await coordinator.request("POST", "api/v1/plugins/reload", token: coordinator.token)
        #expect(status == 400)
        #expect(String(decoding: body, as: UTF8.self).contains("unknown key 'plugns'"))
        #expect(try await coordinator.call("problem.list").status == 200)

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
