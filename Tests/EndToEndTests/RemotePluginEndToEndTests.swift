import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Logging
import Testing

/// Plugins on "other hosts": `itsm agent` processes dialing the coordinator over TCP.
@Suite(.serialized) struct RemotePluginEndToEndTests {
    @Test func losingOneOfTwoRemoteIncidentInstancesLosesNoAcknowledgedCreate() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eremote")
        let coordinator = try await RunningCoordinator.start(configuration: RunningCoordinator.remotePluginsOnly(["incident"]),
                                                             databaseURL: database.conninfo, allowNotReady: true)
        defer { coordinator.remove() }
        let address = try #require(coordinator.remotePluginAddress)

        // Nothing runs the incident process yet: callers are told so, and may retry.
        let waiting = try await coordinator.call("incident.list")
        #expect(waiting.status == 503)
        #expect("\(waiting.body)".contains("no instance is connected"))

        // A token may attach only as the plugins it names; a wrong one is refused with a reason, and never logged.
        let token = try await Self.issueToken(coordinator, name: "plugin-hosts", permissions: ["attach.incident"])
        let stranger = try RunningAgent.start(plugins: ["incident"], coordinator: address, token: "itsm_not-a-real-token",
                                              databaseURL: database.conninfo, name: "stranger", directory: coordinator.directory)
        #expect(try await coordinator.waitUntil { stranger.log.contains("the token is unknown or revoked") })
        _ = await stranger.stop()

        let hostA = try RunningAgent.start(plugins: ["incident"], coordinator: address, token: token,
                                           databaseURL: database.conninfo, name: "host-a", directory: coordinator.directory)
        let hostB = try RunningAgent.start(plugins: ["incident"], coordinator: address, token: token,
                                           databaseURL: database.conninfo, name: "host-b", directory: coordinator.directory)
        defer { Task { _ = await hostB.stop() } }
        #expect(try await coordinator.waitUntil(timeout: RunningCoordinator.startTimeout) { try await Self.runningInstances(coordinator) == 2 },
                "\(hostA.log)\n\(hostB.log)")
        #expect(try await coordinator.request("GET", "readyz").0 == 200)

        // A stream of creates; host A dies in the middle of it.
        let load = IncidentLoad(baseURL: coordinator.baseURL, token: coordinator.token)
        let stream = Task { await load.run(workers: 6, keyPrefix: "remote") }
        #expect(try await load.acknowledges(100, after: 0, on: coordinator), "creates stalled at \(load.acknowledgedSoFar) before the fault")
        await hostA.killHost()
        let afterKill = load.acknowledgedSoFar
        #expect(try await load.acknowledges(200, after: afterKill, on: coordinator), "service did not resume")
        #expect(try await Self.runningInstances(coordinator) == 1)
        // The lost instance is still listed, as disconnected and why, not silently dropped.
        func hostAInstance(_ field: String) async throws -> Any? {
            let instance = try await coordinator.pluginInstances().first { ($0["instance"] as? String)?.hasPrefix("host-a/") == true }
            return instance?[field]
        }
        #expect(try await coordinator.waitUntil { try await hostAInstance("state") as? String == "disconnected" })
        let lastError = try await hostAInstance("lastError") as? String
        #expect(lastError != nil)
        load.stop()
        let outcome = await stream.value

        #expect(outcome.failed.isEmpty, "creates that failed for good: \(outcome.failed.prefix(3))")
        // Every acknowledged create is stored, once; nothing else was created.
        let pool = PostgresPool(conninfo: database.conninfo, logger: Logger(label: "e2e"))
        let stored = try await pool.query("SELECT idempotency_key, number FROM incident.incident WHERE idempotency_key LIKE 'token:admin/remote-%'")
        var byKey: [String: String] = [:]
        // Keys are stored scoped to who sent them: token:admin/<key>.
        for row in stored {
            byKey[String(try row.decode(String.self, "idempotency_key").dropFirst("token:admin/".count))] = try row.decode(String.self, "number")
        }
        #expect(stored.count == byKey.count, "a key was stored twice")
        #expect(byKey == outcome.acknowledged)
        // Each create's event is in the outbox once.
        let events = try await pool.query("""
            SELECT count(*) AS n, count(DISTINCT subject) AS subjects FROM itsm.outbox WHERE type = 'incident.created'
            """).single()
        #expect(try events.decode(Int.self, "n") == byKey.count && events.decode(Int.self, "subjects") == byKey.count)
        await pool.close()

        // The host comes back: a new session, and both instances serve again.
        let hostAAgain = try RunningAgent.start(plugins: ["incident"], coordinator: address, token: token,
                                                databaseURL: database.conninfo, name: "host-a", directory: coordinator.directory)
        #expect(try await coordinator.waitUntil(timeout: RunningCoordinator.startTimeout) { try await Self.runningInstances(coordinator) == 2 })
        let restarts = try await hostAInstance("restarts") as? Int
        #expect(restarts == 1) // it connected once before
        #expect(try await coordinator.call("incident.list").status == 200)
        _ = await hostAAgain.stop()
        #expect(await coordinator.stop() == .exited(0))
        print("remote instances: \(outcome.acknowledged.count) creates acknowledged, \(outcome.retried) retried, 0 lost")
    }

    @Test func twoCoordinatorsServeTheSameDataAndDeliverEachEventOnce() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2etwocoord")
        let configuration = RunningCoordinator.remotePluginsOnly(["incident", "problem"])
        let first = try await RunningCoordinator.start(configuration: configuration, databaseURL: database.conninfo, allowNotReady: true)
        defer { first.remove() }
        let second = try await RunningCoordinator.start(configuration: configuration, databaseURL: database.conninfo, allowNotReady: true)
        defer { second.remove() }
        let token = try await Self.issueToken(first, name: "plugin-hosts", permissions: ["attach.incident", "attach.problem"])
        // One agent; each of its plugins dials both coordinators.
        let agent = try RunningAgent.start(
            plugins: ["incident", "problem"], coordinator: try #require(first.remotePluginAddress), token: token,
            databaseURL: database.conninfo, name: "host-a",
            arguments: ["--coordinator", try #require(second.remotePluginAddress)], directory: first.directory)
        for coordinator in [first, second] {
            #expect(try await coordinator.waitUntil(timeout: .seconds(60)) { try await coordinator.request("GET", "readyz").0 == 200 },
                    "\(agent.log)")
        }

        // Behind a load balancer: requests alternate, and each coordinator sees the other's records.
        var numbers: [String] = []
        for index in 0..<20 {
            let coordinator = index.isMultiple(of: 2) ? first : second
            let created = try await coordinator.call("incident.create", ["title": "balanced \(index)", "configurationItem": "LB-\(index % 3)"])
            #expect(created.status == 200)
            numbers.append(created.body["number"] as? String ?? "")
        }
        #expect(try await second.call("incident.get", ["number": numbers[0]]).status == 200)
        #expect(try await first.call("incident.get", ["number": numbers[1]]).status == 200)

        // One coordinator dies for good; the other goes on, and relays what is left.
        _ = await first.stop(signal: SIGKILL)
        for index in 20..<30 {
            #expect(try await second.call("incident.create", ["title": "after failover \(index)"]).status == 200)
        }

        // Each event reached the problem process exactly once, whichever coordinator relayed it.
        // The wait polls all three figures it asserts: the projection fills before the relay
        // marks the last deliveries.
        let pool = PostgresPool(conninfo: database.conninfo, logger: Logger(label: "e2e"))
        func figures() async throws -> [Int] {
            let row = try await pool.query("""
                SELECT (SELECT count(*) FROM problem.incident) AS projected,
                       (SELECT count(*) FROM itsm.delivery d JOIN itsm.outbox o ON o.id = d.outbox_id
                        WHERE d.subscriber = 'problem' AND o.type = 'incident.created' AND d.delivered_at IS NOT NULL) AS delivered,
                       (SELECT count(*) FROM itsm.inbox i JOIN itsm.outbox o ON o.event_id = i.event_id
                        WHERE i.subscriber = 'problem' AND o.type = 'incident.created') AS handled
                """).single()
            return [try row.decode(Int.self, "projected"), try row.decode(Int.self, "delivered"), try row.decode(Int.self, "handled")]
        }
        // A delivery the killed coordinator had claimed is retried once its lease (60 s) has
        // passed: the wait allows the lease and a loaded machine's retry on top.
        let settled = try await second.waitUntil(timeout: .seconds(150)) { try await figures() == [30, 30, 30] }
        let last = try await figures()
        #expect(settled, "projected, delivered, handled: \(last)")
        let deliveries = try await pool.query("""
            SELECT count(*) AS n FROM itsm.delivery d JOIN itsm.outbox o ON o.id = d.outbox_id
            WHERE d.subscriber = 'problem' AND o.type = 'incident.created'
            """).single()
        #expect(try deliveries.decode(Int.self, "n") == 30)
        await pool.close()
        _ = await agent.stop()
        #expect(await second.stop() == .exited(0))
    }

    /// A plugin host opens no port, so its liveness probe reads the agent's status file: alive
    /// while the agent keeps it fresh, whether or not a coordinator is there; stuck once it stops.
    @Test func anAgentsStatusFileTellsAProbeWhetherItIsAliveAndWhatIsAttached() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eprobe")
        let coordinator = try await RunningCoordinator.start(configuration: RunningCoordinator.remotePluginsOnly(["incident"]),
                                                             databaseURL: database.conninfo, allowNotReady: true)
        defer { coordinator.remove() }
        let token = try await Self.issueToken(coordinator, name: "plugin-hosts", permissions: ["attach.incident"])
        let statusFile = coordinator.directory + "/agent-status.json"
        var said = ""
        /// Runs the probe; true when it exits 0 and its output contains `text`.
        func probe(maxAge: Int = 30, alive: Bool = true, saying text: String? = nil) async throws -> Bool {
            let output = try await Command.run(try Binaries.path("itsm"), ["agent", "--probe", "--status-file", statusFile,
                                                                         "--max-age", "\(maxAge)"])
            said = output.text
            return (output.status == .exited(0)) == alive && text.map(said.contains) != false
        }
        #expect(try await probe(alive: false, saying: "no status file"), "\(said)")

        let agent = try RunningAgent.start(plugins: ["incident"], coordinator: try #require(coordinator.remotePluginAddress), token: token,
                                           databaseURL: database.conninfo, name: "probed", arguments: ["--status-file", statusFile],
                                           directory: coordinator.directory)
        #expect(try await coordinator.waitUntil { try await probe(saying: "1 of 1 links attached") }, "\(said)")

        // The coordinator goes away: the agent is still alive, with nothing attached.
        #expect(await coordinator.stop() == .exited(0))
        #expect(try await coordinator.waitUntil { try await probe(saying: "0 of 1 links attached") }, "\(said)")

        // The agent stops working (SIGSTOP): its status goes stale and the probe fails, saying so.
        agent.process.signal(SIGSTOP)
        #expect(try await coordinator.waitUntil { try await probe(maxAge: 6, alive: false, saying: "it is stuck") }, "\(said)")
        agent.process.signal(SIGCONT)
        #expect(try await coordinator.waitUntil { try await probe(maxAge: 6) }, "\(said)")
        _ = await agent.stop()
        #expect(try await probe(alive: false, saying: "no status file"), "the agent leaves no status behind when it stops: \(said)")
    }

    static func issueToken(_ coordinator: RunningCoordinator, name: String, permissions: [String]) async throws -> String {
        let body = try JSONSerialization.data(withJSONObject: ["name": name, "permissions": permissions])
        let (status, data) = try await coordinator.request("POST", "api/v1/tokens", body: body, token: coordinator.token)
        let token = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["token"] as? String
        guard status == 200, let token else { throw TestHarnessError("cannot issue a token: \(status)") }
        return token
    }

    static func runningInstances(_ coordinator: RunningCoordinator) async throws -> Int {
        try await coordinator.pluginInstances().filter { $0["name"] as? String == "incident" && $0["state"] as? String == "running" }.count
    }
}
