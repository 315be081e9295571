import Foundation
import ITSMPostgres
import ITSMSystem
import Logging
import Synchronization

/// PostgreSQL for tests: a fresh, empty database per call, on one throwaway server per test
/// process, or on the server `ITSM_TEST_DATABASE_URL` names.
///
/// ```swift
/// @Test func createsIncident() async throws {
///     let database = try await TestPostgres.makeDatabase()
///     defer { database.drop() }  // optional: the server goes away with the process
///     let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
/// }
/// ```
public enum TestPostgres {
    /// A database made for one test.
    public struct Database: Sendable {
        public var name: String
        /// libpq keyword string or URL for this database.
        public var conninfo: String
    }

    /// Creates an empty database with a unique name.
    public static func makeDatabase(label: String = "test") async throws -> Database {
        let server = try await SharedServer.instance.server()
        let safeLabel = label.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(20)
        let name = "itsm_\(safeLabel)_\(UUID().uuidString.prefix(8).lowercased())"
        try await server.admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(PostgresListener.quoteIdentifier(name))"))
        return Database(name: name, conninfo: server.conninfo(name))
    }

    /// A fresh database as a plugin finds it after `initialize`: the coordinator's `itsm` schema
    /// (outbox, inbox) and the plugin's own migrations applied.
    public static func makeMigratedPool(label: String, schema: String, migrations: [Migration]) async throws -> PostgresPool {
        let database = try await makeDatabase(label: label)
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        try await Migrator(schema: CoreSchema.name, migrations: CoreSchema.migrations, logger: logger).migrate(pool)
        try await Migrator(schema: schema, migrations: migrations, logger: logger).migrate(pool)
        return pool
    }

    /// The throwaway cluster itself, for tests that need to stop or restart PostgreSQL; `nil`
    /// when tests run against `ITSM_TEST_DATABASE_URL`.
    public static func embeddedCluster() async throws -> EmbeddedPostgres? {
        try await SharedServer.instance.server().cluster
    }

    static let logger = Logger(label: "itsm.testing")
}

/// The connection details of the server tests use.
struct TestServer: Sendable {
    /// Creates the tests' databases; a pool, so that a burst of tests waits for a free slot.
    var admin: PostgresPool
    var cluster: EmbeddedPostgres?
    var conninfo: @Sendable (String) -> String
}

/// Starts the throwaway cluster once per process and stops it when the process exits.
actor SharedServer {
    static let instance = SharedServer()
    private var started: Task<TestServer, any Error>?

    func server() async throws -> TestServer {
        if let started { return try await started.value }
        let task = Task { try await Self.start() }
        started = task
        return try await task.value
    }

    private static func start() async throws -> TestServer {
        if let url = ProcessInfo.processInfo.environment["ITSM_TEST_DATABASE_URL"], !url.isEmpty {
            return TestServer(admin: PostgresPool(conninfo: url, logger: TestPostgres.logger), cluster: nil) { name in
                // In a keyword string a later dbname overrides an earlier one.
                url.contains("://") ? Self.replacingDatabase(in: url, with: name) : "\(url) dbname=\(name)"
            }
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("itsm-test-\(getpid())-\(UUID().uuidString.prefix(6))").path
        let cluster = try EmbeddedPostgres(directory: directory, durability: .throwaway, logger: TestPostgres.logger)
        try await cluster.start()
        ThrowawayClusterCleanup.register(cluster)
        return TestServer(admin: PostgresPool(conninfo: cluster.conninfo(database: "postgres"), logger: TestPostgres.logger),
                          cluster: cluster) { name in
            cluster.conninfo(database: name)
        }
    }

    /// `postgresql://u@h:5432/db?x=y` with its path replaced by `/name`.
    static func replacingDatabase(in url: String, with name: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/" + name
        return components.string ?? url
    }
}

/// Stops throwaway clusters and removes their directories when the test process exits.
enum ThrowawayClusterCleanup {
    private static let commands = Mutex<[(stop: [String], directory: String)]>([])
    private static let installHook: Void = { atexit { ThrowawayClusterCleanup.runAll() } }()

    static func register(_ cluster: EmbeddedPostgres) {
        _ = installHook
        commands.withLock { $0.append((cluster.stopCommandLine(immediate: true), cluster.directory)) }
    }

    /// At exit no task can be awaited, so this spawns and waits synchronously.
    private static func runAll() {
        for command in commands.withLock({ $0 }) {
            if let child = try? ChildProcess.spawn(.init(
                executable: command.stop[0], arguments: Array(command.stop.dropFirst()),
                standardOutput: .null, standardError: .null)) {
                var status: Int32 = 0
                _ = waitpid(child.pid, &status, 0)
            }
            try? FileManager.default.removeItem(atPath: command.directory)
        }
    }
}
