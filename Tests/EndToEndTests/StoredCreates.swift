import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import Testing

/// What a stream of keyed creates left in the database, checked against what the API
/// acknowledged: none missing, none stored twice, one `incident.created` event each, and every
/// event taken in by the problem process.
enum StoredCreates {
    /// Checks the records and events, then waits until the problem process has every one (failing
    /// only on a stall). `context` is shown if it never does. Returns how many events were still to
    /// take in when the check began.
    @discardableResult
    static func check(_ outcome: IncidentLoad.Outcome, keyPrefix: String, pool: PostgresPool, coordinator: RunningCoordinator,
                      context: @autoclosure () -> String = "") async throws -> Int {
        // Keys are stored scoped to who sent them: token:admin/<key>.
        let stored = try await pool.query("SELECT idempotency_key, number FROM incident.incident WHERE idempotency_key LIKE \("token:admin/\(keyPrefix)-%")")
        var byKey: [String: String] = [:]
        for row in stored {
            byKey[String(try row.decode(String.self, "idempotency_key").dropFirst("token:admin/".count))] = try row.decode(String.self, "number")
        }
        #expect(stored.count == byKey.count, "a create was stored twice")
        #expect(byKey.count >= outcome.acknowledged.count)
        #expect(outcome.acknowledged.allSatisfy { byKey[$0.key] == $0.value }, "an acknowledged create is missing")
        let events = try await pool.query("SELECT count(*) AS n FROM itsm.outbox WHERE type = 'incident.created'").single()
        #expect(try events.decode(Int.self, "n") == byKey.count)

        func received() async throws -> Int {
            try await pool.query("SELECT count(*) AS n FROM problem.incident").single().decode(Int.self, "n")
        }
        let backlog = byKey.count - (try await received())
        let delivered = try await coordinator.waitUntilDone {
            let count = try await received()
            return (count == byKey.count, byKey.count - count)
        }
        if !delivered {
            // What the relay knows of the events still waiting, and what the coordinator said about them.
            let waiting = try await pool.query("""
                SELECT outbox_id, attempts, extract(epoch FROM next_attempt_at - now())::int AS due_in, coalesce(last_error, '') AS last_error
                FROM itsm.delivery WHERE subscriber = 'problem' AND delivered_at IS NULL ORDER BY outbox_id LIMIT 5
                """).map { row in
                "#\(try row.decode(Int64.self, "outbox_id")) attempts \(try row.decode(Int.self, "attempts")) due in \(try row.decode(Int.self, "due_in")) s: \(try row.decode(String.self, "last_error"))"
            }
            let relayLines = coordinator.log.split(separator: "\n").filter { $0.contains("event delivery") || $0.contains("claim events") }.suffix(5)
            Issue.record("""
                the problem process did not receive every incident.created event: \(try await received()) of \(byKey.count); waiting: \(waiting)
                coordinator: \(relayLines.joined(separator: "\n"))
                \(context())
                """)
        }
        return backlog
    }
}
