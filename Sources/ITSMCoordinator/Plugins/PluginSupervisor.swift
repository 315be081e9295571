import Foundation
import ITSMPostgres
import ITSMProtocol
import ITSMSystem
import ITSMTransport
import Logging
import Synchronization

/// Keeps one local instance of a plugin running: spawns the process, runs the handshake,
/// forwards its stderr to our log, pings it, and restarts it with exponential backoff when it
/// exits or hangs. After `maximumCrashes` crashes within `crashWindow` it gives up and reports
/// the instance failed.
///
/// Requests in flight when the process dies fail with a retryable `unavailable` error.
public actor PluginSupervisor: PluginInstance {
    public struct Settings: Sendable {
        public var coordinator = PeerInfo(name: "itsm-coordinator", version: CoordinatorVersion.current)
        public var databaseURL: String
        public var heartbeat: Duration = .seconds(5)
        public var requestTimeout: Duration = .seconds(30)
        public var handshakeTimeout: Duration = .seconds(60)
        public var maxLineBytes = 1 << 20
        public var maximumCrashes = 5
        public var crashWindow: Duration = .seconds(60)
        public var initialBackoff: Duration = .milliseconds(250)
        public var maximumBackoff: Duration = .seconds(30)
        public var shutdownGrace: Duration = .seconds(5)
        /// How long a `failed` instance waits before it tries again from the shortest delay.
        public var failedCooldown: Duration = .seconds(300)
        /// Where the built-in `itsm-<name>` executables are.
        public var builtInDirectory: String?

        public init(databaseURL: String) { self.databaseURL = databaseURL }
    }

    public nonisolated let spec: PluginSpec
    /// `local-1`, `local-2`, … when the configuration asks for several instances.
    public nonisolated let instance: String
    private let settings: Settings
    private let logger: Logger
    private let hooks: PluginHooks
    private nonisolated let ready = Mutex<JSONRPCConnection?>(nil)

    private var status: PluginStatus
    private var current: (process: ChildProcess, connection: JSONRPCConnection)?
    private var crashTimes: [ContinuousClock.Instant] = []
    private var isStopping = false
    /// The wait before the next restart, cut short by `stop()`.
    private var backoffWait: Task<Void, Never>?
    /// Why the current run is ending (a failed handshake, missed heartbeats), when we know better
    /// than its exit status. `status.lastError` keeps the previous run's reason until this one ends,
    /// so an operator sees why a running plugin restarted.
    private var stopReason: String?

    public init(spec: PluginSpec, instance: String = "local-1", settings: Settings, logger: Logger, hooks: PluginHooks) {
        self.spec = spec
        self.instance = instance
        self.settings = settings
        var logger = logger
        logger[metadataKey: "itsm.plugin"] = "\(spec.name)"
        if instance != "local-1" { logger[metadataKey: "itsm.instance"] = "\(instance)" }
        self.logger = logger
        self.hooks = hooks
        self.status = PluginStatus(name: spec.name, instance: instance, state: .starting, pid: nil, restarts: 0, version: nil,
                                   methods: [], subscribes: [], lastError: nil)
    }

    public nonisolated var pluginName: String { spec.name }
    public nonisolated var readyConnection: JSONRPCConnection? { ready.withLock { $0 } }
    public var snapshot: PluginStatus { status }

    /// Runs the plugin until `stop()`, or until it has crashed too often.
    public func run() async {
        var backoff = settings.initialBackoff
        while !isStopping {
            let started = ContinuousClock.now
            let exit = await runOnce()
            guard !isStopping else { break }

            let now = ContinuousClock.now
            crashTimes = crashTimes.filter { now - $0 < settings.crashWindow } + [now]
            status.pid = nil
            if crashTimes.count >= settings.maximumCrashes {
                // Failed, visibly, for a cool-down; then it gets a fresh start, so an outage of
                // something it needs does not disable the process for good. `itsm plugins
                // restart` or a reload starts it again at once.
                status.state = .failed
                logger.error("plugin crashed \(crashTimes.count) times within \(settings.crashWindow); trying again in \(settings.failedCooldown)",
                             metadata: ["itsm.error": "\(exit)"])
                await sleepUnlessStopped(settings.failedCooldown)
                crashTimes = []
                backoff = settings.initialBackoff
                continue
            }
            // A plugin that ran a while before dying starts over from the shortest delay.
            if now - started > settings.crashWindow { backoff = settings.initialBackoff }
            status.state = .restarting
            status.restarts += 1
            logger.warning("plugin stopped; restarting", metadata: ["itsm.error": "\(exit)", "itsm.backoff": "\(backoff)"])
            await sleepUnlessStopped(backoff)
            backoff = min(backoff * 2, settings.maximumBackoff)
        }
        status.state = .stopped
    }

    /// Asks the plugin to shut down, then exit; if it has not within the grace period, sends
    /// SIGTERM, and SIGKILL after the same again: at most twice `shutdownGrace` (10 s).
    public func stop() async {
        isStopping = true
        ready.withLock { $0 = nil }
        backoffWait?.cancel()
        guard let (process, connection) = current else { return }
        logger.info("stopping plugin")
        let deadline = ContinuousClock.now + settings.shutdownGrace
        _ = try? await connection.request(ProtocolMethod.shutdown, timeout: settings.shutdownGrace)
        try? await connection.notify(ProtocolMethod.exit)
        connection.closeOutput() // end of input: a plugin exits on it too
        let status: TerminationStatus
        if let exited = await process.wait(timeout: max(deadline - ContinuousClock.now, .zero)) {
            status = exited
        } else {
            logger.warning("plugin did not exit in time; terminating it")
            status = await process.terminate(grace: settings.shutdownGrace)
        }
        logger.info("plugin stopped", metadata: ["itsm.exit": "\(status)"])
    }

    // MARK: - One life of the process

    /// Spawns, handshakes, serves until the process exits; returns why it ended.
    private func runOnce() async -> String {
        status.state = .starting
        stopReason = nil
        let command = spec.resolvedCommand(builtInDirectory: settings.builtInDirectory)
        var environment = ProcessInfo.processInfo.environment
        environment.merge(spec.environment) { $1 }
        environment["ITSM_PLUGIN_NAME"] = spec.name
        let process: ChildProcess
        do {
            process = try ChildProcess.spawn(.init(
                executable: command[0], arguments: Array(command.dropFirst()), environment: environment,
                standardInput: .pipe, standardOutput: .pipe, standardError: .pipe, newProcessGroup: true))
        } catch {
            status.lastError = "cannot start \(command.joined(separator: " ")): \(error)"
            return status.lastError!
        }
        status.pid = process.pid
        logger.info("plugin process started", metadata: ["itsm.pid": "\(process.pid)"])

        let connection: JSONRPCConnection
        do {
            connection = try await .overPipes(
                input: process.standardOutput!, output: process.standardInput!,
                configuration: .init(peerName: spec.name, maxLineBytes: settings.maxLineBytes,
                                     defaultRequestTimeout: settings.requestTimeout),
                logger: logger)
        } catch {
            process.signal(SIGKILL)
            _ = await process.wait()
            status.lastError = "cannot talk to the plugin over its pipes: \(error)"
            return status.lastError!
        }
        current = (process, connection)
        let onPluginRequest = hooks.onPluginRequest
        let logger = self.logger

        return await withTaskGroup(of: Void.self) { group in
            let maxLineBytes = settings.maxLineBytes
            group.addTask { await Self.forwardLogs(from: process.standardError!, maxLineBytes: maxLineBytes, logger: logger) }
            group.addTask {
                await connection.run(
                    onRawRequest: { request in try await onPluginRequest(self, request) },
                    onNotification: { notification in
                        logger.debug("notification from plugin", metadata: ["itsm.method": "\(notification.method)"])
                    })
            }
            group.addTask { await self.handshakeAndWatch(process: process, connection: connection) }

            let exit = await process.wait()
            ready.withLock { $0 = nil }
            connection.close() // fails in-flight requests: the process is gone
            connection.closeOutput()
            group.cancelAll()
            await group.waitForAll()
            current = nil
            let reason = stopReason.map { "\($0) (\(exit))" } ?? "exited with \(exit)"
            status.lastError = reason
            return reason
        }
    }

    /// The handshake, then heartbeats until the process ends or stops answering.
    private func handshakeAndWatch(process: ChildProcess, connection: JSONRPCConnection) async {
        let handshake = PluginHandshake(settings: settings, logger: logger)
        do {
            let manifest = try await handshake.perform(on: connection, spec: spec, instance: instance,
                                                       database: .init(url: settings.databaseURL))
            status.version = manifest.plugin.version
            status.methods = manifest.methods.map(\.name)
            status.subscribes = manifest.subscribes
            await hooks.onReady(self, manifest)
            ready.withLock { $0 = connection }
            // Reported running only once it serves: routes registered, connection ready.
            status.state = .running
            logger.info("plugin ready", metadata: [
                "itsm.version": "\(manifest.plugin.version)", "itsm.methods": "\(manifest.methods.count)",
            ])
        } catch {
            stopReason = "handshake failed: \(error)"
            logger.error("plugin handshake failed", metadata: ["itsm.error": "\(error)"])
            process.signal(SIGKILL)
            return
        }
        if let reason = await handshake.watchHeartbeats(on: connection) {
            stopReason = reason
            logger.error("plugin stopped answering heartbeats; killing it")
            ready.withLock { $0 = nil }
            process.signal(SIGKILL)
        }
    }

    /// Sleeps `duration`, or until `stop()`. (A stream of stop signals ended for good the first
    /// time a sleep finished first, and every later backoff then passed at once.)
    private func sleepUnlessStopped(_ duration: Duration) async {
        guard !isStopping else { return }
        let wait = Task { _ = try? await Task.sleep(for: duration) }
        backoffWait = wait
        await wait.value
        backoffWait = nil
    }

    /// Forwards the plugin's stderr: JSON log lines keep their level and fields, anything else
    /// is logged as plain text.
    static func forwardLogs(from descriptor: Int32, maxLineBytes: Int, logger: Logger) async {
        do {
            let lines = try await LineChannels.input(descriptor, maxLineBytes: maxLineBytes)
            try await lines.executeThenClose { frames, _ in
                for try await frame in frames {
                    guard case .line(let bytes) = frame, !bytes.isEmpty else { continue }
                    if let record = LogRecord(line: bytes) {
                        var metadata: Logger.Metadata = [:]
                        for (key, value) in record.metadata where key != "itsm.plugin" {
                            metadata[key] = "\(value.stringValue ?? String(describing: value))"
                        }
                        logger.log(level: Logger.Level(rawValue: record.level) ?? .info, "\(record.message)", metadata: metadata)
                    } else {
                        logger.info("\(String(decoding: bytes, as: UTF8.self))", metadata: ["itsm.stream": "stderr"])
                    }
                }
            }
        } catch {
            logger.debug("stopped reading plugin stderr", metadata: ["itsm.error": "\(error)"])
        }
    }
}

/// The coordinator's release, reported in `initialize`.
public enum CoordinatorVersion {
    public static let current = "0.1.0"
}
