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
}
