import Crypto
import Foundation
import ITSMPostgres
import ITSMProtocol
import ITSMSystem
import Logging

/// Who did what, when, from where, and how it ended: every write through the API and every
/// administrative change. Entries are appended by `itsm.append_audit` (CoreSchema), which links
/// each to the one before by its hash; `verify` recomputes the chain here, independently of the
/// database's own function, so a changed, removed or inserted entry is found.
public struct AuditLog: Sendable {
    let pool: PostgresPool
    let logger: Logger
    private let writer: Writer

    public init(pool: PostgresPool, logger: Logger) {
        self.pool = pool
        self.logger = logger
        self.writer = Writer(pool: pool, logger: logger)
    }

    /// One thing that happened, before it is appended.
    public struct Record: Sendable {
        public var actor: String
        /// A method (`incident.create`) or an administrative action (`token.issue`, `session.login`).
        public var action: String
        /// The record or object acted on: `INC-42`, a token's or account's name.
        public var target: String?
        /// `ok`, or the error kind that refused it (`auth.permission_denied`).
        public var outcome: String
        public var clientAddress: String?
        public var requestId: String?
        public var details: JSONValue

        public init(actor: String, action: String, target: String? = nil, outcome: String = "ok",
                    clientAddress: String? = nil, requestId: String? = nil, details: JSONValue = .object([:])) {
            self.actor = actor
            self.action = action
            self.target = target
            self.outcome = outcome
            self.clientAddress = clientAddress
            self.requestId = requestId
            self.details = details
        }
    }

    public struct Entry: Codable, Sendable, Hashable {
        public var seq: Int64
        public var at: Date
        public var actor: String
        public var action: String
        public var target: String?
        public var outcome: String
        public var clientAddress: String?
        public var requestId: String?
        public var details: JSONValue
        public var hash: String
    }

    /// Whether calls that need `permission` are audited: every one that is not a read.
    public static func audits(permission: String) -> Bool {
        !permission.hasSuffix(".read")
    }

    /// Appends `record` and returns once it is committed. A failure is logged, not thrown: the
    /// change it records has happened.
    public func append(_ record: Record) async {
        await writer.append(record, ending: nil)
    }

    /// Makes a change through `change` and appends its outcome, so that a coordinator dying at any
    /// moment cannot leave a committed change out of the log. Before the change, an intent is
    /// noted (`itsm.audit_intent`); the statement that appends the outcome removes it. The intent
    /// is committed without waiting for the disk: the change, committed after it, flushes the
    /// write-ahead log past it, so the intent is durable whenever the change is. An intent left
    /// behind is appended with the outcome `unknown` by `settleUnfinished`.
    /// When the intent cannot be noted, the change is not made.
    public func recording<Answer: JSONDocument>(actor: String, action: String, params: JSONValue?, clientAddress: String?, requestId: String?,
                          details extra: [String: JSONValue] = [:],
                          _ change: () async -> Result<Answer, ResponseError>) async -> Result<Answer, ResponseError> {
        var details = Record.details(params: params)
        if case .object(var members) = details {
            members.merge(extra) { $1 }
            details = .object(members)
        }
        var record = Record(actor: actor, action: action, target: Record.target(params: params, result: nil), outcome: "unknown",
                            clientAddress: clientAddress, requestId: requestId, details: details)
        let intent = UUID()
        do {
            try await pool.query("""
                WITH \(unsafeSQL: CommitDurability.cte(waitsForDisk: false))
                INSERT INTO itsm.audit_intent (id, actor, action, target, client_address, request_id, details)
                SELECT \(intent), \(record.actor), \(record.action), \(record.target), \(record.clientAddress), \(record.requestId),
                       \(String(decoding: details.serialized(), as: UTF8.self))::jsonb
                FROM durability
                """)
        } catch {
            logger.error("a change was refused: it could not be noted in the audit log", metadata: [
                "itsm.audit.action": "\(action)", "itsm.error": "\(String(reflecting: error))",
            ])
            return .failure(ResponseError(code: .unavailable, kind: "database.unavailable",
                                          message: "the change was not made: the audit log cannot be written", retryable: true))
        }
        let result = await change()
        record.target = Record.target(params: params, result: try? result.get().tree)
        record.outcome = Record.outcome(of: result)
        // The caller gets its answer without waiting for this append: the intent, committed before
        // the change, already stands for it, and reads of the log wait for it (`settled`).
        await writer.enqueue(record, ending: intent)
        return result
    }

    /// Returns once every entry handed to this log so far has been written (or its write
    /// failed): what this coordinator answered is then in what it reads back.
    public func settled() async {
        await writer.settled()
    }

    /// Makes the log's month partitions through a month from `now`, so an append finds its
    /// month made (`itsm.ensure_month_partitions`); every coordinator does it hourly.
    public func ensureMonths(now: Date = Date()) async throws {
        _ = try await pool.query("SELECT itsm.ensure_month_partitions('itsm.audit_entry', \(now.addingTimeInterval(32 * 86_400)))")
    }

    /// Appends, with the outcome `unknown`, the intents noted longer than `age` ago: their
    /// coordinator stopped before it knew how the change ended (no request lives that long).
    /// Several coordinators may settle at once; each intent is appended once.
    @discardableResult
    public func settleUnfinished(olderThan age: Duration) async throws -> Int {
        let seconds = age.inSeconds
        let rows = try await pool.query("""
            WITH settled AS (
                DELETE FROM itsm.audit_intent WHERE started_at < clock_timestamp() - make_interval(secs => \(seconds))
                RETURNING *
            )
            SELECT itsm.append_audit(actor, action, target, 'unknown', client_address, request_id,
                                     details || jsonb_build_object('startedAt', started_at,
                                         'unfinished', 'the coordinator stopped before the outcome was known'))
            FROM settled ORDER BY started_at
            """)
        if !rows.isEmpty {
            logger.warning("changes whose outcome was never recorded appended as unknown", metadata: ["itsm.audit.entries": "\(rows.count)"])
        }
        return rows.count
    }

    /// Appends take turns (the chain's lock), so entries that arrive while one batch commits go
    /// together in the next: one transaction and one commit for all of them, in arrival order.
    private actor Writer {
        let pool: PostgresPool
        let logger: Logger
        private var pending: [(record: Record, intent: UUID?, done: CheckedContinuation<Void, Never>?)] = []
        private var writing = false
        /// Records handed over and records written (or failed), for `settled`.
        private var queued = 0
        private var written = 0
        private var settledWaiters: [(target: Int, waiter: CheckedContinuation<Void, Never>)] = []

        init(pool: PostgresPool, logger: Logger) {
            self.pool = pool
            self.logger = logger
        }

        func append(_ record: Record, ending intent: UUID?) async {
            await withCheckedContinuation { done in add(record, ending: intent, done: done) }
        }

        /// Queues `record` without waiting for it to be written.
        func enqueue(_ record: Record, ending intent: UUID?) {
            add(record, ending: intent, done: nil)
        }

        /// Waits for what was queued before the call, not for what keeps coming after it.
        func settled() async {
            let target = queued
            guard written < target else { return }
            await withCheckedContinuation { settledWaiters.append((target, $0)) }
        }

        private func add(_ record: Record, ending intent: UUID?, done: CheckedContinuation<Void, Never>?) {
            pending.append((record, intent, done))
            queued += 1
            guard !writing else { return }
            writing = true
            Task { await self.drain() }
        }

        private func drain() async {
            while !pending.isEmpty {
                let batch = pending
                pending = []
                await write(batch.map(\.record), ending: batch.compactMap(\.intent))
                batch.forEach { $0.done?.resume() }
                written += batch.count
                let reached = settledWaiters.filter { $0.target <= written }
                settledWaiters.removeAll { $0.target <= written }
                reached.forEach { $0.waiter.resume() }
            }
            writing = false
        }

        /// Appends `records` and removes the intents they end, in one statement.
        private func write(_ records: [Record], ending intents: [UUID]) async {
            let entries = JSONValue.array(records.map { record in
                var entry: [String: JSONValue] = [
                    "actor": .string(record.actor), "action": .string(record.action), "outcome": .string(record.outcome),
                    "details": record.details,
                ]
                entry["target"] = record.target.map(JSONValue.string)
                entry["clientAddress"] = record.clientAddress.map(JSONValue.string)
                entry["requestId"] = record.requestId.map(JSONValue.string)
                return .object(entry)
            })
            // Outcomes of changes need no disk wait of their own: were this commit lost in a crash,
            // the intents it removes would still be there, durable with their changes, and be
            // appended as `unknown`. An entry without an intent (a refusal, a sign-in) waits.
            do {
                try await pool.query("""
                    WITH ended AS (DELETE FROM itsm.audit_intent WHERE id = ANY(\(intents))),
                         \(unsafeSQL: CommitDurability.cte(waitsForDisk: intents.count != records.count))
                    SELECT itsm.append_audit(e->>'actor', e->>'action', e->>'target', e->>'outcome', e->>'clientAddress',
                                             e->>'requestId', e->'details')
                    FROM durability, jsonb_array_elements(\(String(decoding: entries.serialized(), as: UTF8.self))::jsonb)
                         WITH ORDINALITY AS b (e, n)
                    ORDER BY n
                    """)
            } catch {
                logger.error("could not append to the audit log", metadata: [
                    "itsm.audit.entries": "\(records.count)", "itsm.audit.actions": "\(Set(records.map(\.action)).sorted())",
                    "itsm.error": "\(String(reflecting: error))",
                ])
            }
        }
    }

    /// Entries in order, filtered; `after` pages (the last `seq` seen).
    public func entries(from: Date? = nil, to: Date? = nil, actor: String? = nil, action: String? = nil,
                        after: Int64 = 0, limit: Int = 100) async throws -> [Entry] {
        await settled()
        return try await pool.query("""
            SELECT seq, at, actor, action, target, outcome, client_address, request_id, details::text AS details, hash
            FROM itsm.audit_entry
            WHERE seq > \(after) AND (\(from)::timestamptz IS NULL OR at >= \(from)) AND (\(to)::timestamptz IS NULL OR at < \(to))
              AND (\(actor)::text IS NULL OR actor = \(actor)) AND (\(action)::text IS NULL OR action = \(action))
            ORDER BY seq LIMIT \(limit)
            """).map { row in
            Entry(seq: try row.decode(Int64.self, "seq"), at: try row.decode(Date.self, "at"), actor: try row.decode(String.self, "actor"),
                  action: try row.decode(String.self, "action"), target: try row.decode(String?.self, "target"),
                  outcome: try row.decode(String.self, "outcome"), clientAddress: try row.decode(String?.self, "client_address"),
                  requestId: try row.decode(String?.self, "request_id"),
                  details: (try? JSONValue.parse(Array(try row.decode(String.self, "details").utf8))) ?? .null,
                  hash: try row.decode(String.self, "hash"))
        }
    }

    public struct Verification: Codable, Sendable, Hashable {
        public var entries: Int64
        /// The last entry's hash: record it elsewhere, and a later verification that still
        /// reaches it shows nothing before it was cut off or rewritten.
        public var head: String?
        /// The first entry that does not fit the chain, and why; nil when the chain holds.
        public var broken: Broken?

        public struct Broken: Codable, Sendable, Hashable {
            public var seq: Int64
            public var reason: String
        }
    }

    /// Walks the whole log in order, recomputing every hash.
    public func verify() async throws -> Verification {
        await settled()
        var previous = String(repeating: "0", count: 64)
        var expectedSeq: Int64 = 1
        var count: Int64 = 0
        while true {
            let rows = try await pool.query("""
                SELECT seq, (extract(epoch FROM at) * 1000000)::bigint AS at_micros, actor, action, target, outcome,
                       client_address, request_id, details::text AS details, previous_hash, hash
                FROM itsm.audit_entry WHERE seq >= \(expectedSeq) ORDER BY seq LIMIT 5000
                """)
            if rows.isEmpty { break }
            for row in rows {
                let seq = try row.decode(Int64.self, "seq")
                func broken(_ reason: String) -> Verification {
                    Verification(entries: count, head: previous, broken: .init(seq: seq, reason: reason))
                }
                if seq != expectedSeq { return broken("entry \(expectedSeq) is missing") }
                if try row.decode(String.self, "previous_hash") != previous {
                    return broken("it does not link to entry \(seq - 1) (an entry before it was changed or replaced)")
                }
                let fields: [String?] = [
                    try row.decode(String.self, "actor"), try row.decode(String.self, "action"), try row.decode(String?.self, "target"),
                    try row.decode(String.self, "outcome"), try row.decode(String?.self, "client_address"),
                    try row.decode(String?.self, "request_id"), try row.decode(String.self, "details"),
                ]
                let hash = Self.hash(previous: previous, seq: seq, atMicros: try row.decode(Int64.self, "at_micros"), fields: fields)
                if try row.decode(String.self, "hash") != hash { return broken("its content does not match its hash (it was changed)") }
                previous = hash
                expectedSeq += 1
                count += 1
            }
        }
        return Verification(entries: count, head: count == 0 ? nil : previous, broken: nil)
    }

    /// The hash of an entry, as `itsm.append_audit` computes it: SHA-256 over the previous hash,
    /// the sequence number, the time in microseconds and each field as `<bytes>:<text>` (or `-`
    /// for none), one per line.
    static func hash(previous: String, seq: Int64, atMicros: Int64, fields: [String?]) -> String {
        let encoded = fields.map { field in field.map { "\($0.utf8.count):\($0)" } ?? "-" }
        return SHA256.hex(Array(([previous, String(seq), String(atMicros)] + encoded).joined(separator: "\n").utf8))
    }
}

extension AuditLog.Record {
    /// The record a method call touched, for the audit log: the result's `number` (or `id`,
    /// `name`), else the params'.
    static func target(params: JSONValue?, result: JSONValue?) -> String? {
        for source in [result, params] {
            for member in ["number", "id", "name"] {
                if let value = source?[member] {
                    if let text = value.stringValue { return storable(String(text.prefix(200))) }
                    if let number = value.intValue { return String(number) }
                }
            }
        }
        return nil
    }

    /// `ok`, or the kind of the error that refused it.
    static func outcome(of result: Result<some Any, ResponseError>) -> String {
        switch result {
        case .success: "ok"
        case .failure(let error): error.kind ?? "error \(error.code.rawValue)"
        }
    }

    /// Params as they are kept in an entry: up to 4 KiB, else only their size. A NUL, which the
    /// database cannot store, is kept as U+FFFD: a refused attempt is recorded like any other.
    static func details(params: JSONValue?) -> JSONValue {
        guard let params else { return .object([:]) }
        let bytes = params.serialized().count
        return bytes <= 4096 ? ["params": storable(params)] : ["params": ["omitted": .string("over 4 KiB"), "bytes": .int(Int64(bytes))]]
    }

    static func storable(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text): .string(storable(text))
        case .array(let elements): .array(elements.map(storable))
        case .object(let members): .object(Dictionary(members.map { (storable($0.key), storable($0.value)) }) { first, _ in first })
        default: value
        }
    }

    static func storable(_ text: String) -> String {
        text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
    }
}
