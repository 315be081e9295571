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

    @Test func aRequesterReportsAnAgentWorksItAndTheRequesterConfirmsInARealBrowser() async throws {
        let coordinator = try await RunningCoordinator.start(configuration: "plugins: [incident]")
        defer { coordinator.remove() }
        for (name, role) in [("rita", "requester"), ("alan", "agent"), ("ada", "administrator")] {
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
}
