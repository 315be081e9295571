import Synchronization
import Foundation
import ITSMPostgres
import ITSMProtocol
import ITSMSystem
import Logging

/// Delivers outbox events to subscribing plugins, at least once.
///
/// `NOTIFY itsm_outbox` only wakes the relay; it also polls, so a lost notification or a
/// relay that was down delays events but never loses them. Due deliveries are claimed with
/// `FOR UPDATE SKIP LOCKED` and a lease, so several coordinators can relay from one database
/// without sending an event twice at once; an unacknowledged delivery is retried with backoff
/// after its lease. Subscribers dedupe on the event id.
public actor EventRelay {
    public struct Settings: Sendable {
        public var pollInterval: Duration = .seconds(1)
        public var lease: Duration = .seconds(60)
        public var batchSize = 100
        public var deliveryTimeout: Duration = .seconds(30)
        public var maximumRetryDelay: Duration = .seconds(600)
        /// The longest wait after a subscriber was unreachable (rather than failing the event).
        public var transientRetryDelay: Duration = .seconds(5)
        /// Delivered events older than this are removed; undelivered ones are kept.
        public var retention: Duration = .seconds(30 * 24 * 3600)
        public var pruneInterval: Duration = .seconds(600)
        public init() {}
    }

    private let pool: PostgresPool
    private let router: MethodRouter
    private let settings: Settings
    private let logger: Logger

    public init(pool: PostgresPool, router: MethodRouter, settings: Settings = .init(), logger: Logger) {
        self.pool = pool
        self.router = router
        self.settings = settings
        self.logger = logger
    }

    /// Relays until the task is cancelled.
    public func run() async {
        let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listen(wake: wake) }
            group.addTask {
                while !Task.isCancelled {
                    wake.yield()
                    try? await Task.sleep(for: self.settings.pollInterval)
                }
            }
            var lastPrune = ContinuousClock.now - settings.pruneInterval
            for await _ in wakeups {
                if Task.isCancelled { break }
                await deliverDue()
                if ContinuousClock.now - lastPrune >= settings.pruneInterval {
                    lastPrune = ContinuousClock.now
                    do {
                        try await prune()
                    } catch {
                        logger.warning("cannot prune old events", metadata: ["itsm.error": "\(error)"])
                    }
                }
            }
            group.cancelAll()
        }
    }

    /// Keeps a LISTEN connection open and turns notifications into wake-ups.
    private nonisolated func listen(wake: AsyncStream<Void>.Continuation) async {
        await PostgresListener.follow([CoreSchema.outboxChannel], conninfo: pool.conninfo, logger: logger,
                                      lost: { [logger] error in
                                          logger.warning("lost the outbox listener; polling until it reconnects",
                                                         metadata: ["itsm.error": "\(error)"])
                                      },
                                      received: { _ in wake.yield() })
    }

    /// Claims and delivers due events until none are left for the plugins that are up.
    func deliverDue() async {
        while !Task.isCancelled {
            let subscribers = router.readyPlugins
            guard !subscribers.isEmpty else { return }
            let claimed: [Claimed]
            do {
                claimed = try await claim(for: subscribers)
            } catch {
                logger.warning("cannot claim events to deliver", metadata: ["itsm.error": "\(error)"])
                return
            }
            guard !claimed.isEmpty else { return }
            // One subscriber's events in order; different subscribers side by side.
            let bySubscriber = Dictionary(grouping: claimed, by: \.subscriber)
            await withTaskGroup(of: Void.self) { group in
                for (subscriber, deliveries) in bySubscriber {
                    group.addTask {
                        var delivered: [Int64] = []
                        for delivery in deliveries where await self.deliver(delivery, to: subscriber) {
                            delivered.append(delivery.outboxID)
                        }
                        await self.markDelivered(delivered, to: subscriber)
                    }
                }
            }
            if claimed.count < settings.batchSize { return }
        }
    }

    /// Removes deliveries done longer than the retention ago, then outbox rows that old with
    /// no delivery left, then inbox entries twice that old. An event still waiting for any
    /// subscriber is never removed. Safe to run from several coordinators at once.
    @discardableResult
    public func prune(now: Date = Date()) async throws -> (deliveries: Int, events: Int, inbox: Int) {
        let cutoff = now.addingTimeInterval(-settings.retention.inSeconds)
        let inboxCutoff = now.addingTimeInterval(-2 * settings.retention.inSeconds)
        let deliveries = try await pool.query("DELETE FROM itsm.delivery WHERE delivered_at < \(cutoff)").affectedRows
        let events = try await pool.query("""
            DELETE FROM itsm.outbox o WHERE o.occurred_at < \(cutoff)
            AND NOT EXISTS (SELECT 1 FROM itsm.delivery d WHERE d.outbox_id = o.id)
            """).affectedRows
        let inbox = try await pool.query("DELETE FROM itsm.inbox WHERE processed_at < \(inboxCutoff)").affectedRows
        if deliveries + events + inbox > 0 {
            logger.info("pruned old events", metadata: [
                "itsm.pruned.deliveries": "\(deliveries)", "itsm.pruned.events": "\(events)", "itsm.pruned.inbox": "\(inbox)",
            ])
        }
        return (deliveries, events, inbox)
    }

    struct Claimed: Sendable {
        var outboxID: Int64
        var subscriber: String
        var attempts: Int
        var event: EventParams
    }

    private func claim(for subscribers: [String]) async throws -> [Claimed] {
        let leaseSeconds = settings.lease.inSeconds
        let rows = try await pool.query("""
            WITH due AS (
                SELECT outbox_id, subscriber FROM itsm.delivery
                WHERE delivered_at IS NULL AND next_attempt_at <= now() AND subscriber = ANY(\(subscribers))
                ORDER BY outbox_id
                LIMIT \(settings.batchSize)
                FOR UPDATE SKIP LOCKED
            )
            UPDATE itsm.delivery d
            SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => \(leaseSeconds))
            FROM due, itsm.outbox o
            WHERE d.outbox_id = due.outbox_id AND d.subscriber = due.subscriber AND o.id = d.outbox_id
            RETURNING d.outbox_id, d.subscriber, d.attempts, o.event_id, o.type, o.source, o.subject, o.payload, o.occurred_at, o.request_id
            """)
        return try rows.map { row in
            let payload = try row.decode(PostgresJSON.self, "payload")
            let data = (try? JSONValue.parse(payload.text.utf8)) ?? .null
            return Claimed(
                outboxID: try row.decode(Int64.self, "outbox_id"),
                subscriber: try row.decode(String.self, "subscriber"),
                attempts: try row.decode(Int.self, "attempts"),
                event: EventParams(
                    id: try row.decode(UUID.self, "event_id").uuidString.lowercased(),
                    sequence: try row.decode(Int64.self, "outbox_id"),
                    type: try row.decode(String.self, "type"),
                    source: try row.decode(String.self, "source"),
                    subject: try row.decode(String?.self, "subject"),
                    occurredAt: try row.decode(Date.self, "occurred_at").formatted(.iso8601),
                    data: data, requestId: try row.decode(String?.self, "request_id")))
        }.sorted { $0.outboxID < $1.outboxID }
    }

    /// How long a failed delivery waits. The subscriber went away or its database was down:
    /// soon, as it comes back. It answered with an error of its own: doubling up to the
    /// maximum, so a failing handler is not hammered. (One backoff for both held events back
    /// for ten minutes after a burst of restarts.)
    static func retryDelay(after error: any Error, attempts: Int, settings: Settings) -> Duration {
        let transient = (error as? ResponseError)?.isRetryable ?? true
        let ceiling = transient ? settings.transientRetryDelay : settings.maximumRetryDelay
        return min(ceiling, .seconds(pow(2, Double(min(max(attempts, 0), 20)))))
    }

    /// Records deliveries the subscriber acknowledged, in one statement whose commit does not
    /// wait for the disk. Were it lost (a crash, the database away), the events would be sent
    /// again after their lease and the subscriber, having each in its inbox, would skip them.
    private func markDelivered(_ outboxIDs: [Int64], to subscriber: String) async {
        guard !outboxIDs.isEmpty else { return }
        do {
            try await pool.query("""
                WITH \(unsafeSQL: CommitDurability.cte(waitsForDisk: false))
                UPDATE itsm.delivery SET delivered_at = now(), last_error = NULL FROM durability
                WHERE subscriber = \(subscriber) AND outbox_id = ANY(\(outboxIDs.map(Int.init)))
                """)
        } catch {
            logger.warning("cannot record deliveries; they will be sent again and skipped by the subscriber", metadata: [
                "itsm.subscriber": "\(subscriber)", "itsm.events": "\(outboxIDs.count)", "itsm.error": "\(error)",
            ])
        }
    }

    /// Sends one event; true when the subscriber acknowledged it, otherwise its retry is set.
    private func deliver(_ delivery: Claimed, to subscriber: String) async -> Bool {
        #if DEBUG
        // Debug builds (every test run) hold publishers to the payloads they declared.
        let event = delivery.event
        if let schema = router.eventSchema(event.type, publishedBy: event.source), let problem = schema.problem(with: event.data, at: "data") {
            logger.error("an event breaks the schema its publisher declared", metadata: [
                "itsm.event.type": "\(event.type)", "itsm.event.source": "\(event.source)", "itsm.error": "\(problem)",
            ])
            SchemaViolations.record()
        }
        #endif
        do {
            // Delivery is idempotent (subscribers dedupe on the event id): another instance may take it.
            _ = try await router.call(plugin: subscriber, ProtocolMethod.event, params: try JSONValue(encoding: delivery.event),
                                      meta: delivery.event.requestId.map { RequestMeta(requestId: $0) },
                                      timeout: settings.deliveryTimeout, canResend: true)
            return true
        } catch {
            let delay = Self.retryDelay(after: error, attempts: delivery.attempts, settings: settings).inSeconds
            logger.warning("event delivery failed; will retry", metadata: [
                "itsm.event.type": "\(delivery.event.type)", "itsm.subscriber": "\(subscriber)",
                "itsm.attempts": "\(delivery.attempts)", "itsm.error": "\(error)", "itsm.request": "\(delivery.event.requestId ?? "-")",
            ])
            _ = try? await pool.query("""
                UPDATE itsm.delivery SET next_attempt_at = now() + make_interval(secs => \(delay)), last_error = \(String(describing: error))
                WHERE outbox_id = \(delivery.outboxID) AND subscriber = \(subscriber)
                """)
            return false
        }
    }
}

#if DEBUG
/// Events seen breaking their declared schema; a debug coordinator that saw one exits with an
/// error, so the test that made it fails.
enum SchemaViolations {
    private static let count = Mutex(0)
    static func record() { count.withLock { $0 += 1 } }
    static var total: Int { count.withLock { $0 } }
}
#endif
