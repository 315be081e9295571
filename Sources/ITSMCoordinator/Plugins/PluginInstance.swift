import ITSMProtocol
import ITSMTransport
import Logging

/// One running copy of a plugin that the router can send requests to: a child process this
/// coordinator supervises (`PluginSupervisor`) or a plugin on another host that dialed in
/// (`RemotePluginSession`). A plugin may have several; the router picks the least loaded.
public protocol PluginInstance: AnyObject, Sendable {
    var pluginName: String { get }
    /// The connection once the handshake is done, while the instance serves requests.
    var readyConnection: JSONRPCConnection? { get }
    var snapshot: PluginStatus { get async }
    /// Lets requests in progress finish, then ends the instance.
    func stop() async
}

/// What the coordinator does for every plugin instance, local or remote.
public struct PluginHooks: Sendable {
    /// Handles a request an instance sends (a call to another plugin's method).
    public var onPluginRequest: @Sendable (any PluginInstance, JSONRPCRequest) async throws -> RawJSON
    /// Told when an instance's handshake completes, with its manifest, before it gets requests.
    public var onReady: @Sendable (any PluginInstance, InitializeResult) async -> Void

    public init(onPluginRequest: @escaping @Sendable (any PluginInstance, JSONRPCRequest) async throws -> RawJSON,
                onReady: @escaping @Sendable (any PluginInstance, InitializeResult) async -> Void) {
        self.onPluginRequest = onPluginRequest
        self.onReady = onReady
    }
}

/// The coordinator's side of a plugin session, whatever carries it: the `initialize`
/// handshake, then heartbeats.
struct PluginHandshake: Sendable {
    var settings: PluginSupervisor.Settings
    var logger: Logger

    /// Runs `initialize` / `initialized` and checks the manifest. `database` is nil for a remote
    /// plugin: its host has its own database settings, and the URL (a secret) stays here.
    func perform(on connection: JSONRPCConnection, spec: PluginSpec, instance: String,
                 database: InitializeParams.DatabaseInfo?) async throws -> InitializeResult {
        let params = InitializeParams(
            coordinator: settings.coordinator, config: spec.config,
            limits: .init(maxLineBytes: settings.maxLineBytes, requestTimeoutMs: Int(settings.requestTimeout.inMilliseconds),
                          maxConcurrentRequests: connection.configuration.maxConcurrentRequests),
            heartbeatMs: Int(settings.heartbeat.inMilliseconds),
            database: database, instance: instance)
        let answer = try await connection.request(ProtocolMethod.initialize, params: try JSONValue(encoding: params),
                                                  timeout: settings.handshakeTimeout)
        let manifest: InitializeResult
        do {
            manifest = try answer.decode(InitializeResult.self)
        } catch {
            throw CoordinatorError("the initialize result is not a valid manifest: \(error)")
        }
        guard ProtocolVersion.supported.contains(manifest.protocolVersion) else {
            throw CoordinatorError("the plugin chose protocol version \(manifest.protocolVersion); supported: \(ProtocolVersion.supported)")
        }
        let problems = manifest.validationProblems()
        guard problems.isEmpty else { throw CoordinatorError("invalid manifest: \(problems.joined(separator: "; "))") }
        if manifest.plugin.name != spec.name {
            logger.warning("plugin calls itself by another name", metadata: ["itsm.manifest.name": "\(manifest.plugin.name)"])
        }
        connection.setPeerConcurrencyLimit(manifest.limits?.maxConcurrentRequests ?? JSONRPCConnection.defaultConcurrencyLimit)
        try await connection.notify(ProtocolMethod.initialized, params: .object([:]))
        return manifest
    }

    /// Pings every heartbeat interval until the task is cancelled, the connection closes (nil),
    /// or a ping goes unanswered for two intervals (the reason, for the log). Any answer, an
    /// error included, shows the peer is alive.
    func watchHeartbeats(on connection: JSONRPCConnection) async -> String? {
        while !Task.isCancelled {
            guard (try? await Task.sleep(for: settings.heartbeat)) != nil else { return nil }
            do {
                _ = try await connection.request(ProtocolMethod.ping, timeout: max(settings.heartbeat * 2, .seconds(2)))
            } catch where error.code == .requestTimedOut {
                return "did not answer a heartbeat"
            } catch where error.kind == ResponseError.disconnectedKind || error.code == .requestCancelled {
                return nil
            } catch {
                continue // answered, with an error: alive
            }
        }
        return nil
    }
}
