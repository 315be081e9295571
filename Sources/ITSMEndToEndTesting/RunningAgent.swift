import Foundation
import ITSMSystem

/// `itsm agent` as a test runs it: plugins on "another host" dialing a coordinator.
public final class RunningAgent: Sendable {
    public let process: ChildProcess
    public let logFile: String

    /// Starts `itsm agent <plugins> --coordinator … --token-file …` with `arguments` added
    /// (`--plaintext` unless they name `--tls-ca`); `wrapper` goes in front, e.g. `ip netns exec <host>`.
    public static func start(plugins: [String], coordinator: String, token: String, databaseURL: String,
                             name: String, arguments: [String] = [], directory: String, wrapper: [String] = []) throws -> RunningAgent {
        let tokenFile = directory + "/\(name).token"
        FileManager.default.createFile(atPath: tokenFile, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        let logFile = directory + "/agent-\(name).log"
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "ITSM_DATABASE_URL")
        let command = wrapper + [try Binaries.path("itsm"), "agent"] + plugins + [
            "--coordinator", coordinator, "--token-file", tokenFile, "--database-url", databaseURL, "--name", name,
        ] + arguments + (arguments.contains("--tls-ca") ? [] : ["--plaintext"])
        let process = try ChildProcess.spawn(.init(
            executable: command[0], arguments: Array(command.dropFirst()),
            environment: environment, workingDirectory: directory,
            standardOutput: .file(logFile), standardError: .file(logFile), newProcessGroup: true))
        return RunningAgent(process: process, logFile: logFile)
    }

    init(process: ChildProcess, logFile: String) {
        self.process = process
        self.logFile = logFile
    }

    /// The whole "host" dies at once: the agent and the plugins it started, no goodbyes.
    public func killHost() async {
        // The plugins run in process groups of their own: find them while the agent is still their parent.
        let plugins = Self.children(of: process.pid)
        process.signal(SIGKILL)
        for plugin in plugins { kill(plugin, SIGKILL) }
        _ = await process.wait()
    }

    public func stop() async -> TerminationStatus {
        await process.terminate(grace: .seconds(10))
    }

    public var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// Processes whose parent is `pid`, from /proc.
    public static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { candidate in
            guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == pid
        }
    }
}
