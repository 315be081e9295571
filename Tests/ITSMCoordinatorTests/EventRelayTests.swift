import Foundation
@testable import ITSMCoordinator
import ITSMPostgres
import ITSMProtocol
import ITSMTesting
import Testing

@Suite struct EventRelayTests {
    /// The relay is woken for events with a delivery to make, not for those nobody takes.
    @Test(.timeLimit(.minutes(1))) func onlyAnEventSomeoneSubscribesToWakesTheRelay() async throws {
        let database = try await TestPostgres.makeDatabase(label: "wake")
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        try await Migrator(schema: CoreSchema.name, migrations: CoreSchema.migrations, logger: logger).migrate(pool)
        try await pool.query("INSERT INTO itsm.subscription (subscriber, event_type) VALUES ('problem', 'incident.created')")
        let listener = try await PostgresListener.listen(to: [CoreSchema.outboxChannel], conninfo: database.conninfo, logger: logger)
        defer { listener.stop() }
        try await pool.query("INSERT INTO itsm.outbox (type, source) VALUES ('incident.updated', 'incident')")
        try await pool.query("INSERT INTO itsm.outbox (type, source) VALUES ('incident.created', 'incident')")
        var notifications = listener.notifications.makeAsyncIterator()
        // Notices arrive in commit order: the first is the subscribed event's.
        #expect(try await notifications.next()?.payload == "incident.created")
        await pool.close()
    }

    @Test func pruningKeepsWhatIsNotDeliveredAndRemovesWhatIsOld() async throws {
        let database = try await TestPostgres.makeDatabase(label: "prune")
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        try await Migrator(schema: CoreSchema.name, migrations: CoreSchema.migrations, logger: logger).migrate(pool)
        try await pool.query("INSERT INTO itsm.subscription (subscriber, event_type) VALUES ('problem', 'incident.created')")
        // Three events 40 days old: one delivered, one still pending, one nobody subscribed to.
        for type in ["incident.created", "incident.created", "incident.updated"] {
            try await pool.query("""
                INSERT INTO itsm.outbox (type, source, occurred_at) VALUES (\(type), 'incident', now() - interval '40 days')
                """)
        }
        try await pool.query("""
            UPDATE itsm.delivery SET delivered_at = now() - interval '39 days'
            WHERE outbox_id = (SELECT min(id) FROM itsm.outbox)
            """)
        try await pool.query("INSERT INTO itsm.outbox (type, source) VALUES ('incident.updated', 'incident')") // recent
        try await pool.query("INSERT INTO itsm.inbox (subscriber, event_id, processed_at) VALUES ('problem', gen_random_uuid(), now() - interval '70 days')")
        try await pool.query("INSERT INTO itsm.inbox (subscriber, event_id, processed_at) VALUES ('problem', gen_random_uuid(), now() - interval '40 days')")

        let relay = EventRelay(pool: pool, router: MethodRouter(), logger: logger)
        let pruned = try await relay.prune()
        #expect(pruned.deliveries == 1 && pruned.events == 2 && pruned.inbox == 1)
        // Left: the undelivered old event and the recent one.
        let left = try await pool.query("SELECT count(*) AS n FROM itsm.outbox").single().decode(Int.self, "n")
        #expect(left == 2)
        let pending = try await pool.query("SELECT count(*) AS n FROM itsm.delivery WHERE delivered_at IS NULL").single()
        #expect(try pending.decode(Int.self, "n") == 1)
        #expect(try await relay.prune() == (0, 0, 0))
        await pool.close()
    }
}

@Suite struct EventRetryDelayTests {
    @Test func anUnreachableSubscriberIsRetriedSoonAFailingOneBacksOff() {
        let settings = EventRelay.Settings()
        let gone = ResponseError(code: .unavailable, kind: ResponseError.disconnectedKind, message: "gone", retryable: true)
        let failing = ResponseError.business(kind: "problem.bad_event", message: "cannot handle it")
        #expect(EventRelay.retryDelay(after: gone, attempts: 1, settings: settings) == .seconds(2))
        #expect(EventRelay.retryDelay(after: gone, attempts: 12, settings: settings) == .seconds(5))
        #expect(EventRelay.retryDelay(after: failing, attempts: 3, settings: settings) == .seconds(8))
        #expect(EventRelay.retryDelay(after: failing, attempts: 12, settings: settings) == .seconds(600))
    }
}
