import ArgumentParser
import Foundation
import ITSMCoordinator
import ITSMPostgres
import ITSMSystem

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the core schema's and every enabled plugin's migrations, then exit.",
        discussion: "Runs '<plugin> migrate' for each plugin with ITSM_DATABASE_URL set. Upgrades run this first, then restart plugins.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let configuration = try global.loadConfiguration()
        let logger = global.makeLogger()
        let failed = try await DatabaseSetup.using(configuration, logger: logger) { database in
            var failed: [String] = []
            let pool = PostgresPool(conninfo: database.url, maximumConnections: 1, logger: logger)
            let report = try await Migrator(schema: CoreSchema.name, migrations: CoreSchema.migrations, logger: logger).migrate(pool)
            await pool.close()
            print("itsm: schema at version \(report.currentVersion) (\(report.applied.count) applied now)")
            var environment = ProcessInfo.processInfo.environment
            environment["ITSM_DATABASE_URL"] = database.url
            for plugin in configuration.enabledPlugins {
                let command = plugin.resolvedCommand(builtInDirectory: Coordinator.executableDirectory())
                let output = try await Command.run(command[0], Array(command.dropFirst()) + ["migrate"], environment: environment)
                if output.status.isSuccess {
                    print("\(plugin.name): migrated")
                } else {
                    failed.append(plugin.name)
                    print("\(plugin.name): FAILED (\(output.status))\n\(output.text)")
                }
            }
            return failed
        }
        if !failed.isEmpty { throw ExitStatus.refused }
    }
}
