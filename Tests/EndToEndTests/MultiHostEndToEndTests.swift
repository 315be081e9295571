import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Logging
import Testing

/// The toolkit on four hosts (PostgreSQL, a coordinator, two plugin hosts), built with
/// deploy/netns/itsm-netns.sh from network namespaces on this machine, with mutual TLS on the plugin link. Drives a stream of
/// incident creates through the coordinator while a plugin host dies and another's cable is
/// pulled, then checks that no acknowledged record and no event was lost or doubled, and that
/// service resumed. Needs root; elsewhere it is skipped, saying why.
@Suite(.serialized) struct MultiHostEndToEndTests {
    /// Apart from the defaults, so an operator's own cluster on this machine is left alone.
    static let hosts = TestHosts(prefix: "itsmt", subnet: "10.78.0")

    @Test func servicesSurviveAPluginHostDyingAndACutLink() async throws {
        try await Self.hosts.withHosts { databaseURL, _ in try await runScenario(databaseURL: databaseURL) }
    }

    /// The agent is given one name for the coordinators, and follows what that name stands for
    /// while it runs: a coordinator added behind the name gets links, one removed loses them.
    /// (The plugin host's /etc/hosts stands in for DNS; it is rewritten in place, as `ip netns
    /// exec` mounted that very file.)
    @Test func anAgentFollowsTheCoordinatorsBehindOneName() async throws {
        try await Self.hosts.withHosts { databaseURL, _ in
            let hostsFile = "/etc/netns/\(Self.hosts.prefix)-plugin-a/hosts"
            let original = try String(contentsOfFile: hostsFile, encoding: .utf8)
            func nameStandsFor(_ hosts: [String]) async throws {
                let lines = original.split(separator: "\n").filter { !$0.hasSuffix(" coordinators") }
                    + hosts.map { "\(Self.hosts.address($0)) coordinators" }
                let text = lines.joined(separator: "\n") + "\n"
                let written = try await Command.run("/bin/sh", ["-c", "cat > \"$1\"", "sh", hostsFile], input: text)
                try #require(written.status == .exited(0), "\(written.text)")
            }
            try await nameStandsFor(["coord"])

            func startCoordinator(_ host: String, adminToken: String?) async throws -> RunningCoordinator {
                try await RunningCoordinator.start(
                    configuration: RunningCoordinator.remotePluginsOnly(["incident"], listen: "\(Self.hosts.address(host)):7411", heartbeatMs: 500),
                    databaseURL: databaseURL, allowNotReady: true, adminToken: adminToken,
                    http: "\(Self.hosts.address(host)):8080", wrapper: Self.hosts.on(host))
            }
            let first = try await startCoordinator("coord", adminToken: nil)
            defer { first.remove() }
            let second = try await startCoordinator("coord-b", adminToken: first.token)
            defer { second.remove() }
            let token = try await RemotePluginEndToEndTests.issueToken(first, name: "plugin-hosts", permissions: ["attach.*"])
            let agent = try RunningAgent.start(plugins: ["incident"], coordinator: "coordinators:7411", token: token, databaseURL: databaseURL,
                                               name: "plugin-a", arguments: ["--coordinator-lookup-seconds", "1"],
                                               directory: first.directory, wrapper: Self.hosts.on("plugin-a"))
            func serves(_ coordinator: RunningCoordinator) async throws -> Bool {
                try await coordinator.pluginInstances().contains { $0["name"] as? String == "incident" && $0["state"] as? String == "running" }
            }
            #expect(try await first.waitUntil(timeout: RunningCoordinator.startTimeout) { try await serves(first) }, "\(agent.log.suffix(2000))")
            #expect(try await !serves(second))

            try await nameStandsFor(["coord", "coord-b"])
            #expect(try await second.waitUntil { try await serves(second) }, "a coordinator added behind the name got no link: \(agent.log.suffix(2000))")
            #expect(try await serves(first))

            try await nameStandsFor(["coord-b"])
            #expect(try await first.waitUntil { try await !serves(first) }, "a coordinator removed from the name kept its link: \(agent.log.suffix(2000))")
            #expect(agent.log.contains("a coordinator's address went away"))
            #expect(try await serves(second))

            _ = await agent.stop()
            _ = await second.stop()
            _ = await first.stop()
        }
    }

    func runScenario(databaseURL: String) async throws {
        // Host coord: the coordinator, API and plugin listener on its own address; TLS on the
        // plugin link, with a client certificate per plugin host (mutual TLS).
        let certificates = try await TestCertificates.make(coordinators: ["10.78.0.20"], hosts: ["plugin-a", "plugin-b"])
        defer { certificates.remove() }
        let coordinator = try await RunningCoordinator.start(configuration: """
            heartbeatMs: 500
            remotePlugins:
              listen: 10.78.0.20:7411
              tls: \(certificates.coordinatorYAML(mutual: true))
            plugins:
              - name: incident
                remote: true
              - name: problem
                remote: true
            """, databaseURL: databaseURL, allowNotReady: true, http: "10.78.0.20:8080", wrapper: Self.hosts.on("coord"))
        defer { coordinator.remove() }
        let token = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "plugin-hosts", permissions: ["attach.*"])

        // Hosts plugin-a and plugin-b: one agent each, running incident and problem.
        func startAgent(_ host: String) throws -> RunningAgent {
            try RunningAgent.start(plugins: ["incident", "problem"], coordinator: "10.78.0.20:7411", token: token,
                                   databaseURL: databaseURL, name: host, arguments: certificates.agentArguments(host: host),
                                   directory: coordinator.directory, wrapper: Self.hosts.on(host))
        }
        var agentA = try startAgent("plugin-a")
        let agentB = try startAgent("plugin-b")
        func bothHostsServe() async throws -> Bool {
            let running = try await coordinator.pluginInstances().filter { $0["state"] as? String == "running" }
            return running.count == 4
        }
        #expect(try await coordinator.waitUntil(timeout: .seconds(90)) { try await bothHostsServe() }, "\(agentA.log)")

        let load = IncidentLoad(baseURL: coordinator.baseURL, token: coordinator.token)
        let stream = Task { await load.run(workers: 8, keyPrefix: "multihost") }
        func serviceResumes(after count: Int, _ what: String) async throws {
            #expect(try await load.acknowledges(100, after: count, on: coordinator, stall: .seconds(60)), "no creates acknowledged after \(what)")
        }
        #expect(try await load.acknowledges(100, after: 0, on: coordinator), "creates stalled at \(load.acknowledgedSoFar) before the fault")

        // Host plugin-a dies: every process on it, at once.
        let killed = try await Self.hosts.run("kill", "plugin-a")
        #expect(killed.status == .exited(0), "\(killed.text)")
        _ = await agentA.process.wait()
        try await serviceResumes(after: load.acknowledgedSoFar, "plugin-a died")
        agentA = try startAgent("plugin-a")
        #expect(try await coordinator.waitUntil(timeout: .seconds(60)) { try await bothHostsServe() }, "plugin-a did not come back")

        // Host plugin-b's cable is pulled: no FIN, no RST; heartbeats find out.
        #expect(try await Self.hosts.run("cut", "plugin-b").status == .exited(0))
        let noticed = try await coordinator.waitUntil(timeout: .seconds(30)) {
            try await coordinator.pluginInstances().filter { $0["state"] as? String == "running" }.count == 2
        }
        #expect(noticed, "the coordinator did not notice the cut link")
        try await serviceResumes(after: load.acknowledgedSoFar, "plugin-b's link was cut")
        #expect(try await Self.hosts.run("restore", "plugin-b").status == .exited(0))
        #expect(try await coordinator.waitUntil(timeout: .seconds(90)) { try await bothHostsServe() }, "plugin-b did not reconnect")
        try await serviceResumes(after: load.acknowledgedSoFar, "plugin-b came back")

        load.stop()
        let outcome = await stream.value
        #expect(outcome.failed.isEmpty, "creates that failed for good: \(outcome.failed.prefix(3))")

        // No acknowledged create lost, none doubled, one event each, and every event reached the problem process.
        let pool = PostgresPool(conninfo: databaseURL, logger: Logger(label: "e2e"))
        let deliveryStarted = ContinuousClock.now
        let backlogAtStop = try await StoredCreates.check(outcome, keyPrefix: "multihost", pool: pool, coordinator: coordinator,
                                                               context: "agent plugin-a: \(agentA.log.suffix(1500))\nagent plugin-b: \(agentB.log.suffix(1500))")
        await pool.close()
        print("multi-host: \(outcome.acknowledged.count) creates acknowledged, \(outcome.retried) retried, 0 lost, 0 doubled; "
              + "\(backlogAtStop) events still to deliver at the end, delivered in \(ContinuousClock.now - deliveryStarted)")

        _ = await agentA.stop()
        _ = await agentB.stop()
        #expect(await coordinator.stop() == .exited(0))
    }
}
