import Foundation
import ITSMProtocol
import ITSMSystem
import ITSMTransport
import Logging
import Synchronization

/// Where plugin instances on other hosts dial in (`remotePlugins.listen`). Plugin hosts need no
/// open port: they connect here.
///
/// The first line on a connection must be `$/attach {token, plugin, instance}` within
/// `attachTimeout`. The token must hold `attach.<plugin>` (or `attach.*`), and the plugin must
/// be enabled in this coordinator's configuration. Refusals are answered with a structured
/// error, logged with the peer's address (never the token), and the connection is closed.
/// An accepted connection becomes a `RemotePluginSession`.
struct RemotePluginListener: Sendable {
    var listener: TCPListener
    var fleet: PluginFleet
    var router: MethodRouter
    var tokens: TokenStore
    var handshake: PluginHandshake
    var hooks: PluginHooks
    var logger: Logger
    var attachTimeout: Duration = .seconds(10)
    /// Connections that have not attached yet, at most `maximumPendingAttaches`: more are
    /// closed at once, so unauthenticated peers cannot pile up threads or descriptors.
    var pendingAttaches = PendingAttaches()
    var maximumPendingAttaches = 32

    final class PendingAttaches: Sendable {
        let count = Atomic<Int>(0)
    }

    /// Accepts connections until cancelled; each session runs in the group.
    func run() async {
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                for await accepted in listener.connections {
                    group.addTask { await serve(accepted) }
                }
            }
        } onCancel: {
            listener.stop()
        }
    }

    private func serve(_ accepted: TCPListener.Accepted) async {
        guard pendingAttaches.count.add(1, ordering: .relaxed).newValue <= maximumPendingAttaches else {
            pendingAttaches.count.subtract(1, ordering: .relaxed)
            logger.warning("remote connection refused: too many connections waiting to attach",
                           metadata: ["itsm.remote": "\(accepted.peer)", "itsm.limit": "\(maximumPendingAttaches)"])
            close(accepted.descriptor)
            return
        }
        let attached = await attach(accepted)
        pendingAttaches.count.subtract(1, ordering: .relaxed)
        guard let (attachID, params, spec, logger) = attached else { return }
        await run(accepted, attachID: attachID, params: params, spec: spec, logger: logger)
    }

    /// Reads and checks `$/attach`; answers and closes a refusal. Nil when refused.
    private func attach(_ accepted: TCPListener.Accepted) async -> (RequestID, AttachParams, PluginSpec, Logger)? {
        var logger = self.logger
        logger[metadataKey: "itsm.remote"] = "\(accepted.peer)"
        let attach: (id: RequestID, params: AttachParams)
        do {
            attach = try await readAttach(accepted.descriptor)
        } catch {
            logger.warning("remote connection refused", metadata: ["itsm.error": "\(error.error.message)"])
            answer(accepted.descriptor, id: error.id, with: .failure(error.error))
            close(accepted.descriptor)
            return nil
        }
        let plugin = attach.params.plugin
        logger[metadataKey: "itsm.plugin"] = "\(plugin)"
        logger[metadataKey: "itsm.instance"] = "\(attach.params.instance)"
        let spec: PluginSpec
        do {
            spec = try await authorize(attach.params)
        } catch {
            logger.warning("remote plugin refused", metadata: ["itsm.error": "\(error.message)"])
            answer(accepted.descriptor, id: attach.id, with: .failure(error))
            close(accepted.descriptor)
            return nil
        }
        return (attach.id, attach.params, spec, logger)
    }

    /// Answers the accepted attach and serves the session until it ends.
    private func run(_ accepted: TCPListener.Accepted, attachID: RequestID, params: AttachParams, spec: PluginSpec, logger: Logger) async {
        let plugin = params.plugin
        let result = AttachResult(heartbeatMs: Int(handshake.settings.heartbeat.inMilliseconds),
                                  maxLineBytes: handshake.settings.maxLineBytes)
        answer(accepted.descriptor, id: attachID, with: .success((try? JSONValue(encoding: result)) ?? .object([:])))

        let connection = JSONRPCConnection(
            socket: accepted.descriptor,
            configuration: .init(peerName: "\(plugin)@\(accepted.peer)", maxLineBytes: handshake.settings.maxLineBytes,
                                 defaultRequestTimeout: handshake.settings.requestTimeout),
            logger: logger)
        let before = router.takeDeparture(of: plugin, instance: params.instance)
        let session = RemotePluginSession(spec: spec, instance: params.instance, remoteAddress: accepted.peer,
                                          connection: connection, restarts: before.map { $0.restarts + 1 } ?? 0, logger: logger)
        logger.notice("remote plugin attached")
        router.add(session)
        await session.run(handshake: handshake, hooks: hooks)
        router.recordDeparture(session.snapshot)
        router.removeInstance(session)
    }

    /// Checks the token and that the plugin runs here; returns its configuration.
    private func authorize(_ params: AttachParams) async throws(ResponseError) -> PluginSpec {
        let principal: Principal?
        do {
            principal = try await tokens.authenticate(params.token)
        } catch {
            throw ResponseError.unavailable("cannot check the token: the database is unavailable")
        }
        guard let principal else {
            throw ResponseError(code: .unauthorized, kind: "auth.invalid_token", message: "the token is unknown or revoked")
        }
        guard principal.allows("attach.\(params.plugin)") else {
            throw ResponseError(code: .permissionDenied, kind: "auth.forbidden",
                                message: "token '\(principal.name)' may not attach as \(params.plugin); it needs attach.\(params.plugin)")
        }
        guard router.isEnabled(params.plugin), let spec = await fleet.spec(named: params.plugin) else {
            throw ResponseError(code: .unavailable, kind: "plugin.disabled",
                                message: "\(params.plugin) is not enabled on this coordinator; add it to plugins in its itsm.yaml (remote: true to run it only on plugin hosts) and reload",
                                details: ["plugin": .string(params.plugin)])
        }
        // A process run as local children here is not open to instances from elsewhere.
        guard spec.remote else {
            throw ResponseError(code: .permissionDenied, kind: "plugin.local_only",
                                message: "\(params.plugin) runs as a local child on this coordinator; only processes configured remote: true accept instances from plugin hosts",
                                details: ["plugin": .string(params.plugin)])
        }
        return spec
    }

    /// Reads the first line, byte by byte so nothing after it is consumed, within the deadline.
    private func readAttach(_ descriptor: Int32) async throws(AttachRefusal) -> (id: RequestID, params: AttachParams) {
        let timeout = attachTimeout
        // A thread of its own, not the shared dispatch pool: libpq's queues run there, and a
        // pool full of idle peers' reads stalled every database call, the API's included.
        let line: [UInt8]? = await withCheckedContinuation { continuation in
            let reader = Thread {
                continuation.resume(returning: TCPSocket.readLine(descriptor, maxBytes: 64 * 1024, timeout: timeout))
            }
            reader.stackSize = 256 * 1024
            reader.start()
        }
        guard let line else { throw AttachRefusal(id: nil, "expected $/attach as the first line within \(timeout)") }
        let message: Message
        do {
            message = try Message.decode(line)
        } catch {
            throw AttachRefusal(id: error.id, error: error.error)
        }
        guard case .request(let request) = message, request.method == ProtocolMethod.attach else {
            throw AttachRefusal(id: nil, "the first line must be a $/attach request")
        }
        do {
            return (request.id, try (request.params ?? .null).decode(AttachParams.self))
        } catch {
            throw AttachRefusal(id: request.id, error: .invalidParams("$/attach needs token, plugin and instance strings"))
        }
    }

    struct AttachRefusal: Error {
        var id: RequestID?
        var error: ResponseError

        init(id: RequestID?, error: ResponseError) {
            self.id = id
            self.error = error
        }

        init(id: RequestID?, _ message: String) {
            self.init(id: id, error: ResponseError(code: .invalidRequest, kind: "protocol.invalid_request", message: message))
        }
    }

    private func answer(_ descriptor: Int32, id: RequestID?, with result: Result<JSONValue, ResponseError>) {
        guard let line = try? Message.response(JSONRPCResponse(id: id, result: result)).encodedLine() else { return }
        line.withUnsafeBytes { bytes in _ = write(descriptor, bytes.baseAddress, bytes.count) }
    }
}
