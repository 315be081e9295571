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

    /// The same switch through the API and the console: the file's line changes, the process
    /// starts or stops at once, each switch is audited, and a name that is no process is refused.
    @Test func anOperatorSwitchesAProcessThroughTheAPIAndTheConsole() async throws {
        let coordinator = try await RunningCoordinator.start(configuration: "plugins:\n  - incident\n")
        defer { coordinator.remove() }
        let (enabled, answer) = try await coordinator.request("POST", "api/v1/plugins/problem/enable", token: coordinator.token)
        let changes = (try? JSONSerialization.jsonObject(with: answer) as? [String: Any]) ?? [:]
        #expect(enabled == 200 && changes["started"] as? [String] == ["problem"], "\(changes)")
        #expect(try await coordinator.waitUntil { try await coordinator.call("problem.list").status == 200 })
        #expect(try String(contentsOfFile: coordinator.configFile, encoding: .utf8).contains("- problem"))
        let (unknown, refusal) = try await coordinator.request("POST", "api/v1/plugins/nonsense/enable", token: coordinator.token)
        #expect(unknown == 400 && String(decoding: refusal, as: UTF8.self).contains("name: 'nonsense' is neither a built-in process"),
                "\(String(decoding: refusal, as: UTF8.self))")
        let (unknownOff, _) = try await coordinator.request("POST", "api/v1/plugins/nonsense/disable", token: coordinator.token)
        #expect(unknownOff == 400)

        #expect(try await coordinator.cli(["user", "create", "ola", "--role", "administrator", "--password-stdin"],
                                          input: "ola has a long password\n").status == .exited(0))
        let ola = try #require(try await IdentityEndToEndTests.signIn(coordinator, "ola", "ola has a long password").session)
        let form = Data("_csrf=\(ola.csrf)".utf8)
        let headers = ["Cookie": ola.cookie, "Content-Type": "application/x-www-form-urlencoded"]
        // The form's answer is the page it redirects to, saying so, with the way back.
        let (posted, page) = try await coordinator.request("POST", "console/admin/processes/problem/disable", body: form, headers: headers)
        let shown = String(decoding: page, as: UTF8.self)
        #expect(posted == 200 && shown.contains("problem: Done.") && shown.contains(#"id="enable-problem""#), "\(shown.suffix(3000))")
        #expect(Self.kind(try await coordinator.call("problem.list").body) == "plugin.disabled")
        #expect(try String(contentsOfFile: coordinator.configFile, encoding: .utf8).contains("{name: problem, enabled: false}"))

        let audit = try await coordinator.cli(["audit", "list", "--json"])
        let actions = ((try? JSONSerialization.jsonObject(with: Data(audit.text.utf8))) as? [[String: Any]] ?? [])
            .map { "\($0["action"] as? String ?? "") \($0["target"] as? String ?? "") \($0["outcome"] as? String ?? "")" }
        #expect(actions.contains("plugins.enable problem ok") && actions.contains("plugins.disable problem ok")
                && actions.contains { $0.hasPrefix("plugins.enable nonsense") }, "\(actions)")
        #expect(await coordinator.stop() == .exited(0))
    }

    static func kind(_ body: [String: Any]) -> String? {
        ((body["error"] as? [String: Any])?["data"] as? [String: Any])?["kind"] as? String
    }
}
