import ArgumentParser
import ITSMPostgres

@main
enum Main {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        // `itsm change create …`: a process with no built-in command gets one from its schemas.
        if ProcessCommand.handles(arguments) {
            await ProcessCommand.run(arguments)
            return
        }
        do {
            var command = try ITSM.parseAsRoot(arguments)
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch let error as PostgresError {
            // The operator's own terminal: the server's message, not only its SQLSTATE.
            ITSM.exit(withError: DatabaseFailure(description: error.debugDescription))
        } catch {
            ITSM.exit(withError: error)
        }
    }
}

struct DatabaseFailure: Error, CustomStringConvertible {
    var description: String
}

struct ITSM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "itsm",
        abstract: "An ISO/IEC 20000 service management toolkit: a coordinator and its process plugins.",
        version: "0.1.0",
        subcommands: [Serve.self, Agent.self, IncidentCommand.self, ProblemCommand.self, KnownErrorCommand.self, SupplierCommand.self, ImprovementCommand.self, NonconformityCommand.self, ObjectiveCommand.self, CapacityCommand.self, TokenCommand.self, UserCommand.self, RoleCommand.self, GroupCommand.self, AuditCommand.self, TLSCommand.self, Call.self, Plugins.self, Events.self, Report.self, Backup.self, Restore.self, PluginCommand.self, Migrate.self, Database.self, Bench.self])
}
