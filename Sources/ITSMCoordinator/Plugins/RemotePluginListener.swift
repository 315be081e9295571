import Foundation
import ITSMProtocol
import ITSMTransport
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Where plugin instances on other hosts dial in (`remotePlugins.listen`). Plugin hosts need no
/// open port: they connect here, over TLS unless the configuration says `plaintext: true`.
///
/// The first line on a connection must be `$/attach {token, plugin, instance}` within
/// `attachTimeout` (the TLS handshake included). The token must hold `attach.<plugin>` (or
/// `attach.*`), and the plugin must be enabled in this coordinator's configuration. Refusals are
/// answered with a structured error, logged with the peer's address (never the token), and the
/// connection is closed. An accepted connection becomes a `RemotePluginSession`.
struct RemotePluginListener: Sendable {
    var server: NIOAsyncChannel<PluginLink, Never>
    var fleet: PluginFleet
    var router: MethodRouter
    var tokens: TokenStore
    var handshake: PluginHandshake
    var hooks: PluginHooks
    var logger: Logger
    /// Connections that have not attached yet, at most `maximumPendingAttaches`: more are
    /// closed at once, so unauthenticated peers cannot pile up.
    var pendingAttaches = PendingAttaches()
    var maximumPendingAttaches = 32

    final class PendingAttaches: Sendable {
        let count = Atomic<Int>(0)
    }

    /// The port it listens on (the configured one, or the one picked for port 0).
    var port: Int { server.channel.localAddress?.port ?? 0 }

    /// Binds `address`; each accepted connection gets TLS (when configured), the line framing
    /// and a deadline for its first line.
    static func bind(_ address: Configuration.HTTPAddress, security: PluginLinkSecurity, maxLineBytes: Int,
                     attachTimeout: Duration) async throws -> NIOAsyncChannel<PluginLink, Never> {
        let tls = try PluginLinkTLS.context(for: security, role: .server)
        return try await ServerBootstrap(group: LineChannels.eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .bind(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try PluginLink.setKeepAliveProbes(channel)
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    return try PluginLink(channel: channel, maxLineBytes: maxLineBytes, firstLineTimeout: attachTimeout)
                }
            }
    }

    /// Accepts connections until cancelled; each session runs in the group.
    func run() async {
        do {
            try await server.executeThenClose { connections, _ in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await link in connections {
                        group.addTask { await serve(link) }
                    }
                }
            }
        } catch {
            logger.debug("stopped accepting remote plugins", metadata: ["itsm.error": "\(error)"])
        }
    }

    private func serve(_ link: PluginLink) async {
        guard pendingAttaches.count.add(1, ordering: .relaxed).newValue <= maximumPendingAttaches else {
            pendingAttaches.count.subtract(1, ordering: .relaxed)
            logger.warning("remote connection refused: too many connections waiting to attach",
                           metadata: ["itsm.remote": "\(link.peer)", "itsm.limit": "\(maximumPendingAttaches)"])
            await link.discard()
            return
        }
        let attached = await attach(link)
        pendingAttaches.count.subtract(1, ordering: .relaxed)
        guard let (attachID, params, spec, logger) = attached else { return }
        await run(link, attachID: attachID, params: params, spec: spec, logger: logger)
    }

    /// Reads and checks `$/attach`; answers and closes a refusal. Nil when refused.
    private func attach(_ link: PluginLink) async -> (RequestID, AttachParams, PluginSpec, Logger)? {
        var logger = self.logger
        logger[metadataKey: "itsm.remote"] = "\(link.peer)"
        let attach: (id: RequestID, params: AttachParams)
        do {
            attach = try await readAttach(link)
        } catch {
            logger.warning("remote connection refused", metadata: ["itsm.error": "\(error.error.message)"])
            await link.refuse(id: error.id, with: error.error)
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
            await link.refuse(id: attach.id, with: error)
            return nil
        }
        return (attach.id, attach.params, spec, logger)
    }

    /// Answers the accepted attach and serves the session until it ends.
    private func run(_ link: PluginLink, attachID: RequestID, params: AttachParams, spec: PluginSpec, logger: Logger) async {
        let plugin = params.plugin
        let result = AttachResult(heartbeatMs: Int(handshake.settings.heartbeat.inMilliseconds),
                                  maxLineBytes: handshake.settings.maxLineBytes)
        link.answer(id: attachID, with: .success((try? JSONValue(encoding: result)) ?? .object([:])))

        let connection = JSONRPCConnection(
            channel: link.channel,
            configuration: .init(peerName: "\(plugin)@\(link.peer)", maxLineBytes: handshake.settings.maxLineBytes,
                                 defaultRequestTimeout: handshake.settings.requestTimeout),
            logger: logger)
        let before = router.takeDeparture(of: plugin, instance: params.instance)
        let session = RemotePluginSession(spec: spec, instance: params.instance, remoteAddress: link.peer,
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

    /// Reads the first line, which the link keeps apart for this, within its deadline.
    private func readAttach(_ link: PluginLink) async throws(AttachRefusal) -> (id: RequestID, params: AttachParams) {
        let first: LineFramer.Frame?
        do {
            first = try await link.firstLine.get()
        } catch {
            throw AttachRefusal(id: nil, "the connection failed before $/attach: \(PluginLinkTLS.describe(error))")
        }
        guard case .line(let line)? = first else {
            throw AttachRefusal(id: nil, "expected $/attach as the first line within \(link.firstLineTimeout)")
        }
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
}
