import Foundation
import ITSMSystem
import Logging

/// A private PostgreSQL cluster in a directory of ours, reached only over a Unix socket.
///
/// `itsm serve` uses one (durable) when no database URL is configured; tests use throwaway
/// ones (`initdb --no-sync`, `fsync=off`) through `ITSMTesting`. PostgreSQL refuses to run as
/// root, so when we are root the server runs as the `postgres` user and the cluster directory
/// belongs to that user; the directory above it stays ours. If that user cannot reach the
/// directory (a checkout under root's 0700 home, say), the cluster lives in
/// `/var/lib/itsm/clusters/<fingerprint of the path>` instead, the same one on every start, and
/// `start()` says so in the log.
///
/// ```swift
/// let cluster = try EmbeddedPostgres(directory: ".itsm/postgres", logger: logger)
/// try await cluster.start()          // initdb on first use, reuse afterwards
/// let pool = PostgresPool(conninfo: cluster.conninfo(), logger: logger)
/// ```
public struct EmbeddedPostgres: Sendable {
    /// Durable keeps every PostgreSQL safety on; throwaway trades crash safety for speed.
    public enum Durability: Sendable {
        case durable
        /// No fsync: what was committed survives any process being killed (the WAL reaches the
        /// operating system at commit) but not a machine crash or power loss. For end-to-end
        /// tests and demonstrations, where dozens of clusters start at once on one disk.
        case unsynced
        case throwaway

        /// `ITSM_EMBEDDED_FSYNC=off` asks for `.unsynced`; anything else is durable.
        public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Durability {
            environment["ITSM_EMBEDDED_FSYNC"] == "off" ? .unsynced : .durable
        }
    }

    public enum Status: Sendable, Equatable {
        case notInitialized
        case stopped
        case running(pid: Int32)
    }

    /// The cluster's own directory: `data/` (the cluster), `run/` (socket), `postgres.log`.
    public let directory: String
    /// The directory asked for, when the server's user cannot reach it and `directory` is elsewhere.
    public let requestedDirectory: String?
    public let socketDirectory: String
    public let port: Int
    public let durability: Durability
    /// The superuser role the cluster is created with.
    public let user = "itsm"
    /// The database `start()` creates for the toolkit.
    public let database = "itsm"
    public let binaries: PostgresBinaries
    private let runner: CommandRunner
    private let logger: Logger

    public var dataDirectory: String { directory + "/data" }
    public var logFile: String { directory + "/postgres.log" }

    public init(directory: String, durability: Durability = .durable, port: Int = 5432, logger: Logger) throws {
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        let serverUser = geteuid() == 0 ? "postgres" : nil
        if let serverUser, !Self.canReach(absolute, user: serverUser) {
            self.directory = Self.reachableRoot + "/" + fingerprint(absolute)
            self.requestedDirectory = absolute
        } else {
            self.directory = absolute
            self.requestedDirectory = nil
        }
        self.durability = durability
        self.port = port
        self.logger = logger
        self.binaries = try PostgresBinaries.locate()
        self.runner = CommandRunner(runAsUser: serverUser)
        self.socketDirectory = Self.socketDirectory(for: self.directory, port: port)
    }

    /// A libpq keyword string for `database` (default: the toolkit's) on this cluster.
    public func conninfo(database: String? = nil) -> String {
        func quoted(_ value: String) -> String {
            "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        }
        return "host=\(quoted(socketDirectory)) port=\(port) user=\(quoted(user)) dbname=\(quoted(database ?? self.database))"
    }

    public func status() async throws -> Status {
        guard FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") else { return .notInitialized }
        let output = try await runner.run(binaries.pgCtl, ["status", "-D", dataDirectory])
        guard output.status.isSuccess else { return .stopped }
        let pidFile = (try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8)) ?? ""
        let pid = pidFile.split(separator: "\n").first.flatMap { Int32($0.trimmingCharacters(in: .whitespaces)) } ?? 0
        return .running(pid: pid)
    }

    /// Creates the cluster on first use, starts the server unless it already runs, and creates
    /// the toolkit's database. Returns false when the server was already running.
    @discardableResult
    public func start() async throws -> Bool {
        if let requestedDirectory {
            logger.notice("the postgres user cannot reach the data directory; the cluster lives elsewhere", metadata: [
                "itsm.postgres.requested": "\(requestedDirectory)", "itsm.postgres.dir": "\(directory)",
            ])
        }
        try await initializeIfNeeded()
        try recordRequestedDirectory()
        if case .running = try await status() {
            logger.info("embedded PostgreSQL already running", metadata: ["itsm.postgres.dir": "\(directory)"])
            try await createDatabaseIfNeeded(database)
            return false
        }
        try writeSettings()
        try prepareDirectory(socketDirectory)
        let output = try await runner.run(binaries.pgCtl, [
            "start", "-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "-s",
        ])
        guard output.status.isSuccess else {
            throw EmbeddedPostgresError(
                "could not start PostgreSQL in \(dataDirectory): \(output.text.trimmed); see \(logFile)")
        }
        logger.info("embedded PostgreSQL started", metadata: [
            "itsm.postgres.dir": "\(directory)", "itsm.postgres.socket": "\(socketDirectory)",
        ])
        try await createDatabaseIfNeeded(database)
        return true
    }

    /// Keeps the server running until the task is cancelled: when the postmaster dies without
    /// shutting down (killed, crashed, out of memory: it leaves `postmaster.pid` behind), starts
    /// it again, retrying with backoff (a new postmaster is refused while the dead one's
    /// backends linger). A server stopped on purpose (`pg_ctl stop` removes the pid file) is
    /// left stopped, and watched again once it runs. Connection pools reconnect by themselves.
    public func supervise() async {
        var mustStart = false
        var delay = Duration.seconds(1)
        while !Task.isCancelled {
            if mustStart {
                do {
                    try await start()
                    logger.notice("embedded PostgreSQL runs again", metadata: ["itsm.postgres.dir": "\(directory)"])
                    mustStart = false
                    delay = .seconds(1)
                } catch {
                    logger.warning("embedded PostgreSQL did not start yet; trying again", metadata: [
                        "itsm.error": "\(error)", "itsm.retry.in": "\(delay)",
                    ])
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(30))
                    continue
                }
            }
            switch try? await status() {
            case .running(let pid)? where pid > 0:
                await ProcessExit.wait(for: pid)
                guard !Task.isCancelled else { return }
                mustStart = diedWithoutShuttingDown(pid: pid)
                if !mustStart {
                    logger.notice("embedded PostgreSQL was stopped from outside; it stays stopped until started again",
                                  metadata: ["itsm.postgres.dir": "\(directory)"])
                }
            case .stopped? where diedWithoutShuttingDown(pid: nil):
                // Gone before we watched it (started and killed by someone else meanwhile).
                mustStart = true
            default:
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }

    /// Whether the server left its pid file behind: it was killed or crashed; a clean stop
    /// removes the file.
    private func diedWithoutShuttingDown(pid: Int32?) -> Bool {
        guard FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid") else { return false }
        logger.error("embedded PostgreSQL died without shutting down; starting it again", metadata: [
            "itsm.postgres.dir": "\(directory)", "itsm.postgres.pid": "\(pid.map(String.init) ?? "unknown")",
        ])
        return true
    }

    /// Stops the server: `fast` lets it finish cleanly, `immediate` is for throwaway clusters.
    public func stop(immediate: Bool = false) async throws {
        guard case .running = try await status() else { return }
        let output = try await runner.run(binaries.pgCtl, stopArguments(immediate: immediate))
        guard output.status.isSuccess else {
            throw EmbeddedPostgresError("could not stop PostgreSQL in \(dataDirectory): \(output.text.trimmed)")
        }
        logger.info("embedded PostgreSQL stopped", metadata: ["itsm.postgres.dir": "\(directory)"])
    }

    /// The command that stops the server, as the right OS user, for callers that cannot
    /// await `stop()` (an exit handler).
    public func stopCommandLine(immediate: Bool) -> [String] {
        runner.commandLine(binaries.pgCtl, stopArguments(immediate: immediate))
    }

    private func stopArguments(immediate: Bool) -> [String] {
        ["stop", "-D", dataDirectory, "-m", immediate ? "immediate" : "fast", "-w", "-t", "60", "-s"]
    }

    /// Creates `name` unless it exists.
    public func createDatabaseIfNeeded(_ name: String) async throws {
        let connection = try await PostgresConnection.connect(to: conninfo(database: "postgres"), logger: logger)
        defer { connection.close() }
        let exists = try await connection.query("SELECT 1 FROM pg_database WHERE datname = \(name)")
        if exists.isEmpty {
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(PostgresListener.quoteIdentifier(name))"))
        }
    }

    private func initializeIfNeeded() async throws {
        guard !FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") else { return }
        try prepareDirectory(directory)
        var arguments = [
            "-D", dataDirectory, "-U", user, "--auth=trust", "--encoding=UTF8", "--no-locale",
            "--no-instructions",
        ]
        if durability != .durable { arguments.append("--no-sync") }
        logger.info("creating embedded PostgreSQL cluster", metadata: ["itsm.postgres.dir": "\(directory)"])
        let output = try await runner.run(binaries.initdb, arguments)
        guard output.status.isSuccess else {
            throw EmbeddedPostgresError("initdb failed for \(dataDirectory): \(output.text.trimmed)")
        }
        let include = "\n# Settings written by itsm on every start.\ninclude_if_exists = 'itsm.conf'\n"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dataDirectory + "/postgresql.conf"))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(include.utf8))
    }

    /// Rewritten on every start so a moved directory gets the right socket path.
    private func writeSettings() throws {
        var settings = [
            "listen_addresses = ''",
            "port = \(port)",
            "unix_socket_directories = '\(socketDirectory.replacingOccurrences(of: "'", with: "''"))'",
            "unix_socket_permissions = 0700",
        ]
        if durability == .throwaway {
            // A test run's cluster serves every test at once: dozens of coordinators, each with its
            // plugins' pools, reached 200 connections in a full run and were refused beyond.
            settings += ["max_connections = 600", "fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        } else if durability == .unsynced {
            settings += ["max_connections = 200", "fsync = off", "full_page_writes = off"]
        } else {
            settings += ["max_connections = 200"]
        }
        let path = dataDirectory + "/itsm.conf"
        try (settings.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        try giveToServerUser(path)
    }

    /// Creates a directory (mode 0700) that the server's user owns.
    private func prepareDirectory(_ path: String) throws {
        if requestedDirectory != nil {
            try FileManager.default.createDirectory(atPath: Self.reachableRoot, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
        }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try giveToServerUser(path)
    }

    private func giveToServerUser(_ path: String) throws {
        guard let user = runner.runAsUser else { return }
        guard let entry = getpwnam(user) else {
            throw EmbeddedPostgresError("running as root needs the '\(user)' OS user to run PostgreSQL; none exists")
        }
        guard chown(path, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
            throw EmbeddedPostgresError("cannot hand \(path) to the '\(user)' user: \(String(cString: strerror(errno)))")
        }
    }

    /// Where clusters go whose requested directory the server's user cannot reach.
    public static let reachableRoot = "/var/lib/itsm/clusters"

    /// The file in a moved cluster that names the directory it was asked for, written on every
    /// start (so clusters made before it existed get it once they start again).
    static let requestedDirectoryFile = "requested-directory"

    private func recordRequestedDirectory() throws {
        guard let requestedDirectory else { return }
        try requestedDirectory.write(toFile: directory + "/" + Self.requestedDirectoryFile, atomically: true, encoding: .utf8)
    }

    /// A cluster kept in `/var/lib/itsm/clusters` for a directory the server's user cannot reach.
    public struct MovedCluster: Sendable, Equatable {
        public var directory: String
        /// The directory it was asked for; nil for a cluster that has not started since this
        /// was recorded.
        public var requestedDirectory: String?
        /// Whether what asked for it is gone: the directory that would hold the requested one
        /// (a data directory, a benchmark's temporary one) no longer exists. Its data is
        /// nobody's, and stays until removed (`itsm db orphans --remove`).
        public var isOrphan: Bool {
            guard let requestedDirectory else { return false }
            return !FileManager.default.fileExists(atPath: URL(fileURLWithPath: requestedDirectory).deletingLastPathComponent().path)
        }
    }

    /// Every cluster kept in `/var/lib/itsm/clusters`, oldest directory name first.
    public static func movedClusters(root: String = reachableRoot) -> [MovedCluster] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
        return names.map { name in
            let directory = root + "/" + name
            let requested = try? String(contentsOfFile: directory + "/" + requestedDirectoryFile, encoding: .utf8)
            return MovedCluster(directory: directory, requestedDirectory: requested?.trimmed)
        }
    }

    /// Stops a moved cluster if it runs and deletes it with its data.
    public static func remove(_ cluster: MovedCluster, logger: Logger) async throws {
        try await EmbeddedPostgres(directory: cluster.directory, durability: .throwaway, logger: logger).stop(immediate: true)
        try FileManager.default.removeItem(atPath: cluster.directory)
    }

    /// Whether `user` can pass through every existing directory above `path` (owner, group or
    /// other execute bit; supplementary groups are not counted, so a doubtful case moves).
    static func canReach(_ path: String, user: String) -> Bool {
        guard let entry = getpwnam(user) else { return true } // start() reports the missing user
        let (uid, gid) = (entry.pointee.pw_uid, entry.pointee.pw_gid)
        var ancestor = URL(fileURLWithPath: path)
        while ancestor.path != "/" {
            ancestor.deleteLastPathComponent()
            var info = stat()
            guard stat(ancestor.path, &info) == 0 else { continue } // not created yet: we create it 0755
            let bit = info.st_uid == uid ? S_IXUSR : info.st_gid == gid ? S_IXGRP : S_IXOTH
            if info.st_mode & bit == 0 { return false }
        }
        return true
    }

    /// `<directory>/run` when the socket path fits the kernel's limit, else a short path in /tmp.
    static func socketDirectory(for directory: String, port: Int) -> String {
        let preferred = directory + "/run"
        if (preferred + "/.s.PGSQL.\(port)").utf8.count < 100 { return preferred }
        return "/tmp/itsm-pg-\(fingerprint(directory))"
    }
}

public struct EmbeddedPostgresError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Where the PostgreSQL server programs are: `ITSM_POSTGRES_BINDIR`, then `pg_config --bindir`,
/// then the newest `/usr/lib/postgresql/*/bin`, then `PATH`.
public struct PostgresBinaries: Sendable {
    public var directory: String
    public var initdb: String { directory + "/initdb" }
    public var pgCtl: String { directory + "/pg_ctl" }
    public var psql: String {
        let local = directory + "/psql"
        return FileManager.default.isExecutableFile(atPath: local) ? local : "/usr/bin/psql"
    }

    public static func locate() throws -> PostgresBinaries {
        let fileManager = FileManager.default
        func usable(_ directory: String) -> Bool {
            fileManager.isExecutableFile(atPath: directory + "/initdb") && fileManager.isExecutableFile(atPath: directory + "/pg_ctl")
        }
        var candidates: [String] = []
        if let configured = ProcessInfo.processInfo.environment["ITSM_POSTGRES_BINDIR"] { candidates.append(configured) }
        if let fromPgConfig = pgConfigBindir() { candidates.append(fromPgConfig) }
        let versions = (try? fileManager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        candidates += versions.compactMap(Int.init).sorted(by: >).map { "/usr/lib/postgresql/\($0)/bin" }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        candidates += path.split(separator: ":").map(String.init)
        guard let found = candidates.first(where: usable) else {
            throw EmbeddedPostgresError("""
                PostgreSQL server programs (initdb, pg_ctl) not found. Install them \
                (Debian: apt-get install postgresql) or set ITSM_POSTGRES_BINDIR, or point \
                ITSM_DATABASE_URL at an existing server.
                """)
        }
        return PostgresBinaries(directory: found)
    }

    /// Debian's `pg_config` (from libpq-dev) names the server's bin directory.
    private static func pgConfigBindir() -> String? {
        guard let child = try? ChildProcess.spawn(.init(
            executable: "pg_config", arguments: ["--bindir"], standardOutput: .pipe, standardError: .null)),
            let output = child.standardOutput
        else { return nil }
        defer { close(output) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(output, &buffer, buffer.count)
            if count > 0 { data += buffer[..<count] } else if count == 0 || errno != EINTR { break }
        }
        return String(decoding: data, as: UTF8.self).trimmed
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
