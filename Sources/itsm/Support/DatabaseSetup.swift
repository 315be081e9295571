import Foundation
import ITSMCoordinator
import ITSMPostgres
import Logging

/// Which database to use: `ITSM_DATABASE_URL`, else `database.url` in itsm.yaml, else the
/// embedded cluster under the data directory.
struct DatabaseSetup {
    var url: String
    /// The embedded cluster, when that is what is used.
    var cluster: EmbeddedPostgres?
    /// True when this command started the cluster (so it should stop it again).
    var startedHere: Bool

    static func externalURL(_ configuration: Configuration) -> String? {
        if let url = ProcessInfo.processInfo.environment["ITSM_DATABASE_URL"], !url.isEmpty { return url }
        return configuration.databaseURL
    }

    static func embeddedCluster(_ configuration: Configuration, logger: Logger) throws -> EmbeddedPostgres {
        try EmbeddedPostgres(directory: configuration.dataDirectory + "/postgres", durability: .fromEnvironment(), logger: logger)
    }

    /// Runs `body` on the database; an embedded cluster this call started is stopped again
    /// afterwards, whatever `body` did.
    static func using<T>(_ configuration: Configuration, logger: Logger, _ body: (DatabaseSetup) async throws -> T) async throws -> T {
        let database = try await prepare(configuration, logger: logger)
        let result: T
        do {
            result = try await body(database)
        } catch {
            if database.startedHere { try? await database.cluster?.stop() }
            throw error
        }
        if database.startedHere { try await database.cluster?.stop() }
        return result
    }

    /// Resolves the database, starting the embedded cluster if it is the one and not running.
    static func prepare(_ configuration: Configuration, logger: Logger) async throws -> DatabaseSetup {
        if let url = externalURL(configuration) {
            return DatabaseSetup(url: url, cluster: nil, startedHere: false)
        }
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        let cluster = try embeddedCluster(configuration, logger: logger)
        let started = try await cluster.start()
        return DatabaseSetup(url: cluster.conninfo(), cluster: cluster, startedHere: started)
    }
}
