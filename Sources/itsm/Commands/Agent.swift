import ArgumentParser
import Foundation
import ITSMCoordinator
import UnixSignals

/// `itsm agent`: one command per plugin host.
struct Agent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run plugins on this host and connect them to the coordinators over TCP.",
        discussion: """
            Each plugin instance dials every coordinator listed (remotePlugins.listen in their \
            itsm.yaml) with a token holding attach.<plugin>, and is restarted and reconnected \
            with backoff whenever the plugin or the link ends. Give a configuration file \
            (docs/operations.md shows one), or the plugins and options on the command line:

              itsm agent incident problem --coordinator 10.0.0.5:7411 --token-file /etc/itsm/agent.token \\
                --tls-ca /etc/itsm/tls/ca.pem --database-url postgresql://itsm@10.0.0.9/itsm

            With --status-file, the agent keeps its status in that file; 'itsm agent --probe \
            --status-file FILE' exits 0 while the agent keeps it fresh (a liveness probe).
            """)

    @Option(name: .long, help: "The agent's configuration file.")
    var config: String?

    @Option(name: .long, help: "A coordinator to dial, HOST:PORT; repeat for several.")
    var coordinator: [String] = []

    @Option(name: .long, help: "The file holding the token (attach.<plugin> or attach.*).")
    var tokenFile: String?

    @Option(name: .long, help: "The database the plugins use (ITSM_DATABASE_URL); default: the environment's.")
    var databaseURL: String?

    @Option(name: .long, help: "Instances of each plugin named on the command line.")
    var instances: Int = 1

    @Option(name: .long, help: "Names this host's instances, e.g. plugin-host-b (default: the host name).")
    var name: String?

    @Option(name: .long, help: "The CA that signed the coordinators' certificates (PEM), for TLS on the link.")
    var tlsCa: String?

    @Option(name: .long, help: "This host's certificate (PEM), when the coordinators require mutual TLS.")
    var tlsCertificate: String?

    @Option(name: .long, help: "The key of --tls-certificate (PEM).")
    var tlsKey: String?

    @Flag(name: .long, help: "Plain TCP to the coordinators: the token crosses the network in clear. Only on a network you trust completely.")
    var plaintext = false

    @Option(name: .long, help: "How often each coordinator's name is looked up again, in seconds (default 30).")
    var coordinatorLookupSeconds: Int?

    @Option(name: .long, help: "Where the agent keeps its status for a liveness probe (see --probe).")
    var statusFile: String?

    @Flag(name: .long, help: "Check a running agent instead: exit 0 if it wrote --status-file within --max-age.")
    var probe = false

    @Option(name: .long, help: "With --probe: the oldest status accepted, in seconds.")
    var maxAge: Int = 30

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Argument(help: "Built-in plugins to run (incident, problem, …), added to those in the configuration file.")
    var plugins: [String] = []

    func run() async throws {
        var configuration = AgentConfiguration()
        if let config { configuration = try AgentConfiguration.load(path: config) }
        if let statusFile { configuration.statusFile = statusFile }
        if probe {
            guard let statusFile = configuration.statusFile else { throw ValidationError("--probe needs --status-file (or statusFile in --config)") }
            switch AgentStatus.check(path: statusFile, maximumAge: .seconds(maxAge)) {
            case .success(let status):
                print("alive (pid \(status.pid)): \(status.attached) of \(status.links) links attached")
                return
            case .failure(let error):
                print(error)
                throw ExitCode(1)
            }
        }
        if let coordinatorLookupSeconds {
            guard coordinatorLookupSeconds >= 1 else { throw ValidationError("--coordinator-lookup-seconds must be at least 1") }
            configuration.coordinatorLookup = .seconds(coordinatorLookupSeconds)
        }
        configuration.coordinators += try coordinator.map { try Configuration.HTTPAddress(parsing: $0) }
        if let tokenFile { configuration.tokenFile = tokenFile }
        if let databaseURL { configuration.databaseURL = databaseURL }
        if let name { configuration.name = name }
        if plaintext || tlsCa != nil || tlsCertificate != nil || tlsKey != nil {
            var tls: [String: Any] = [:]
            tls["ca"] = tlsCa
            tls["certificate"] = tlsCertificate
            tls["key"] = tlsKey
            do {
                configuration.security = try PluginLinkSecurity.parse(tls: tls.isEmpty ? nil : tls, plaintext: plaintext ? true : nil,
                                                                      section: "", role: .client)
            } catch {
                throw ValidationError("\(error)".replacingOccurrences(of: "tls.", with: "--tls-"))
            }
        }
        guard instances >= 1 else { throw ValidationError("--instances must be at least 1") }
        for plugin in plugins {
            guard PluginSpec.builtInNames.contains(plugin) else {
                throw ValidationError("'\(plugin)' is not a built-in process; list custom plugins with their command in the configuration file")
            }
            var spec = PluginSpec(name: plugin)
            spec.instances = instances
            configuration.plugins.append(spec)
        }
        do {
            try configuration.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        let logger = GlobalOptions.bootstrapLogging(level: logLevel, label: "itsm.agent")
        let agent = PluginAgent(configuration: configuration, logger: logger)
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await agent.run() }
            group.addTask {
                for await signal in signals {
                    logger.notice("stopping the agent", metadata: ["itsm.signal": "\(signal)"])
                    return
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}
