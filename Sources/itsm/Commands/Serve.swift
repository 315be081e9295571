import ArgumentParser
import Foundation
import ITSMCoordinator
import ITSMPostgres

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the coordinator, the enabled plugins and the HTTP API until SIGTERM or SIGINT.",
        discussion: """
            With no database configured, a private PostgreSQL cluster is created under the data \
            directory on first start, reused afterwards, and stopped when serve stops.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "Where the HTTP API listens, HOST:PORT (default 127.0.0.1:8080, or http in itsm.yaml).")
    var http: String?

    func run() async throws {
        // A coordinator that cannot start or stops on an error says why and exits 1; usage text
        // is for usage mistakes only.
        do {
            try await serve()
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    private func serve() async throws {
        var configuration = try global.loadConfiguration()
        if let http { configuration.http = try Configuration.HTTPAddress(parsing: http) }
        let logger = global.makeLogger()
        // The data directory holds the admin token and the embedded cluster: ours alone.
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let lock = try ServeLock(directory: configuration.dataDirectory)
        defer { lock.release() }
        try await Coordinator.checkListenAddressesFree(configuration)

        let database = try await DatabaseSetup.prepare(configuration, logger: logger)
        let coordinator = Coordinator(configuration: configuration, configurationFile: global.configurationFile,
                                      databaseURL: database.url, logger: logger)
        // serve owns the embedded cluster for its lifetime: restarted if it dies, stopped at the
        // end even after a failure.
        let supervision = database.cluster.map { cluster in Task { await cluster.supervise() } }
        var failure: (any Error)?
        do {
            try await coordinator.run()
        } catch {
            failure = error
        }
        supervision?.cancel()
        await supervision?.value
        if let cluster = database.cluster {
            do {
                try await cluster.stop()
            } catch {
                logger.error("could not stop the embedded PostgreSQL", metadata: ["itsm.error": "\(error)"])
            }
        }
        if let failure { throw failure }
    }
}

/// One `itsm serve` per data directory: a second would share, then stop, the first's cluster.
struct ServeLock {
    private let descriptor: Int32

    init(directory: String) throws {
        let path = directory + "/serve.lock"
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ValidationError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw ValidationError("another itsm serve is already using \(directory)")
        }
    }

    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
