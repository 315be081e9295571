import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import Logging
import Testing

/// PostgreSQL as production runs it: a primary on host db with a synchronous streaming replica
/// on host db-b, and the toolkit given both hosts in one libpq conninfo with
/// `target_session_attrs=read-write` (docs/operations.md). Under a stream of creates the replica
/// is promoted and then the old primary's host dies. The coordinator and its plugins must follow
/// to the new primary by themselves: no process restarted, nothing acknowledged lost, nothing
/// doubled, every event delivered. Needs root (network namespaces); elsewhere it is skipped.
@Suite(.serialized) struct DatabaseFailoverEndToEndTests {
    static let hosts = TestHosts(prefix: "itsmr", subnet: "10.82.0")

    @Test func createsGoOnWhenTheReplicaIsPromotedAndThePrimaryDies() async throws {
        try await Self.hosts.withHosts { _, primaryDirectory in
            // Inside the primary's directory, so it goes with it.
            let replicaDirectory = primaryDirectory + "/replica"
            let replica = try await Self.hosts.run("replica", primaryDirectory, replicaDirectory)
            try #require(replica.status == .exited(0), "\(replica.text)")
            let databaseURL = try #require(replica.text.split(separator: "\n").last.map(String.init))
            try await runFailover(databaseURL: databaseURL, replicaDirectory: replicaDirectory)
        }
    }

    func runFailover(databaseURL: String, replicaDirectory: String) async throws {
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - name: incident
              - name: problem
            """, databaseURL: databaseURL, http: "\(Self.hosts.address("coord")):8080", wrapper: Self.hosts.on("coord"))
        defer { coordinator.remove() }
        let restartsAtStart = try await coordinator.restartCounts()

        let load = IncidentLoad(baseURL: coordinator.baseURL, token: coordinator.token)
        let stream = Task { await load.run(workers: 8, keyPrefix: "failover") }
        #expect(try await load.acknowledges(100, after: 0, on: coordinator), "creates stalled at \(load.acknowledgedSoFar) before the fault")

        // The failover. Between the promotion and the old primary's end, commits sent to it wait
        // for a standby that no longer follows it: none of them is acknowledged.
        #expect(try await Self.hosts.run("promote", replicaDirectory).status == .exited(0))
        let killed = try await Self.hosts.run("kill", "db")
        #expect(killed.status == .exited(0), "\(killed.text)")
        let atFailover = load.acknowledgedSoFar
        let resumed = try await load.acknowledges(200, after: atFailover, on: coordinator, stall: .seconds(60))
        #expect(resumed, "no creates acknowledged on the new primary: \(coordinator.log.suffix(3000))")

        load.stop()
        let outcome = await stream.value
        #expect(outcome.failed.isEmpty, "creates that failed for good: \(outcome.failed.prefix(3))")

        // The same conninfo now reaches the promoted replica only.
        let pool = PostgresPool(conninfo: databaseURL, logger: Logger(label: "e2e"))
        let server = try await pool.query("SELECT host(inet_server_addr()) AS address, pg_is_in_recovery() AS standby").single()
        #expect(try server.decode(String.self, "address") == Self.hosts.address("db-b"))
        #expect(try server.decode(Bool.self, "standby") == false)

        // No acknowledged create lost, none doubled, one event each, every event delivered.
        try await StoredCreates.check(outcome, keyPrefix: "failover", pool: pool, coordinator: coordinator)
        await pool.close()

        // Followed, not restarted: every plugin instance is the one started first.
        #expect(try await coordinator.pluginInstances().filter { ["incident", "problem"].contains($0["name"] as? String) }.count == 2)
        let disturbed = try await coordinator.instancesDisturbed(since: restartsAtStart)
        #expect(disturbed.isEmpty, "\(disturbed)")
        print("database failover: \(outcome.acknowledged.count) creates acknowledged (\(atFailover) before the failover), "
              + "\(outcome.retried) retried, 0 lost, 0 doubled")
        #expect(await coordinator.stop() == .exited(0))
    }
}
