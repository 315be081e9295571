import Foundation
import Hummingbird
import ITSMPostgres
import ITSMProtocol
import Logging
import ServiceLifecycle
import Synchronization

/// The coordinator: supervises the enabled plugins, routes requests to them, relays events,
/// and serves the HTTP API, until SIGTERM or SIGINT.
///
/// ```swift
/// let coordinator = Coordinator(configuration: configuration, databaseURL: url, logger: logger)
/// try await coordinator.run()
/// ```
public struct Coordinator: Sendable {
    public let configuration: Configuration
    public let databaseURL: String
    public let logger: Logger

    public init(configuration: Configuration, databaseURL: String, logger: Logger) {
        self.configuration = configuration
        self.databaseURL = databaseURL
        self.logger = logger
    }

    /// The file where a running coordinator tells clients its HTTP address.
    public static func runtimeFile(dataDirectory: String) -> String { dataDirectory + "/coordinator.json" }
    public static func adminTokenFile(dataDirectory: String) -> String { dataDirectory + "/admin.token" }

    /// What `coordinator.json` holds.
    public struct RuntimeInfo: Codable, Sendable {
        public var pid: Int32
        public var http: String
    }

    public func run() async throws {
        let pool = PostgresPool(conninfo: databaseURL, maximumConnections: 10, applicationName: "itsm-coordinator", logger: logger)
        defer { Task { await pool.close() } }
        try await Migrator(schema: CoreSchema.name, migrations: CoreSchema.migrations, logger: logger).migrate(pool)
        let tokens = TokenStore(pool: pool, logger: logger)
        try await tokens.ensureAdminToken(file: Self.adminTokenFile(dataDirectory: configuration.dataDirectory))

        var settings = PluginSupervisor.Settings(databaseURL: databaseURL)
        settings.heartbeat = configuration.heartbeat
        settings.requestTimeout = configuration.requestTimeout
        settings.maxLineBytes = configuration.maxLineBytes
        settings.builtInDirectory = Self.executableDirectory()

        // The router and relay need the supervisors and the supervisors call back into them:
        // the callbacks go through this box, filled in right after.
        let links = Links()
        let logger = self.logger
        let supervisors = configuration.plugins.map { spec in
            PluginSupervisor(
                spec: spec, settings: settings, logger: logger,
                onPluginRequest: { plugin, request in
                    guard !request.method.hasPrefix("$/"), let router = links.router else {
                        throw ResponseError.methodNotFound(request.method)
                    }
                    var meta = request.meta ?? RequestMeta()
                    meta.actor = "plugin:\(plugin)"
                    return try await router.call(request.method, params: request.params, meta: meta)
                },
                onReady: { plugin, manifest in
                    links.router?.register(plugin: plugin, manifest: manifest)
                    do {
                        try await links.relay?.registerSubscriptions(subscriber: plugin, eventTypes: manifest.subscribes)
                    } catch {
                        logger.error("cannot record subscriptions", metadata: ["itsm.plugin": "\(plugin)", "itsm.error": "\(error)"])
                    }
                })
        }
        let router = MethodRouter(supervisors: supervisors)
        var relaySettings = EventRelay.Settings()
        relaySettings.retention = configuration.eventRetention
        let relay = EventRelay(pool: pool, router: router, settings: relaySettings, logger: logger)
        links.set(router: router, relay: relay)

        let api = HTTPAPI(router: router, tokens: tokens, pool: pool, maxBodyBytes: configuration.maxRequestBodyBytes, logger: logger)
        let runtimeFile = Self.runtimeFile(dataDirectory: configuration.dataDirectory)
        let application = Application(
            router: api.makeRouter(),
            configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "itsm"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.http.port
                let address = "\(configuration.http.host):\(port)"
                logger.info("HTTP API listening", metadata: ["itsm.http": "\(address)"])
                let info = RuntimeInfo(pid: getpid(), http: address)
                if let data = try? JSONEncoder().encode(info) { try? data.write(to: URL(fileURLWithPath: runtimeFile)) }
            },
            logger: logger)

        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: PluginsService(supervisors: supervisors)),
                .init(service: RelayService(relay: relay)),
                .init(service: application),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        defer { try? FileManager.default.removeItem(atPath: runtimeFile) }
        try await group.run()
        logger.info("coordinator stopped")
    }

    /// The directory of the running executable, where the built-in plugins are installed too.
    public static func executableDirectory() -> String? {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        return URL(fileURLWithPath: path).deletingLastPathComponent().path
    }
}

/// Late-bound references between the supervisors and what they call back.
private final class Links: Sendable {
    private let references = Mutex<(router: MethodRouter?, relay: EventRelay?)>((nil, nil))
    var router: MethodRouter? { references.withLock { $0.router } }
    var relay: EventRelay? { references.withLock { $0.relay } }
    func set(router: MethodRouter, relay: EventRelay) { references.withLock { $0 = (router, relay) } }
}

/// Runs every supervisor; on graceful shutdown stops the plugins before returning.
struct PluginsService: Service {
    let supervisors: [PluginSupervisor]

    func run() async throws {
        await withDiscardingTaskGroup { group in
            for supervisor in supervisors {
                group.addTask { await supervisor.run() }
            }
            group.addTask {
                try? await gracefulShutdown()
                await withDiscardingTaskGroup { stopping in
                    for supervisor in supervisors { stopping.addTask { await supervisor.stop() } }
                }
            }
        }
    }
}

/// Runs the event relay until graceful shutdown.
struct RelayService: Service {
    let relay: EventRelay

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await relay.run()
        }
    }
}
