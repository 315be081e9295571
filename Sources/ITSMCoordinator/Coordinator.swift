import Foundation
import Hummingbird
import NIOCore
import NIOPosix
import ITSMPostgres
import ITSMProtocol
import ITSMSystem
import Logging
import ServiceLifecycle
import UnixSignals
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
    /// Read again on reload (SIGHUP or `POST /api/v1/plugins/reload`); missing means the defaults.
    public let configurationFile: String?
    public let databaseURL: String
    public let logger: Logger

    public init(configuration: Configuration, configurationFile: String? = nil, databaseURL: String, logger: Logger) {
        self.configuration = configuration
        self.configurationFile = configurationFile
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
        /// Where remote plugins dial in, when this coordinator listens for them.
        public var remotePlugins: String?

        /// What the coordinator running on `dataDirectory` wrote; nil when none is running there.
        public static func read(dataDirectory: String) -> RuntimeInfo? {
            FileManager.default.contents(atPath: runtimeFile(dataDirectory: dataDirectory))
                .flatMap { try? JSONDecoder().decode(RuntimeInfo.self, from: $0) }
        }
    }

    public func run() async throws {
        let pool = PostgresPool(conninfo: databaseURL, maximumConnections: 10, applicationName: "itsm-coordinator", logger: logger)
        defer { Task { await pool.close() } }
        try await Self.waitForDatabase(logger: self.logger) { [logger = self.logger] in
            try await Migrator(schema: CoreSchema.name, migrations: CoreSchema.migrations, logger: logger).migrate(pool)
        }
        let principals = PrincipalCache()
        let tokens = TokenStore(pool: pool, logger: logger, cache: principals)
        try await tokens.ensureAdminToken(file: Self.adminTokenFile(dataDirectory: configuration.dataDirectory))

        var settings = PluginSupervisor.Settings(databaseURL: databaseURL)
        settings.heartbeat = configuration.heartbeat
        settings.requestTimeout = configuration.requestTimeout
        settings.failedCooldown = configuration.failedCooldown
        settings.maxLineBytes = configuration.maxLineBytes
        settings.builtInDirectory = Self.executableDirectory()

        let router = MethodRouter()
        var remotePort: Int?
        let supervisorSettings = settings
        var relaySettings = EventRelay.Settings()
        relaySettings.retention = configuration.eventRetention
        let relay = EventRelay(pool: pool, router: router, settings: relaySettings, logger: logger)
        let versions = ProcessVersions(pool: pool, router: router, logger: logger)
        let accounts = AccountStore(pool: pool, directory: configuration.directory.map(DirectoryClient.init), logger: logger)
        let audit = AuditLog(pool: pool, logger: logger)
        let logger = self.logger
        let hooks = PluginHooks(
            onPluginRequest: { instance, request in
                guard !request.method.hasPrefix("$/") else { throw ResponseError.methodNotFound(request.method) }
                if request.method == PeopleContacts.method {
                    let (_, principal) = try PluginCallAuthorization.authorize(request, from: instance, router: router)
                    return RawJSON(try await PeopleContacts.answer(request.params, principal: principal.0, accounts: accounts, logger: logger))
                }
                let change = { () async -> Result<RawJSON, ResponseError> in
                    do throws(ResponseError) {
                        let (meta, principal) = try PluginCallAuthorization.authorize(request, from: instance, router: router)
                        return .success(try await router.callRaw(request.method, params: request.params, meta: meta, principal: principal))
                    } catch {
                        return .failure(error)
                    }
                }
                // A change a plugin makes through another process, or is refused, is audited like one through the API.
                guard let permission = router.route(for: request.method)?.descriptor.permission, AuditLog.audits(permission: permission) else {
                    return try await change().get()
                }
                return try await audit.recording(
                    actor: PluginCallAuthorization.actor(of: request, from: instance, router: router), action: request.method,
                    params: request.params, clientAddress: nil, requestId: request.meta?.requestId, change).get()
            },
            onReady: { instance, manifest in
                let refused = router.register(instance, manifest: manifest)
                if !refused.isEmpty {
                    logger.error("methods or routes refused: another process's namespace or path, or declared by another plugin first",
                                 metadata: ["itsm.plugin": "\(instance.pluginName)", "itsm.refused": "\(refused)"])
                }
                await versions.admit(instance, manifest: manifest)
                do {
                    let given = try await accounts.applyDefaultGrants(manifest.permissions ?? [])
                    if !given.isEmpty {
                        await audit.append(AuditLog.Record(actor: "plugin:\(instance.pluginName)", action: "role.default_grants",
                                                           details: ["given": .array(given.map(JSONValue.string))]))
                    }
                } catch {
                    logger.error("could not give the plugin's permissions to their default roles",
                                 metadata: ["itsm.plugin": "\(instance.pluginName)", "itsm.error": "\(String(reflecting: error))"])
                }
            })
        let fleet = PluginFleet(router: router, logger: logger) { spec, instance in
            PluginSupervisor(spec: spec, instance: instance, settings: supervisorSettings, logger: logger, hooks: hooks)
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let address = configuration.remotePluginAddress {
            if let file = configuration.remotePluginTokenFile {
                let token: String
                do {
                    token = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                } catch {
                    throw CoordinatorError("remotePlugins.tokenFile: cannot read \(file): \(error.localizedDescription)")
                }
                let recorded = try await tokens.provision(name: "remote-plugins", token: token, permissions: ["attach.*"])
                logger.info("plugin-host token recorded", metadata: ["itsm.token.name": "\(recorded)"])
            }
            let server: NIOAsyncChannel<PluginLink, Never>
            do {
                server = try await RemotePluginListener.bind(address, security: configuration.remotePluginSecurity,
                                                             maxLineBytes: configuration.maxLineBytes,
                                                             attachTimeout: configuration.remotePluginAttachTimeout)
            } catch {
                throw CoordinatorError("cannot listen for remote plugins on \(address): \(error)")
            }
            let remote = RemotePluginListener(
                server: server, fleet: fleet, router: router, tokens: tokens,
                handshake: PluginHandshake(settings: supervisorSettings, logger: logger), hooks: hooks, logger: logger)
            let security = if case .tls = configuration.remotePluginSecurity { "tls" } else { "plaintext" }
            logger.info("listening for remote plugins", metadata: [
                "itsm.remote.listen": "\(address.host):\(remote.port)", "itsm.remote.security": "\(security)",
            ])
            remotePort = remote.port
            services.append(.init(service: RemotePluginsService(listener: remote)))
        }
        await fleet.apply(configuration)
        let reload = Reloader(fleet: fleet, file: configurationFile, running: configuration, logger: logger)

        let metrics = CoordinatorMetrics.bootstrap()
        let sessions = SessionStore(pool: pool, idleTimeout: configuration.sessionIdleTimeout,
                                    absoluteTimeout: configuration.sessionAbsoluteTimeout)
        var api = HTTPAPI(router: router, tokens: tokens, accounts: accounts, sessions: sessions, audit: audit, pool: pool, reload: reload.callAsFunction,
                          restart: { name in await fleet.restart(plugin: name) },
                          changeConfiguration: reload.change(_:),
                          upgrade: versions.upgrade(_:to:by:),
                          maxBodyBytes: configuration.httpLimits.maximumBodyBytes, logger: logger)
        api.metrics = metrics
        api.trustedProxies = configuration.trustedProxies
        let runtimeFile = Self.runtimeFile(dataDirectory: configuration.dataDirectory)
        let remoteAddress = remotePort.map { "\(configuration.remotePluginAddress!.host):\($0)" }
        let limits = configuration.httpLimits
        let connections = HTTPConnectionCount()
        let application = Application(
            router: api.makeRouter(),
            server: .http1(configuration: .init(
                additionalChannelHandlers: [HTTPConnectionGuard(limits: limits, count: connections)], idleTimeout: TimeAmount(limits.idleTimeout))),
            configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "itsm"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.http.port
                let address = "\(configuration.http.host):\(port)"
                logger.info("HTTP API listening", metadata: ["itsm.http": "\(address)"])
                let info = RuntimeInfo(pid: getpid(), http: address, remotePlugins: remoteAddress)
                if let data = try? JSONEncoder().encode(info) { try? data.write(to: URL(fileURLWithPath: runtimeFile)) }
            },
            logger: logger)

        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: PluginsService(fleet: fleet, reload: reload)),
                .init(service: RelayService(relay: relay)),
                .init(service: PrincipalCacheService(cache: principals, conninfo: databaseURL, logger: logger)),
                .init(service: VersionsService(versions: versions)),
                .init(service: SessionSweepService(sessions: sessions, logger: logger)),
                .init(service: AuditSettlementService(audit: audit, requestTimeout: configuration.requestTimeout, logger: logger)),
                .init(service: AuditMonthsService(audit: audit, logger: logger)),
            ] + services + [.init(service: application)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        defer { try? FileManager.default.removeItem(atPath: runtimeFile) }
        try await group.run()
        await audit.settled()
        logger.info("coordinator stopped")
        #if DEBUG
        if SchemaViolations.total > 0 {
            throw CoordinatorError("\(SchemaViolations.total) events broke the schema their publisher declared; see the log")
        }
        #endif
    }

    /// The directory of the running executable, where the built-in plugins are installed too.
    public static func executableDirectory() -> String? {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        return URL(fileURLWithPath: path).deletingLastPathComponent().path
    }
}

/// Reads the configuration file again and applies its plugin list.
struct Reloader: Sendable {
    let fleet: PluginFleet
    let file: String?
    /// What the coordinator started with: settings other than plugins apply only at start.
    let running: Configuration
    let logger: Logger

    func callAsFunction() async throws(ResponseError) -> PluginFleet.Changes {
        var next = Configuration()
        if let file, FileManager.default.fileExists(atPath: file) {
            do {
                next = try Configuration.load(path: file)
            } catch {
                logger.error("reload refused: the configuration does not load", metadata: ["itsm.error": "\(error)"])
                throw ResponseError(code: .invalidParams, kind: "config.invalid",
                                    message: "the configuration was not reloaded: \(error)")
            }
        }
        var changes = await fleet.apply(next)
        changes.restartRequired = [
            ("database", next.databaseURL != running.databaseURL && next.databaseURL != nil),
            ("heartbeatMs", next.heartbeat != running.heartbeat),
            ("requestTimeoutMs", next.requestTimeout != running.requestTimeout),
            ("maxLineBytes", next.maxLineBytes != running.maxLineBytes),
            ("failedCooldownSeconds", next.failedCooldown != running.failedCooldown),
            ("eventRetentionDays", next.eventRetention != running.eventRetention),
        ].filter(\.1).map(\.0)
        return changes
    }
}

/// A change the coordinator makes to its configuration file on someone's behalf: only the line
/// or setting it names changes, then the file is applied.
public enum ConfigurationChange: Sendable {
    /// A process switched on or off, as `itsm plugins enable|disable` does.
    case enabled(plugin: String, Bool)
    /// One setting of a process's `config:` (the incident process's priority matrix, say).
    case setting(plugin: String, key: String, value: JSONValue)
}

extension Reloader {
    /// Makes `change` in the configuration file, then applies the file.
    func change(_ change: ConfigurationChange) async throws(ResponseError) -> PluginFleet.Changes {
        guard let file else {
            throw ResponseError(code: .invalidParams, kind: "config.none",
                                message: "this coordinator runs without a configuration file: change the setting there and restart it")
        }
        let field: String
        do {
            switch change {
            case .enabled(let name, let enabled):
                field = "name"
                let listed = FileManager.default.fileExists(atPath: file) ? (try? Configuration.load(path: file))?.plugins.map(\.name) ?? [] : []
                guard PluginSpec.builtInNames.contains(name) || listed.contains(name) else {
                    throw ResponseError.invalidParams("name: '\(name.prefix(100))' is neither a built-in process (\(PluginSpec.builtInNames.sorted().joined(separator: ", "))) nor listed in \(file)")
                }
                _ = try ConfigurationEditor.setEnabled(enabled, plugin: name, file: file)
            case .setting(let name, let key, let value):
                field = "config.\(key)"
                let edit = try ConfigurationEditor.setConfig(key, to: value, plugin: name, in: try String(contentsOfFile: file, encoding: .utf8))
                if edit.changed { try ConfigurationEditor.write(edit, to: file) }
            }
        } catch let error as ResponseError {
            throw error
        } catch let error as CoordinatorError {
            throw ResponseError(code: .invalidParams, kind: "config.invalid", message: "\(field): \(error.description)")
        } catch {
            throw ResponseError(code: .unavailable, kind: "config.unwritable", message: "\(file) could not be written: \(error)")
        }
        return try await self()
    }
}

/// Runs the plugins; reloads on SIGHUP; on graceful shutdown stops the plugins before returning.
struct PluginsService: Service {
    let fleet: PluginFleet
    let reload: Reloader

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await _ in hangups {
                    reload.logger.notice("SIGHUP: reloading the plugin list")
                    _ = try? await reload()
                }
            }
            group.addTask {
                try? await gracefulShutdown()
                await fleet.stopAll()
            }
            await fleet.run()
            group.cancelAll()
        }
    }
}

/// Accepts remote plugin instances until graceful shutdown.
struct RemotePluginsService: Service {
    let listener: RemotePluginListener

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await listener.run()
        }
    }
}

/// Follows version switches made by other coordinators until graceful shutdown.
struct VersionsService: Service {
    let versions: ProcessVersions

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await versions.watch()
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

/// Keeps the token cache's listener until graceful shutdown.
struct PrincipalCacheService: Service {
    let cache: PrincipalCache
    let conninfo: String
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await cache.follow(conninfo: conninfo, logger: logger)
        }
    }
}

/// Removes ended sessions every 10 minutes, so the table holds only live ones.
struct SessionSweepService: Service {
    let sessions: SessionStore
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await sessions.sweep() } catch {
                    logger.warning("could not remove ended sessions", metadata: ["itsm.error": "\(String(reflecting: error))"])
                }
                try? await Task.sleep(for: .seconds(600))
            }
        }
    }
}

/// Makes the audit log's months ahead, at start and then hourly.
struct AuditMonthsService: Service {
    let audit: AuditLog
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await audit.ensureMonths() } catch {
                    logger.warning("could not make the audit log's next months", metadata: ["itsm.error": "\(String(reflecting: error))"])
                }
                try? await Task.sleep(for: .seconds(3600))
            }
        }
    }
}

/// Appends the audit intents of changes whose coordinator stopped before recording how they
/// ended. An intent is settled once it is older than any request can live: twice the request
/// timeout, plus time for the outcome to be written.
struct AuditSettlementService: Service {
    let audit: AuditLog
    let requestTimeout: Duration
    let logger: Logger

    func run() async throws {
        let age = requestTimeout * 2 + .seconds(5)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await audit.settleUnfinished(olderThan: age) } catch {
                    logger.warning("could not settle unfinished audit entries", metadata: ["itsm.error": "\(String(reflecting: error))"])
                }
                try? await Task.sleep(for: min(age / 2, .seconds(30)))
            }
        }
    }
}

extension Coordinator {
    /// Fails at once, naming the setting, when an address this coordinator will listen on is
    /// taken, instead of after the database and every plugin have started. (Another program
    /// could still take it in between; then the bind itself fails, later.)
    public static func checkListenAddressesFree(_ configuration: Configuration) async throws {
        var addresses = [("http", configuration.http)]
        if let remote = configuration.remotePluginAddress { addresses.append(("remotePlugins.listen", remote)) }
        for (setting, address) in addresses where address.port != 0 {
            do {
                let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .bind(host: address.host, port: address.port).get()
                try await probe.close()
            } catch {
                let reason = (error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(error)"
                throw CoordinatorError("\(setting): cannot listen on \(address): \(reason); another itsm serve or another program holds it, or choose another address (--http, or \(setting) in itsm.yaml)")
            }
        }
    }
}

extension Coordinator {
    /// How long a starting coordinator waits for an unreachable database before giving up.
    public static let databaseStartupWait: Duration = .seconds(60)

    /// Runs `work` (the first thing that needs the database), again while the database is
    /// unreachable (still starting, restarting, in recovery), for at most `databaseStartupWait`:
    /// a coordinator started next to a restarting database, by systemd or Kubernetes, waits for
    /// it instead of exiting. Errors that retrying cannot fix are thrown at once.
    public static func waitForDatabase(logger: Logger, _ work: () async throws -> Void) async throws {
        let deadline = ContinuousClock.now + databaseStartupWait
        var backoff = Duration.milliseconds(250)
        while true {
            do {
                return try await work()
            } catch let error as PostgresError where error.isTransient && ContinuousClock.now + backoff < deadline {
                // The operator's log: the server's or libpq's words, which say what to fix.
                logger.warning("the database is not reachable yet; trying again", metadata: [
                    "itsm.error": "\(String(reflecting: error))", "itsm.retry.in": "\(backoff)",
                ])
                try await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }
}
