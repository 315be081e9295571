import ArgumentParser
import Foundation
import ITSMCoordinator
import ITSMPostgres
import Logging

/// `itsm plugin ...`: tools for plugin authors.
struct PluginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugin",
        abstract: "Tools for plugin authors.",
        subcommands: [Check.self, PluginNew.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a plugin executable through the protocol and report each rule; exits 1 if any fails.",
            discussion: """
                Example: itsm plugin check -- python3 my_plugin.py
                The plugin gets a throwaway PostgreSQL database (created and removed here) unless \
                --database names one. Put this in your plugin's CI.
                """)

        @Option(help: "A database for the plugin to use (default: a throwaway cluster).") var database: String?
        @Flag(help: "Print the results as JSON.") var json = false
        @Argument(parsing: .remaining, help: "The plugin's command and arguments.") var command: [String]

        func validate() throws {
            guard !command.isEmpty else { throw ValidationError("give the plugin's command, e.g. itsm plugin check -- ./my-plugin") }
        }

        func run() async throws {
            var logger = Logger(label: "itsm.plugin-check")
            logger.logLevel = .warning
            let outcomes = try await ThrowawayDatabase.with(url: database, logger: logger) { url in
                let pool = PostgresPool(conninfo: url, maximumConnections: 1, logger: logger)
                try await Migrator(schema: CoreSchema.name, migrations: CoreSchema.migrations, logger: logger).migrate(pool)
                await pool.close()
                return await PluginChecker(command: command, databaseURL: url).run()
            }

            if json {
                let data = try JSONEncoder().encode(outcomes)
                print(String(decoding: data, as: UTF8.self))
            } else {
                var rows = [["RULE", "RESULT", "DETAIL"]]
                for outcome in outcomes { rows.append([outcome.rule, outcome.passed ? "pass" : "FAIL", outcome.detail]) }
                print(table(rows))
                let failed = outcomes.filter { !$0.passed }.count
                print(failed == 0 ? "\nall \(outcomes.count) rules pass" : "\n\(failed) of \(outcomes.count) rules fail")
            }
            if outcomes.contains(where: { !$0.passed }) { throw ExitStatus.refused }
        }
    }
}
