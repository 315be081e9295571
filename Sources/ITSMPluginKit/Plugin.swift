import Foundation
import ITSMPostgres
import ITSMProtocol
import ITSMTransport
import Logging

/// A process plugin written in Swift: declare methods and subscriptions, then `run()`.
///
/// ```swift
/// var plugin = Plugin(name: "incident", version: "0.1.0", schema: "incident", migrations: IncidentSchema.migrations)
/// plugin.method("incident.get", permission: "incident.read", idempotent: true) { (params: GetParams, context) in
///     try await IncidentStore(context.database).get(params)
/// }
/// await plugin.run()
/// ```
///
/// `run()` speaks the protocol on stdin/stdout (docs/protocol.md), logs JSON lines to stderr,
/// connects to the database named in `initialize` (or `ITSM_DATABASE_URL`), applies the
/// plugin's migrations, and exits on `exit` or end of input. `itsm-<name> migrate` applies
/// the migrations and exits; `itsm-<name> manifest` prints the manifest.
public struct Plugin: Sendable {
    public typealias MethodHandler = @Sendable (JSONValue?, MethodContext) async throws -> RawJSON
    public typealias EventHandler = @Sendable (EventParams, EventContext) async throws -> Void

    public let name: String
    public let version: String
    public let schema: String?
    public let migrations: [Migration]
    /// Event types this plugin writes to the outbox, for the manifest.
    public var publishes: [String] = []
    /// The payload schema of each published type declared with `publishes(_:)`.
    var eventSchemas: [String: JSONSchema] = [:]
    /// Other processes' methods this plugin calls (names or patterns, e.g. `incident.get`,
    /// `*.stats`), for the manifest: the coordinator refuses calls not declared here.
    public var calls: [String] = []
    /// Permissions the plugin checks itself, with the roles that get them by default.
    private(set) var permissions: [PermissionDescriptor] = []
    private(set) var methods: [String: (descriptor: MethodDescriptor, handler: MethodHandler)] = [:]
    private(set) var methodOrder: [String] = []
    private(set) var subscriptions: [String: EventHandler] = [:]
    private(set) var jobs: [Job] = []

    /// Work the plugin does on its own, every `interval`, once the handshake is done.
    public typealias JobHandler = @Sendable (JobContext) async throws -> Void

    struct Job: Sendable {
        var name: String
        var interval: Duration
        var handler: JobHandler
    }

    public init(name: String, version: String, schema: String? = nil, migrations: [Migration] = []) {
        self.name = name
        self.version = version
        self.schema = schema
        self.migrations = migrations
    }

    /// Declares a method of the process's contract (`IncidentMethods.get`): its name, params and
    /// result types are the contract's.
    public mutating func method<Params, Result>(
        _ method: MethodType<Params, Result>, permission: String, idempotent: Bool = false, description: String? = nil,
        routes: [HTTPRoute] = [], _ handler: @escaping @Sendable (Params, MethodContext) async throws -> Result
    ) {
        self.method(method.name, permission: permission, idempotent: idempotent, description: description, routes: routes, handler)
    }

    /// Declares a method with typed params and result, and the REST routes that call it
    /// besides `POST /api/v1/rpc/<name>`.
    public mutating func method<Params: Decodable & Sendable, Result: Encodable & Sendable>(
        _ name: String, permission: String, idempotent: Bool = false, description: String? = nil, routes: [HTTPRoute] = [],
        _ handler: @escaping @Sendable (Params, MethodContext) async throws -> Result
    ) {
        precondition(methods[name] == nil, "method \(name) declared twice")
        let descriptor = MethodDescriptor(name: name, permission: permission, idempotent: idempotent, description: description,
                                          params: SchemaInference.schema(of: Params.self),
                                          result: SchemaInference.resultSchema(of: Result.self), routes: routes.isEmpty ? nil : routes)
        methods[name] = (descriptor, { params, context in
            let decoded = try Self.decodeParams(Params.self, from: params)
            // Written once, straight to the line's text.
            return try RawJSON(encoding: try await handler(decoded, context))
        })
        methodOrder.append(name)
    }

    /// Declares a permission the plugin checks itself (through `MethodContext.principal`), for
    /// what the methods' permissions do not say: which records a person sees, say.
    /// `grantedTo` names roles that get it by default.
    public mutating func permission(_ name: String, _ description: String, grantedTo roles: [String] = []) {
        precondition(!permissions.contains { $0.name == name }, "permission \(name) declared twice")
        permissions.append(PermissionDescriptor(name: name, description: description, grantedTo: roles.isEmpty ? nil : roles))
    }

    /// Declares an event type the plugin publishes, with its payload's schema.
    public mutating func publishes<Payload>(_ event: EventType<Payload>) {
        if !publishes.contains(event.name) { publishes.append(event.name) }
        eventSchemas[event.name] = event.payloadSchema
    }

    /// Subscribes to an event type. The handler runs in a transaction that also marks the
    /// event processed, so a redelivered event is skipped: effects happen once.
    public mutating func subscribe(_ eventType: String, _ handler: @escaping EventHandler) {
        subscriptions[eventType] = handler
    }

    /// Subscribes to an event type another process declares in its contract module, with its
    /// payload decoded as that process publishes it. A payload that does not decode is refused
    /// with -32602 naming the member (and delivered again later), as any event handler's is.
    public mutating func subscribe<Payload>(_ eventType: EventType<Payload>,
                                            _ handler: @escaping @Sendable (Payload, EventParams, EventContext) async throws -> Void) {
        subscribe(eventType.name) { event, context in
            try await handler(try eventType.decode(event.data), event, context)
        }
    }

    /// Runs `handler` every `interval` while the plugin is ready; a failure is logged and the
    /// next run happens as usual. With several instances, on any hosts, one of them runs it at a
    /// time: it holds the job's lease (`itsm.job_lease`), and its transactions are refused once
    /// another instance has taken the lease over (fencing). Calls through the coordinator are
    /// outside that fence: give them an idempotency key.
    public mutating func every(_ interval: Duration, name: String, _ handler: @escaping JobHandler) {
        jobs.append(Job(name: name, interval: interval, handler: handler))
    }

    /// The manifest sent in answer to `initialize`.
    public var manifest: InitializeResult {
        InitializeResult(
            plugin: PeerInfo(name: name, version: version),
            methods: methodOrder.compactMap { methods[$0]?.descriptor },
            subscribes: subscriptions.keys.sorted(), publishes: publishes, schema: schema, calls: calls.isEmpty ? nil : calls,
            eventSchemas: eventSchemas.isEmpty ? nil : eventSchemas, permissions: permissions.isEmpty ? nil : permissions)
    }

    /// Runs the plugin until the coordinator says `exit` or closes stdin, then exits the process.
    public func run() async -> Never {
        let arguments = CommandLine.arguments.dropFirst()
        LoggingSystem.bootstrap { label in JSONLinesLogHandler(label: label) }
        var logger = Logger(label: "itsm.plugin.\(name)")
        logger[metadataKey: "itsm.plugin"] = "\(name)"
        for method in manifest.methods where method.params == nil {
            logger.warning("no params schema: its params type could not be probed; give the type JSONSchemaProviding",
                           metadata: ["itsm.method": "\(method.name)"])
        }
        switch arguments.first {
        case "migrate":
            exit(await migrateFromEnvironment(logger: logger) ? 0 : 1)
        case "manifest":
            let data = (try? JSONCoding.encoder.encode(manifest)) ?? Data()
            FileHandle.standardOutput.write(data + Data("\n".utf8))
            exit(0)
        case .some(let other):
            FileHandle.standardError.write(Data("usage: itsm-\(name) [migrate|manifest]; unknown argument '\(other)'\n".utf8))
            exit(2)
        case .none:
            break
        }
        // Keep the protocol on a private copy of stdout and point fd 1 at stderr, so a stray
        // print() cannot corrupt the protocol stream.
        let protocolOutput = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0)
        dup2(STDERR_FILENO, STDOUT_FILENO)
        let connection: JSONRPCConnection
        do {
            connection = try await .overPipes(input: STDIN_FILENO, output: protocolOutput,
                                              configuration: .init(peerName: "coordinator"), logger: logger)
        } catch {
            logger.critical("stdin and stdout must be pipes or sockets from the coordinator or itsm agent: \(error)")
            exit(1)
        }
        let session = PluginSession(plugin: self, connection: connection, logger: logger)
        await session.run()
        exit(0)
    }

    /// Applies migrations against `ITSM_DATABASE_URL`; false (and logged) on failure.
    func migrateFromEnvironment(logger: Logger) async -> Bool {
        guard let url = ProcessInfo.processInfo.environment["ITSM_DATABASE_URL"], !url.isEmpty else {
            logger.error("ITSM_DATABASE_URL is not set; itsm migrate sets it for each plugin")
            return false
        }
        let pool = PostgresPool(conninfo: url, maximumConnections: 1, applicationName: "itsm-\(name)", logger: logger)
        defer { Task { await pool.close() } }
        do {
            try await migrate(pool, logger: logger)
            return true
        } catch {
            logger.error("migration failed", metadata: ["itsm.error": "\(String(reflecting: error))"])
            return false
        }
    }

    func migrate(_ pool: PostgresPool, logger: Logger) async throws {
        guard let schema, !migrations.isEmpty else { return }
        try await Migrator(schema: schema, migrations: migrations, logger: logger).migrate(pool)
    }

    func handler(for method: String) -> MethodHandler? { methods[method]?.handler }
    func eventHandler(for type: String) -> EventHandler? { subscriptions[type] }

    static func decodeParams<Params: Decodable>(_ type: Params.Type, from params: JSONValue?) throws -> Params {
        // By name only: a type without members would otherwise take any value.
        if let params, params.objectValue == nil { throw ResponseError.invalidParams("params: must be an object") }
        do {
            return try (params ?? .object([:])).decode(Params.self)
        } catch let error as DecodingError {
            throw ResponseError.invalidParams(describe(error))
        }
    }

    /// "title: missing", "impact: expected String" — enough for a caller to fix the request.
    /// `root` names what was decoded when it is not the params (`data`, an event's payload).
    static func describe(_ error: DecodingError, root: String? = nil) -> String {
        func path(_ context: DecodingError.Context, _ key: (any CodingKey)? = nil) -> String {
            let keys = (context.codingPath + (key.map { [$0] } ?? [])).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            let joined = keys.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
            guard let root else { return keys.isEmpty ? "params" : joined }
            return keys.isEmpty ? root : "\(root).\(joined)".replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context, key)): required but missing"
        case .typeMismatch(let type, let context): return "\(path(context)): expected \(type)"
        case .valueNotFound(let type, let context): return "\(path(context)): expected \(type), got null"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "invalid params"
        }
    }
}
