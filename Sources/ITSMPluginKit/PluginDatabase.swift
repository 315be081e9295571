import Foundation
import ITSMPostgres
import ITSMProtocol

/// A plugin's access to the shared database: its pool, plus publishing events through the
/// transactional outbox.
public struct PluginDatabase: Sendable {
    public let pool: PostgresPool
    /// The plugin's name, recorded as the source of the events it publishes.
    public let source: String
    /// For a scheduled job: the lease every transaction must still hold.
    let fence: JobFence?
    /// The request being served (or whose event is being handled): the events published
    /// here carry it, so it can be followed into every process they reach.
    let requestId: String?

    public init(pool: PostgresPool, source: String) {
        self.init(pool: pool, source: source, fence: nil)
    }

    init(pool: PostgresPool, source: String, fence: JobFence?, requestId: String? = nil) {
        self.pool = pool
        self.source = source
        self.fence = fence
        self.requestId = requestId
    }

    /// The same database, for a job acting under `fence`.
    func fenced(by fence: JobFence) -> PluginDatabase { PluginDatabase(pool: pool, source: source, fence: fence) }

    /// The same database, for work done on behalf of request `requestId`.
    func serving(request requestId: String?) -> PluginDatabase {
        PluginDatabase(pool: pool, source: source, fence: fence, requestId: requestId)
    }

    /// Runs `body` in one transaction: the data change and the events it publishes commit or
    /// roll back together. In a scheduled job it first checks that the job's lease is still
    /// held (`JobLeaseLost` otherwise).
    public func withTransaction<Result>(_ body: (PluginTransaction) async throws -> Result) async throws -> Result {
        try await pool.withTransaction { connection in
            try await fence?.check(connection)
            return try await body(PluginTransaction(connection: connection, source: source, requestId: requestId))
        }
    }

    /// Statements that do not need each other's answers, in one round trip
    /// (`PostgresConnection.queries`); in a scheduled job, in a transaction that checks the lease.
    public func queries(_ queries: [PostgresQuery]) async throws -> [PostgresRows] {
        guard fence != nil else { return try await pool.withConnection { try await $0.queries(queries) } }
        return try await withTransaction { try await $0.queries(queries) }
    }

    /// One statement outside an explicit transaction (reads, mostly); in a scheduled job, in
    /// a transaction of its own that checks the lease.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        guard fence != nil else { return try await pool.query(query) }
        return try await withTransaction { try await $0.query(query) }
    }
}

/// A transaction in progress, able to publish events that become visible only if it commits.
public struct PluginTransaction: Sendable {
    public let connection: PostgresConnection
    public let source: String
    /// Recorded with each event published, see `PluginDatabase.requestId`.
    public var requestId: String?

    public init(connection: PostgresConnection, source: String, requestId: String? = nil) {
        self.connection = connection
        self.source = source
        self.requestId = requestId
    }

    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await connection.query(query)
    }

    /// Statements that do not need each other's answers, in one round trip (`PostgresConnection.queries`).
    public func queries(_ queries: [PostgresQuery]) async throws -> [PostgresRows] {
        try await connection.queries(queries)
    }

    /// Writes an event to `itsm.outbox`; the coordinator delivers it to subscribers after
    /// the transaction commits. Returns the event's id.
    ///
    /// The row goes in with the `COMMIT` (one round trip for both), so a statement later in
    /// the transaction does not see it, and a failure to write it fails the commit.
    @discardableResult
    public func publish(_ type: String, subject: String? = nil, data: some Encodable) async throws -> UUID {
        // Straight to a JSON tree and written once: Foundation's JSONEncoder took 7% of the incident
        // process's time during creates.
        let payload = PostgresJSON(text: String(decoding: try JSONValue(encoding: data).serialized(), as: UTF8.self))
        let id = UUID()
        try await connection.queryAtCommit("""
            INSERT INTO itsm.outbox (event_id, type, source, subject, payload, request_id)
            VALUES (\(id), \(type), \(source), \(subject), \(payload), \(requestId))
            """)
        return id
    }
}
