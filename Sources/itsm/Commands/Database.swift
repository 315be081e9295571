import ArgumentParser
import Foundation
import ITSMCoordinator
import ITSMPostgres

struct Database: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Manage the embedded PostgreSQL cluster.",
        subcommands: [Start.self, Stop.self, Status.self, Psql.self, Orphans.self])

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create (first time) and start the embedded cluster.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let configuration = try global.loadConfiguration()
            try refuseExternal(configuration)
            let database = try await DatabaseSetup.prepare(configuration, logger: global.makeLogger())
            print(database.startedHere ? "started" : "already running", "-", database.url)
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the embedded cluster.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let configuration = try global.loadConfiguration()
            try refuseExternal(configuration)
            try await DatabaseSetup.embeddedCluster(configuration, logger: global.makeLogger()).stop()
            print("stopped")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say whether the embedded cluster exists and runs.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let configuration = try global.loadConfiguration()
            if let url = DatabaseSetup.externalURL(configuration) {
                print("external database configured (\(url.contains("@") ? "credentials hidden" : url))")
                return
            }
            let cluster = try DatabaseSetup.embeddedCluster(configuration, logger: global.makeLogger())
            switch try await cluster.status() {
            case .notInitialized: print("not created yet: \(cluster.directory)")
            case .stopped: print("stopped: \(cluster.directory)")
            case .running(let pid): print("running, pid \(pid): \(cluster.conninfo())")
            }
        }
    }

    struct Orphans: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List embedded clusters whose data directory is gone, and remove them with --remove.",
            discussion: """
                When the postgres user cannot reach a data directory (one under root's home, or a \
                temporary one), its cluster lives in /var/lib/itsm/clusters instead. Deleting the data \
                directory leaves that cluster behind: it is listed here as an orphan. A cluster that \
                has not started since its directory was recorded is listed as unknown and never removed.
                """)
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Stop and delete the orphans listed.") var remove = false

        func run() async throws {
            let clusters = EmbeddedPostgres.movedClusters()
            let orphans = clusters.filter(\.isOrphan)
            for cluster in clusters {
                let size = directorySize(cluster.directory)
                let owner = cluster.requestedDirectory.map { "for \($0)" } ?? "for an unknown directory (not started since it was recorded)"
                let state = cluster.isOrphan ? "orphan " : cluster.requestedDirectory == nil ? "unknown" : "in use "
                print("\(state) \(cluster.directory)  \(size)  \(owner)")
            }
            guard remove else {
                print("\(orphans.count) of \(clusters.count) clusters are orphans\(orphans.isEmpty ? "" : "; remove them with --remove")")
                return
            }
            let logger = global.makeLogger()
            for cluster in orphans {
                try await EmbeddedPostgres.remove(cluster, logger: logger)
                print("removed \(cluster.directory)")
            }
            print("\(orphans.count) removed, \(clusters.count - orphans.count) kept")
        }

        private func directorySize(_ path: String) -> String {
            var bytes = 0
            for case let file as String in FileManager.default.enumerator(atPath: path) ?? FileManager.DirectoryEnumerator() {
                bytes += ((try? FileManager.default.attributesOfItem(atPath: path + "/" + file))?[.size] as? Int) ?? 0
            }
            return ByteCountFormatter.string(fromByteCount: Int64(bytes), countStyle: .file)
        }
    }

    struct Psql: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open psql on the toolkit's database.")
        @OptionGroup var global: GlobalOptions
        @Argument(parsing: .captureForPassthrough, help: "Arguments passed to psql.")
        var arguments: [String] = []

        func run() async throws {
            let configuration = try global.loadConfiguration()
            let url: String
            let psql: String
            if let external = DatabaseSetup.externalURL(configuration) {
                url = external
                psql = "/usr/bin/psql"
            } else {
                let cluster = try DatabaseSetup.embeddedCluster(configuration, logger: global.makeLogger())
                guard case .running = try await cluster.status() else {
                    throw ValidationError("the embedded cluster is not running; start it with 'itsm db start' or 'itsm serve'")
                }
                url = cluster.conninfo()
                psql = cluster.binaries.psql
            }
            let argv = [psql, url] + arguments
            var cArguments = argv.map { strdup($0) } + [nil]
            execv(psql, &cArguments)
            throw ValidationError("cannot run \(psql): \(String(cString: strerror(errno)))")
        }
    }
}

private func refuseExternal(_ configuration: Configuration) throws {
    if DatabaseSetup.externalURL(configuration) != nil {
        throw ValidationError("an external database is configured (ITSM_DATABASE_URL or database.url); the embedded cluster is not used")
    }
}
