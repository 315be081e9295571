import ArgumentParser
import Foundation
import Synchronization
import ITSMCoordinator
import Logging

/// Options every command takes: where the configuration and the data are.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The configuration file (default: ./itsm.yaml when it exists).")
    var config: String?

    @Option(name: .long, help: "The data directory: embedded database, admin token (default: ./.itsm, or dataDir in itsm.yaml).")
    var dataDir: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    /// The configuration file, absolute: `--config`, else `./itsm.yaml` (which may not exist yet).
    var configurationFile: String {
        URL(fileURLWithPath: config ?? "itsm.yaml").standardizedFileURL.path
    }

    /// The configuration file merged with the command line, paths made absolute.
    func loadConfiguration() throws -> Configuration {
        var configuration: Configuration
        if config != nil || FileManager.default.fileExists(atPath: configurationFile) {
            configuration = try Configuration.load(path: configurationFile)
        } else {
            configuration = Configuration()
        }
        if let dataDir { configuration.dataDirectory = dataDir }
        configuration.dataDirectory = URL(fileURLWithPath: configuration.dataDirectory).standardizedFileURL.path
        return configuration
    }

    func makeLogger(label: String = "itsm") -> Logger {
        Self.bootstrapLogging(level: logLevel, label: label)
    }

    /// Logs to stderr at `level` (or `ITSM_LOG_LEVEL`, else info). The logging system is set up
    /// once a process (swift-log traps on a second time); later calls only make a logger.
    static func bootstrapLogging(level logLevel: String?, label: String) -> Logger {
        let level = (logLevel ?? ProcessInfo.processInfo.environment["ITSM_LOG_LEVEL"]).flatMap(Logger.Level.init(rawValue:)) ?? .info
        loggingStarted.withLock { started in
            guard !started else { return }
            started = true
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        return Logger(label: label)
    }

    private static let loggingStarted = Mutex(false)
}

/// Exit codes that mean something to scripts.
enum ExitStatus {
    /// The request was refused (a business or validation error).
    static let refused = ExitCode(1)
    /// Bad usage.
    static let usage = ExitCode(2)
    /// The coordinator, a plugin or the database is unavailable: retrying later may help.
    static let unavailable = ExitCode(3)
    /// Missing or rejected credentials.
    static let unauthorized = ExitCode(4)
}
