import ITSMSystem

/// Runs a short-lived PostgreSQL program (initdb, pg_ctl) to completion, as the server's OS
/// user when we are root: PostgreSQL refuses to run as root.
struct CommandRunner: Sendable {
    /// When set, commands run as this user through `setpriv`, which execs in place.
    var runAsUser: String?

    func run(_ executable: String, _ arguments: [String]) async throws -> Command.Output {
        let line = commandLine(executable, arguments)
        return try await Command.run(line[0], Array(line.dropFirst()))
    }

    /// The program and arguments that run `executable` as `runAsUser`.
    func commandLine(_ executable: String, _ arguments: [String]) -> [String] {
        guard let runAsUser else { return [executable] + arguments }
        return ["/usr/bin/setpriv", "--reuid=\(runAsUser)", "--regid=\(runAsUser)", "--init-groups", "--", executable] + arguments
    }
}
