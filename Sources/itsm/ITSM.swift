import ArgumentParser

@main
struct ITSM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "itsm",
        abstract: "An ISO/IEC 20000 service management toolkit: a coordinator and its process plugins.",
        version: "0.1.0",
        subcommands: [Serve.self, Agent.self, IncidentCommand.self, ProblemCommand.self, KnownErrorCommand.self, SupplierCommand.self, ImprovementCommand.self, NonconformityCommand.self, ObjectiveCommand.self, CapacityCommand.self, TokenCommand.self, TLSCommand.self, Call.self, Plugins.self, Events.self, Backup.self, Restore.self, PluginCommand.self, Migrate.self, Database.self, Bench.self])
}
