import Foundation
import ITSMPostgres
import ITSMProtocol

/// A plugin's access to the shared database: its pool, plus publishing events through the
/// transactional outbox.
public struct PluginDatabase: Sendable {
    public let pool: PostgresPool
    /// The plugin's name, recorded as the source of the events it publishes.
    public let source: String

    public init(pool: PostgresPool, source: String) {
        self.pool = pool
        self.source = source
    }

    /// Runs `body` in one transaction: the data change and the events it publishes commit or
    /// roll back together.
    public func withTransaction<Result>(_ body: (PluginTransaction) async throws -> Result) async throws -> Result {
        try await pool.withTransaction { connection in
            try await body(PluginTransaction(connection: connection, source: source))
        }
    }

    /// One statement outside an explicit transaction (reads, mostly).
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await pool.query(query)
    }
}

/// A transaction in progress, able to publish events that become visible only if it commits.
public struct PluginTransaction: Sendable {
    public let connection: PostgresConnection
    public let source: String

    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await connection.query(query)
    }

    /// Writes an event to `itsm.outbox`; the coordinator delivers it to subscribers after
    /// the transaction commits. Returns the event's id.
    @discardableResult
    public func publish(_ type: String, subject: String? = nil, data: some Encodable) async throws -> UUID {
        let payload = try PostgresJSON(text: String(decoding: JSONCoding.encoder.encode(data), as: UTF8.self))
        let row = try await connection.query("""
            INSERT INTO itsm.outbox (type, source, subject, payload)
            VALUES (\(type), \(source), \(subject), \(payload))
            RETURNING event_id
            """).single()
        return try row.decode(UUID.self, "event_id")
    }
}
