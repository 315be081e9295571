import ArgumentParser
import Foundation
import ITSMCoordinator
import ITSMPostgres

struct Database: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Manage the embedded PostgreSQL cluster.",
        subcommands: [Start.self, Stop.self, Status.self, Psql.self])

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
