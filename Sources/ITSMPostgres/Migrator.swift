import Foundation
import Logging

/// One step of a schema's history: applied once, in order, never edited after release.
public struct Migration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// A stable fingerprint of the SQL (FNV-1a, 64 bit), to notice a migration edited after
    /// it was applied.
    public var checksum: String { fingerprint(sql) }
}

/// FNV-1a (64 bit) of the text as lowercase hex: a stable fingerprint, not a security hash.
func fingerprint(_ text: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }
    return String(hash, radix: 16)
}

/// Why migrating a schema failed.
public struct MigrationError: Error, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case schemaTooNew = "schema newer than this program"
            case checksumMismatch = "applied migration was changed"
            case lockTimeout = "migration lock timeout"
            case invalidMigrations = "invalid migration list"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        public static let schemaTooNew = Code(.schemaTooNew)
        public static let checksumMismatch = Code(.checksumMismatch)
        public static let lockTimeout = Code(.lockTimeout)
        public static let invalidMigrations = Code(.invalidMigrations)
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    public var description: String { "\(code): \(message)" }
}

/// Applies a schema's migrations once each, in order, under a PostgreSQL advisory lock.
///
/// Every process that owns a schema (the coordinator's `itsm`, each plugin's own) runs its
/// migrator at start; concurrent starts wait for each other by polling `pg_try_advisory_lock`,
/// and the applied versions are recorded in `public.itsm_migrations`. A database already at a
/// version this program does not know is refused, so an old binary cannot run on a new schema.
public struct Migrator: Sendable {
    public var schema: String
    public var migrations: [Migration]
    public var lockTimeout: Duration
    private let logger: Logger

    /// Lock namespace for `pg_try_advisory_lock(int, int)`: "ITSM" in ASCII.
    static let advisoryLockClass: Int32 = 0x4954_534D

    public init(schema: String, migrations: [Migration], lockTimeout: Duration = .seconds(60), logger: Logger) {
        self.schema = schema
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.lockTimeout = lockTimeout
        self.logger = logger
    }

    /// The result of a run: versions that were already there and versions applied now.
    public struct Report: Sendable, Equatable {
        public var previousVersion: Int
        public var applied: [Int]
        public init(previousVersion: Int, applied: [Int]) {
            self.previousVersion = previousVersion
            self.applied = applied
        }
        public var currentVersion: Int { applied.last ?? previousVersion }
    }

    /// Brings the schema up to the newest known migration.
    @discardableResult
    public func migrate(_ pool: PostgresPool) async throws -> Report {
        try validate()
        return try await pool.withConnection { connection in
            try await withAdvisoryLock(on: connection) {
                try await migrateLocked(connection)
            }
        }
    }

    /// The highest version applied to this schema, 0 when none.
    public func appliedVersion(_ pool: PostgresPool) async throws -> Int {
        try await pool.withConnection { connection in
            try await ensureLedger(connection)
            return try await appliedMigrations(connection).keys.max() ?? 0
        }
    }

    private func validate() throws {
        var seen = Set<Int>()
        for migration in migrations {
            guard migration.version > 0, seen.insert(migration.version).inserted else {
                throw MigrationError(code: .invalidMigrations,
                                     message: "versions of \(schema) must be positive and unique (\(migration.version))")
            }
        }
    }

    private func migrateLocked(_ connection: PostgresConnection) async throws -> Report {
        try await ensureLedger(connection)
        let applied = try await appliedMigrations(connection)
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        let previous = applied.keys.max() ?? 0
        if let newest = migrations.last?.version, previous > newest {
            throw MigrationError(code: .schemaTooNew, message:
                "schema \(schema) is at version \(previous) but this program knows only up to \(newest); upgrade the program")
        }
        if migrations.isEmpty && previous > 0 {
            throw MigrationError(code: .schemaTooNew, message: "schema \(schema) is at version \(previous) but this program knows none")
        }
        for (version, checksum) in applied {
            if let migration = known[version], migration.checksum != checksum {
                throw MigrationError(code: .checksumMismatch, message:
                    "migration \(schema) \(version) (\(migration.name)) differs from the one applied; migrations must not be edited")
            }
        }
        var appliedNow: [Int] = []
        for migration in migrations where applied[migration.version] == nil {
            logger.info("applying migration", metadata: [
                "itsm.schema": "\(schema)", "itsm.migration.version": "\(migration.version)",
                "itsm.migration.name": "\(migration.name)",
            ])
            try await connection.withTransaction { tx in
                try await tx.executeScript(unsafeSQL: migration.sql)
                try await tx.query("""
                    INSERT INTO public.itsm_migrations (schema_name, version, name, checksum)
                    VALUES (\(schema), \(migration.version), \(migration.name), \(migration.checksum))
                    """)
            }
            appliedNow.append(migration.version)
        }
        return Report(previousVersion: previous, applied: appliedNow)
    }

    private func ensureLedger(_ connection: PostgresConnection) async throws {
        try await connection.executeScript(unsafeSQL: """
            CREATE TABLE IF NOT EXISTS public.itsm_migrations (
                schema_name text NOT NULL,
                version integer NOT NULL,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (schema_name, version)
            )
            """)
    }

    private func appliedMigrations(_ connection: PostgresConnection) async throws -> [Int: String] {
        let rows = try await connection.query(
            "SELECT version, checksum FROM public.itsm_migrations WHERE schema_name = \(schema)")
        var applied: [Int: String] = [:]
        for row in rows {
            applied[try row.decode(Int.self, "version")] = try row.decode(String.self, "checksum")
        }
        return applied
    }

    /// Holds one lock for all schemas while migrating: creating the shared ledger table
    /// concurrently is not safe, and migrations are rare and quick.
    private func withAdvisoryLock<R>(on connection: PostgresConnection, _ body: () async throws -> R) async throws -> R {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: lockTimeout)
        let lockClass = Self.advisoryLockClass
        while true {
            let row = try await connection.query("SELECT pg_try_advisory_lock(\(lockClass), 0) AS locked").single()
            if try row.decode(Bool.self, "locked") { break }
            guard clock.now < deadline else {
                throw MigrationError(code: .lockTimeout, message:
                    "another process held the migration lock for over \(lockTimeout); is a migration stuck?")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        do {
            let result = try await body()
            try await connection.query("SELECT pg_advisory_unlock(\(lockClass), 0)")
            return result
        } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(lockClass), 0)")
            throw error
        }
    }
}
