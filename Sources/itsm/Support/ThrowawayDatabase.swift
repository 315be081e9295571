import Foundation
import ITSMPostgres
import Logging

/// A private PostgreSQL cluster in a temporary directory for one command (the plugin check,
/// benchmarks), removed afterwards; or the database the user named instead.
enum ThrowawayDatabase {
    static func with<Result>(url given: String?, logger: Logger, _ body: (String) async throws -> Result) async throws -> Result {
        if let given { return try await body(given) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("itsm-throwaway-\(UUID().uuidString.prefix(8))").path
        let cluster = try EmbeddedPostgres(directory: directory, durability: .throwaway, logger: logger)
        try await cluster.start()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let result = try await body(cluster.conninfo())
            try? await cluster.stop(immediate: true)
            return result
        } catch {
            try? await cluster.stop(immediate: true)
            throw error
        }
    }

    /// For a benchmark: the database (throwaway unless `url` names one) with the core schema
    /// and one process's migrated, a pool of two on it, and warnings-only logging.
    static func withMigratedPool(url given: String?, schema: String, migrations: [Migration],
                                 _ body: (PostgresPool) async throws -> Void) async throws {
        var logger = Logger(label: "itsm.bench")
        logger.logLevel = .warning
        try await with(url: given, logger: logger) { url in
            let pool = PostgresPool(conninfo: url, maximumConnections: 2, logger: logger)
            do {
                try await Migrator(schema: CoreSchema.name, migrations: CoreSchema.migrations, logger: logger).migrate(pool)
                try await Migrator(schema: schema, migrations: migrations, logger: logger).migrate(pool)
                try await body(pool)
            } catch {
                await pool.close()
                throw error
            }
            await pool.close()
        }
    }
}
