import Foundation
import ITSMEndToEndTesting
import ITSMSystem
import ITSMTesting
import Testing

/// Nothing unauthenticated can hold the HTTP API: slow clients are cut off by the head
/// timeout, clients that never read their last answer by the linger bound, and connections
/// past the cap are closed at once.
@Suite struct HTTPLimitsEndToEndTests {
    static let slowClients = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/slow_clients.py").path
    static let badHeadClients = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/bad_head_clients.py").path

    /// A coordinator with these `httpLimits`, on a database of its own, and its HTTP port.
    static func coordinator(limits: String, label: String) async throws -> (RunningCoordinator, Int) {
        let database = try await TestPostgres.makeDatabase(label: label)
        let coordinator = try await RunningCoordinator.start(configuration: "httpLimits: \(limits)\n", databaseURL: database.conninfo)
        return (coordinator, try #require(coordinator.baseURL.port))
    }

    @Test func aSlowlorisIsCutOffAndTheAPIKeepsAnswering() async throws {
        let (coordinator, port) = try await Self.coordinator(limits: "{headTimeoutSeconds: 2, maxConnections: 40}", label: "e2eslowloris")
        defer { coordinator.remove() }
        // 60 connections trickling one byte of a request head every half second: those past the
        // cap are closed at once, the rest when their head is 2 s overdue.
        // Each head would take over 100 s to send: all 60 closed within the script's 20 s means
        // the server cut them off (a bound on the wall clock here failed on a loaded machine).
        let slow = try await Command.run("python3", [Self.slowClients, "\(port)", "60", "20"])
        #expect(slow.status == .exited(0) && slow.text.contains("closed 60 of 60"), "\(slow.text)")
        #expect(try await coordinator.request("GET", "readyz").0 == 200)
        #expect(try await coordinator.call("incident.list").status == 200)
        // A kept-alive connection may wait longer than a new one for its next request: past the
        // 2 s head timeout, it still takes one.
        let keptAlive = try await Command.run("python3", ["-c", """
            import http.client, sys, time
            connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
            for wait in (0, 3):
                time.sleep(wait)
                connection.request("GET", "/healthz")
                answer = connection.getresponse()
                answer.read()
                print("answer", answer.status, "after", wait, flush=True)
            """, "\(port)"])
        #expect(keptAlive.status == .exited(0) && keptAlive.text.contains("answer 200 after 3"), "\(keptAlive.text)")
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func clientsThatKeepSendingAfterABadRequestDoNotHoldTheServer() async throws {
        let (coordinator, port) = try await Self.coordinator(limits: "{maxConnections: 10, idleTimeoutSeconds: 120}", label: "e2ebadhead")
        defer { coordinator.remove() }
        // More such clients than places: without a bound on how long a last response may wait
        // for its client's close, ten of them would hold every place for the idle timeout.
        let clients = try await Command.run("python3", [Self.badHeadClients, "\(port)", "40"])
        #expect(clients.status == .exited(0), "\(clients.text)")
        // Their places come free well before the 120 s idle timeout.
        #expect(try await coordinator.waitUntil(timeout: .seconds(40)) {
            try await coordinator.request("GET", "readyz").0 == 200
        })
        #expect(await coordinator.stop() == .exited(0))
    }
}
