import Foundation
import ITSMPostgres
import ITSMProtocol
import ITSMSystem
import ITSMTransport
import Logging
import Synchronization

/// One run of a plugin under a coordinator: the handshake, then requests and events until
/// `exit` or end of input.
final class PluginSession: Sendable {
    private enum Phase: Sendable {
        case awaitingInitialize
        case initializing
        /// `initialize` answered; waiting for `initialized`.
        case initialized(Runtime)
        case ready(Runtime)
        case shuttingDown
    }

    /// What handlers work with once the handshake is done.
    private struct Runtime: Sendable {
        var database: PluginDatabase
        var config: JSONValue
        /// Who holds job leases: the instance name, this process, and a random part.
        var leaseHolder: String
    }

    private let plugin: Plugin
    private let connection: JSONRPCConnection
    private let logger: Logger
    private let phase = Mutex<Phase>(.awaitingInitialize)
    /// Method and event handlers running now; `shutdown` waits for them.
    private let handlersRunning = Atomic<Int>(0)
    private let jobs = Mutex<[Task<Void, Never>]>([])
    /// Requests and events counted for `$/metrics`.
    private let figures = PluginFigures()

    private var currentPhase: Phase { phase.withLock { $0 } }

    init(plugin: Plugin, connection: JSONRPCConnection, logger: Logger) {
        self.plugin = plugin
        self.logger = logger
        self.connection = connection
    }

    func run() async {
        logger.info("plugin started", metadata: ["itsm.version": "\(plugin.version)"])
        await connection.run(
            onRawRequest: { [self] request in try await handle(request) },
            onNotification: { [self] notification in await handle(notification) })
        jobs.withLock { $0.forEach { $0.cancel() } }
        logger.info("plugin stopping: input closed")
    }

    /// Starts the plugin's scheduled jobs; they stop at shutdown or end of input. Each run
    /// first takes or renews the job's lease, so with several instances one of them runs it.
    private func startJobs(_ runtime: Runtime) {
        let tasks = plugin.jobs.map { job in
            let lease = JobLease(pool: runtime.database.pool, job: "\(plugin.name)/\(job.name)", holder: runtime.leaseHolder,
                                 duration: max(job.interval * 3, .seconds(30)))
            return Task { [self] in
                while !Task.isCancelled {
                    guard (try? await Task.sleep(for: job.interval)) != nil else { return }
                    if case .shuttingDown = currentPhase { return }
                    do {
                        guard let fence = try await lease.acquire() else {
                            logger.trace("another instance holds the job's lease", metadata: ["itsm.job": "\(job.name)"])
                            continue
                        }
                        let context = JobContext(database: runtime.database.fenced(by: fence), config: runtime.config, logger: logger,
                                                 coordinator: CoordinatorLink(connection: connection))
                        try await job.handler(context)
                    } catch {
                        logger.warning("scheduled job failed", metadata: ["itsm.job": "\(job.name)", "itsm.error": "\(error)"])
                    }
                }
            }
        }
        jobs.withLock { $0 = tasks }
    }

    // MARK: - Requests

    /// Answers a request and counts it (`$/metrics`): methods by name, events by type.
    private func handle(_ request: JSONRPCRequest) async throws -> RawJSON {
        guard request.method != ProtocolMethod.metrics else { return try RawJSON(encoding: figures.result) }
        let counted = !request.method.hasPrefix("$/") && ![ProtocolMethod.initialize, ProtocolMethod.shutdown].contains(request.method)
        let eventType = request.method == ProtocolMethod.event ? request.params?["type"]?.stringValue : nil
        guard counted || eventType != nil else { return try await answer(request) }
        let started = ContinuousClock.now
        do {
            let result = try await answer(request)
            count(request.method, eventType: eventType, outcome: "ok", since: started)
            return result
        } catch {
            count(request.method, eventType: eventType, outcome: PluginFigures.outcome(of: error), since: started)
            throw error
        }
    }

    private func count(_ method: String, eventType: String?, outcome: String, since started: ContinuousClock.Instant) {
        if let eventType { return figures.event(eventType, outcome: outcome) }
        figures.request(method, outcome: outcome, seconds: (ContinuousClock.now - started).inSeconds)
    }

    private func answer(_ request: JSONRPCRequest) async throws -> RawJSON {
        switch request.method {
        case ProtocolMethod.initialize:
            return RawJSON(try await initialize(request.params))
        case ProtocolMethod.shutdown:
            phase.withLock { $0 = .shuttingDown }
            jobs.withLock { $0.forEach { $0.cancel() } }
            // New requests are refused from now on (below); wait for the running ones.
            while handlersRunning.load(ordering: .acquiring) > 0 {
                try? await Task.sleep(for: .milliseconds(10))
            }
            return RawJSON(.object([:]))
        default:
            break
        }
        // Counted before the phase is read: shutdown sets the phase, then waits for the count,
        // so no request can slip in between.
        handlersRunning.add(1, ordering: .acquiringAndReleasing)
        defer { handlersRunning.subtract(1, ordering: .acquiringAndReleasing) }
        let runtime: Runtime
        switch currentPhase {
        case .ready(let ready):
            runtime = ready
        case .shuttingDown:
            throw ResponseError(code: .shuttingDown, kind: "plugin.shutting_down",
                                message: "\(plugin.name) is shutting down", retryable: true)
        default:
            throw ResponseError(code: .serverNotInitialized, kind: "protocol.not_initialized",
                                message: "the handshake (initialize, initialized) has not finished")
        }
        do {
            if request.method == ProtocolMethod.event {
                return RawJSON(try await deliver(request.params, runtime: runtime))
            }
            guard let handler = plugin.handler(for: request.method) else {
                throw ResponseError.methodNotFound(request.method)
            }
            var logger = self.logger
            logger[metadataKey: "itsm.method"] = "\(request.method)"
            if let requestId = request.meta?.requestId { logger[metadataKey: "itsm.request"] = "\(requestId)" }
            let context = MethodContext(
                database: runtime.database.serving(request: request.meta?.requestId), config: runtime.config, logger: logger, actor: request.meta?.actor ?? "unknown",
                principal: request.meta?.principal, idempotencyKey: request.meta?.idempotencyKey, callerContext: request.meta?.context,
                coordinator: CoordinatorLink(connection: connection, requestId: request.meta?.requestId))
            do {
                let result = try await handler(request.params, context)
                logger.debug("request handled")
                return result
            } catch let error as ResponseError {
                logger.info("request refused", metadata: ["itsm.error": "\(error.kind ?? "\(error.code)")"])
                throw error
            }
        } catch let error as PostgresError {
            throw ResponseError(databaseError: error, logger: logger, method: request.method)
        }
    }

    private func initialize(_ params: JSONValue?) async throws -> JSONValue {
        let initialize = try Plugin.decodeParams(InitializeParams.self, from: params)
        guard let version = initialize.protocolVersions.filter(ProtocolVersion.supported.contains).max() else {
            throw ResponseError(code: .invalidParams, kind: "protocol.unsupported_version",
                                message: "no common protocol version: offered \(initialize.protocolVersions), \(plugin.name) speaks \(ProtocolVersion.supported)")
        }
        // Check and claim in one step: a second initialize must not run migrations again.
        let claimed = phase.withLock { phase in
            guard case .awaitingInitialize = phase else { return false }
            phase = .initializing
            return true
        }
        guard claimed else {
            throw ResponseError(code: .invalidRequest, kind: "protocol.already_initialized", message: "initialize was already received")
        }
        let url = ProcessInfo.processInfo.environment["ITSM_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
            ?? initialize.database?.url
        guard let url else {
            phase.withLock { $0 = .awaitingInitialize }
            throw ResponseError.business(kind: "plugin.no_database",
                                         message: "\(plugin.name) needs a database: none in initialize and ITSM_DATABASE_URL is not set")
        }
        let pool = PostgresPool(conninfo: url, maximumConnections: 8, applicationName: "itsm-\(plugin.name)", logger: logger)
        do {
            try await plugin.migrate(pool, logger: logger)
        } catch let error as MigrationError {
            phase.withLock { $0 = .awaitingInitialize }
            throw ResponseError.business(kind: "plugin.migration_failed", message: "\(plugin.name): \(error)")
        } catch let error as PostgresError {
            phase.withLock { $0 = .awaitingInitialize }
            throw ResponseError(databaseError: error, logger: logger, method: ProtocolMethod.initialize)
        }
        let holder = "\(initialize.instance ?? ProcessInfo.processInfo.hostName)#\(getpid())#\(UUID().uuidString.prefix(8))"
        let runtime = Runtime(database: PluginDatabase(pool: pool, source: plugin.name), config: initialize.config ?? .object([:]),
                              leaseHolder: holder)
        phase.withLock { $0 = .initialized(runtime) }
        connection.setPeerConcurrencyLimit(initialize.limits.maxConcurrentRequests ?? JSONRPCConnection.defaultConcurrencyLimit)
        var manifest = plugin.manifest
        manifest.protocolVersion = version
        manifest.limits = .init(maxConcurrentRequests: connection.configuration.maxConcurrentRequests)
        return try JSONValue(encoding: manifest)
    }

    /// `$/event`: runs the subscriber's handler once per event id, in one transaction with the
    /// record that it ran.
    private func deliver(_ params: JSONValue?, runtime: Runtime) async throws -> JSONValue {
        let event = try Plugin.decodeParams(EventParams.self, from: params)
        // What the handler publishes carries on the request that set it off.
        let database = runtime.database.serving(request: event.requestId)
        var logger = self.logger
        logger[metadataKey: "itsm.event.type"] = "\(event.type)"
        if let requestId = event.requestId { logger[metadataKey: "itsm.request"] = "\(requestId)" }
        guard let handler = plugin.eventHandler(for: event.type) else { return ["handled": false] }
        guard let eventID = UUID(uuidString: event.id) else { throw ResponseError.invalidParams("event id must be a UUID") }
        let handled = try await database.withTransaction { transaction -> Bool in
            let fresh = try await transaction.query("""
                INSERT INTO itsm.inbox (subscriber, event_id) VALUES (\(plugin.name), \(eventID))
                ON CONFLICT DO NOTHING RETURNING event_id
                """)
            guard !fresh.isEmpty else { return false }
            do {
                try await handler(event, EventContext(transaction: transaction, database: database, config: runtime.config,
                                                      logger: logger, coordinator: CoordinatorLink(connection: connection, requestId: event.requestId)))
            } catch let error as DecodingError {
                // A payload the handler cannot read is the publisher's mistake, not a bug here:
                // say which member, as for params; it is delivered again later.
                let problem = Plugin.describe(error, root: "data")
                logger.warning("an event's payload cannot be read", metadata: ["itsm.error": "\(problem)"])
                throw ResponseError.invalidParams(problem)
            }
            return true
        }
        logger.debug(handled ? "event handled" : "event seen before")
        return ["handled": .bool(handled)]
    }

    // MARK: - Notifications

    private func handle(_ notification: JSONRPCNotification) async {
        switch notification.method {
        case ProtocolMethod.initialized:
            let ready: Runtime? = phase.withLock { phase in
                guard case .initialized(let runtime) = phase else { return nil }
                phase = .ready(runtime)
                return runtime
            }
            if let ready { startJobs(ready) }
        case ProtocolMethod.exit:
            logger.info("plugin exiting on request")
            exit(0)
        default:
            logger.debug("ignored notification", metadata: ["itsm.method": "\(notification.method)"])
        }
    }
}

extension ResponseError {
    /// A database failure as callers see it: retryable when the database is unreachable; a
    /// refusal of the value sent (too long, out of range, against a rule) as invalid params
    /// naming the column when PostgreSQL names it; otherwise an internal error. SQLSTATEs,
    /// constraint names and the server's message (it can quote data) go to the log only.
    init(databaseError error: PostgresError, logger: Logger, method: String) {
        logger.error("database error", metadata: ["itsm.method": "\(method)", "itsm.error": "\(error.debugDescription)"])
        if error.isTransient {
            self = ResponseError(code: .unavailable, kind: "database.unavailable",
                                 message: "the database is unavailable; try again", retryable: true)
            return
        }
        let field = error.column.map { "\($0): " } ?? ""
        let code = error.sqlState?.rawValue ?? ""
        let refusal: String? = switch code {
        case "22001": "a value is too long"
        case "22003": "a number is out of range"
        case "22007", "22008": "a date or time is out of range"
        case "22021": "text holds a character the database cannot store"
        case "54000": "a value is too large to store"
        case _ where code.hasPrefix("22"): "a value is not valid"
        case _ where code.hasPrefix("23") && error.sqlState != .uniqueViolation: "a value breaks a rule of the record"
        default: nil
        }
        if let refusal {
            self = .invalidParams(field + refusal)
        } else if error.sqlState == .uniqueViolation {
            self = .business(kind: "database.conflict", message: field + "a record with the same key already exists")
        } else {
            self = ResponseError(code: .internalError, kind: "database.error", message: "the database refused the request; see the plugin's log")
        }
    }
}
