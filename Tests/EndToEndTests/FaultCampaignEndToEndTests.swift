import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Logging
import Testing

/// A fault campaign in the spirit of Jepsen: two coordinators and two plugin hosts in network
/// namespaces (deploy/netns/itsm-netns.sh) serve a stream of creates, updates and transitions,
/// each with an idempotency key, while random faults hit them one after another: SIGKILL of a
/// plugin, an agent, a coordinator or the PostgreSQL postmaster, a cut cable, a SIGSTOP pause.
/// After each fault the service must make progress again; at the end every acknowledged write
/// must be stored exactly once, every event delivered and its effect (the problem process's
/// projection) in place, and every history complete.
///
/// `ITSM_FAULTS` sets the number of faults (50 by default, as CI runs it), `ITSM_FAULT_SEED` the
/// seed; deploy/netns/fault-campaign.sh runs a long one. Needs root; elsewhere it is skipped.
@Suite(.serialized) struct FaultCampaignEndToEndTests {
    /// Apart from the multi-host test's hosts, so the two can run side by side; a long campaign
    /// runs apart from the suite's with `ITSM_FAULT_NETWORK=<prefix>,<subnet>` (e.g. itsml,10.81.0).
    static let hosts: TestHosts = {
        let parts = (ProcessInfo.processInfo.environment["ITSM_FAULT_NETWORK"] ?? "itsmf,10.79.0").split(separator: ",").map(String.init)
        return TestHosts(prefix: parts[0], subnet: parts.count > 1 ? parts[1] : "10.79.0")
    }()
    static let coordinatorHosts = ["coord", "coord-b"]
    static let pluginHosts = ["plugin-a", "plugin-b"]

    enum Fault: String, CaseIterable {
        case killPlugin = "SIGKILL a plugin"
        case killAgent = "SIGKILL an agent and its plugins"
        case killCoordinator = "SIGKILL a coordinator"
        case killPostmaster = "SIGKILL the postmaster"
        case cutLink = "cut a host's cable"
        case pause = "SIGSTOP a plugin or coordinator"
    }

    @Test func acknowledgedWritesSurviveRandomFaultsExactlyOnce() async throws {
        let faults = Int(ProcessInfo.processInfo.environment["ITSM_FAULTS"] ?? "") ?? 50
        let seed = UInt64(ProcessInfo.processInfo.environment["ITSM_FAULT_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)
        try await Self.hosts.withHosts { databaseURL, postgresDirectory in
            try await runCampaign(faults: faults, seed: seed, databaseURL: databaseURL, postgresDirectory: postgresDirectory)
        }
    }

    /// The running processes, replaced as faults kill them.
    final class Cluster: @unchecked Sendable {
        var coordinators: [String: RunningCoordinator] = [:]
        var agents: [String: RunningAgent] = [:]
        var retired: [RunningCoordinator] = []
    }

    func runCampaign(faults: Int, seed: UInt64, databaseURL: String, postgresDirectory: String) async throws {
        let cluster = Cluster()
        defer {
            for coordinator in cluster.coordinators.values + cluster.retired { coordinator.remove() }
            for agent in cluster.agents.values { agent.process.signal(SIGKILL) }
        }

        func startCoordinator(_ host: String, adminToken: String?) async throws -> RunningCoordinator {
            try await RunningCoordinator.start(
                configuration: RunningCoordinator.remotePluginsOnly(["incident", "problem"], listen: "\(Self.hosts.address(host)):7411",
                                                                    heartbeatMs: 500),
                databaseURL: databaseURL, allowNotReady: true, adminToken: adminToken,
                http: "\(Self.hosts.address(host)):8080", wrapper: Self.hosts.on(host))
        }
        let first = try await startCoordinator("coord", adminToken: nil)
        cluster.coordinators["coord"] = first
        cluster.coordinators["coord-b"] = try await startCoordinator("coord-b", adminToken: first.token)
        let token = try await RemotePluginEndToEndTests.issueToken(first, name: "plugin-hosts", permissions: ["attach.*"])
        // Agents are given one name for both coordinators, as a headless Service gives one name
        // for its pods: the hosts' /etc/hosts says "coordinators" is coord and coord-b.
        func startAgent(_ host: String) throws -> RunningAgent {
            try RunningAgent.start(plugins: ["incident", "problem"], coordinator: "coordinators:7411", token: token,
                                   databaseURL: databaseURL, name: host, directory: first.directory, wrapper: Self.hosts.on(host))
        }
        for host in Self.pluginHosts { cluster.agents[host] = try startAgent(host) }
        #expect(try await first.waitUntil(timeout: .seconds(90)) {
            for coordinator in cluster.coordinators.values where try await coordinator.request("GET", "readyz").0 != 200 { return false }
            return true
        }, "the cluster did not come up")
        for agent in cluster.agents.values {
            let found = agent.log.split(separator: "\n").filter { $0.contains("found a coordinator's address") }
            #expect(Self.coordinatorHosts.allSatisfy { host in found.contains { $0.contains(Self.hosts.address(host)) } }, "\(agent.log.suffix(2000))")
        }

        let load = IncidentLoad(baseURLs: cluster.coordinators.values.map(\.baseURL), token: first.token)
        let stream = Task { await load.run(workers: 6, keyPrefix: "fault", withChanges: true) }
        #expect(try await first.waitUntil(timeout: .seconds(60)) { load.writesSoFar >= 30 })

        var random = SeededGenerator(seed: seed)
        var injected: [Fault: Int] = [:]
        for number in 1...max(faults, 1) {
            let fault = Fault.allCases[Int(random.next() % UInt64(Fault.allCases.count))]
            let before = load.writesSoFar
            let pause = Duration.milliseconds(500 + Int(random.next() % 2000))
            switch fault {
            case .killPlugin:
                let host = Self.pluginHosts[Int(random.next() % 2)]
                let plugins = RunningAgent.children(of: cluster.agents[host]!.process.pid)
                if let plugin = plugins.randomElement(using: &random) { kill(plugin, SIGKILL) }
            case .killAgent:
                let host = Self.pluginHosts[Int(random.next() % 2)]
                await cluster.agents[host]!.killHost()
                cluster.agents[host] = try startAgent(host)
            case .killCoordinator:
                let host = Self.coordinatorHosts[Int(random.next() % 2)]
                let victim = cluster.coordinators[host]!
                _ = await victim.stop(signal: SIGKILL, timeout: .seconds(10))
                cluster.retired.append(victim)
                cluster.coordinators[host] = try await startCoordinator(host, adminToken: first.token)
            case .killPostmaster:
                let pid = try String(contentsOfFile: postgresDirectory + "/data/postmaster.pid", encoding: .utf8)
                    .split(separator: "\n").first.flatMap { Int32($0) }
                let postmaster = try #require(pid)
                kill(postmaster, SIGKILL)
                // Its backends notice and exit, and it is reaped (a new postmaster refuses a data
                // directory whose lock names a live or zombie process); only then may one start.
                #expect(try await first.waitUntil {
                    try await Command.run("/usr/sbin/ip", ["netns", "pids", "\(Self.hosts.prefix)-db"]).text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
                        && kill(postmaster, 0) != 0
                })
                try await Task.sleep(for: pause)
                let restarted = try await Self.hosts.run("pgstart", postgresDirectory)
                #expect(restarted.status == .exited(0), "\(restarted.text)")
            case .cutLink:
                let host = (Self.pluginHosts + Self.coordinatorHosts)[Int(random.next() % 4)]
                #expect(try await Self.hosts.run("cut", host).status == .exited(0))
                try await Task.sleep(for: pause)
                #expect(try await Self.hosts.run("restore", host).status == .exited(0))
            case .pause:
                let host = Self.pluginHosts[Int(random.next() % 2)]
                let candidates = RunningAgent.children(of: cluster.agents[host]!.process.pid)
                    + cluster.coordinators.values.map(\.process.pid)
                if let victim = candidates.randomElement(using: &random) {
                    kill(victim, SIGSTOP)
                    try await Task.sleep(for: pause)
                    kill(victim, SIGCONT)
                }
            }
            injected[fault, default: 0] += 1
            let resumed = try await first.waitUntil(timeout: .seconds(120)) { load.writesSoFar >= before + 10 }
            #expect(resumed, "fault \(number) (\(fault.rawValue)): no write acknowledged for 120 s after it healed")
            if !resumed { break }
        }
        load.stop()
        let outcome = await stream.value
        #expect(outcome.failed.isEmpty, "writes that failed for good: \(outcome.failed.prefix(3))")

        // Every acknowledged write is stored, once; every change at most once; events exactly once.
        let pool = PostgresPool(conninfo: databaseURL, logger: Logger(label: "e2e"))
        defer { Task { await pool.close() } }
        let prefix = "token:admin/"
        var stored: [String: String] = [:]
        var storedRows = 0
        for row in try await pool.query("SELECT idempotency_key, number FROM incident.incident WHERE idempotency_key LIKE 'token:admin/fault-%'") {
            stored[String(try row.decode(String.self, "idempotency_key").dropFirst(prefix.count))] = try row.decode(String.self, "number")
            storedRows += 1
        }
        #expect(storedRows == stored.count, "a create was stored twice")
        #expect(outcome.acknowledged.allSatisfy { stored[$0.key] == $0.value }, "an acknowledged create is missing")
        var records: [String: (status: String, description: String, statusRows: Int, descriptionRows: Int, created: Int)] = [:]
        for row in try await pool.query("""
            SELECT i.number, i.status, i.description,
                   count(*) FILTER (WHERE h.field = 'status') AS status_rows,
                   count(*) FILTER (WHERE h.field = 'description') AS description_rows,
                   count(*) FILTER (WHERE h.field = 'status' AND h.old_value IS NULL) AS created_rows
            FROM incident.incident i LEFT JOIN incident.history h ON h.incident_id = i.id GROUP BY i.id
            """) {
            records[try row.decode(String.self, "number")] = (
                try row.decode(String.self, "status"), try row.decode(String.self, "description"),
                try row.decode(Int.self, "status_rows"), try row.decode(Int.self, "description_rows"), try row.decode(Int.self, "created_rows"))
        }
        #expect(records.count == stored.count)
        #expect(records.values.allSatisfy { $0.created == 1 && $0.statusRows <= 2 && $0.descriptionRows <= 1 },
                "a history is incomplete or a change was applied twice")
        for (key, number) in outcome.changes {
            let record = records[number]
            if key.hasSuffix("-update") {
                let ticket = String(key.dropLast("-update".count))
                #expect(record?.description == IncidentLoad.updatedDescription(key: ticket) && record?.descriptionRows == 1, "\(key)")
            } else {
                #expect(record?.status == "in_progress" && record?.statusRows == 2, "\(key)")
            }
        }
        let events = try await pool.query("""
            SELECT count(*) FILTER (WHERE type = 'incident.created') AS created,
                   count(*) FILTER (WHERE type = 'incident.updated') AS updated,
                   count(*) FILTER (WHERE type = 'incident.status_changed') AS started
            FROM itsm.outbox
            """).single()
        #expect(try events.decode(Int.self, "created") == records.count)
        #expect(try events.decode(Int.self, "updated") == records.values.filter { $0.descriptionRows == 1 }.count)
        #expect(try events.decode(Int.self, "started") == records.values.filter { $0.statusRows == 2 }.count)

        // Every event reaches the problem process, and its projection matches the records.
        // (A delivery a killed coordinator had claimed waits out its 60 s lease: a pause that long
        // is no stall.)
        var lastCounts = ""
        let projected = try await first.waitUntilDone(stall: .seconds(90)) {
            let row = try await pool.query("""
                SELECT (SELECT count(*) FROM itsm.delivery WHERE delivered_at IS NULL) AS pending,
                       (SELECT count(*) FROM incident.incident i JOIN problem.incident p USING (id) WHERE p.status = i.status) AS matching
                """).single()
            lastCounts = "pending \(try row.decode(Int.self, "pending")), matching \(try row.decode(Int.self, "matching")) of \(records.count)"
            let (pending, matching) = (try row.decode(Int.self, "pending"), try row.decode(Int.self, "matching"))
            return (pending == 0 && matching == records.count, pending + records.count - matching)
        }
        #expect(projected, "the problem process's projection did not converge: \(lastCounts)")

        let summary = Fault.allCases.map { "\(injected[$0] ?? 0) × \($0.rawValue)" }.joined(separator: ", ")
        print("""
            fault campaign (seed \(seed)): \(injected.values.reduce(0, +)) faults injected (\(summary)); \
            \(outcome.acknowledged.count) creates and \(outcome.changes.count) changes acknowledged, \
            \(outcome.retried) retries; lost \(outcome.acknowledged.filter { stored[$0.key] != $0.value }.count), \
            duplicated \(storedRows - stored.count)
            """)
        for agent in cluster.agents.values { _ = await agent.stop() }
        for coordinator in cluster.coordinators.values { _ = await coordinator.stop() }
    }
}
