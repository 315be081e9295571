import Foundation
import ITSMProtocol
import ITSMTransport
import NIOCore
import NIOPosix
import NIOSSL

/// One TCP connection of the plugin link between hosts, with TLS in front unless configured
/// `plaintext`: its line channel, the peer's address, and its first line, kept apart for the
/// `$/attach` exchange (the request on the coordinator's side, the answer on the agent's).
struct PluginLink: Sendable {
    let channel: LineChannel
    /// The first line; nil if the connection ended (or `firstLineTimeout` passed) first; the
    /// error if one came first (e.g. the TLS handshake failed).
    let firstLine: EventLoopFuture<LineFramer.Frame?>
    let firstLineTimeout: Duration
    let peer: String

    /// Sets up a connected channel; on its event loop, after any TLS handler.
    init(channel: any Channel, maxLineBytes: Int, firstLineTimeout: Duration) throws {
        let promise = channel.eventLoop.makePromise(of: LineFramer.Frame?.self)
        self.channel = try LineChannels.configure(
            channel, maxLineBytes: maxLineBytes, writeTimeout: .seconds(10),
            extraHandlers: [FirstLineHandler(promise: promise, timeout: TimeAmount(firstLineTimeout))])
        self.firstLine = promise.futureResult
        self.firstLineTimeout = firstLineTimeout
        if let address = channel.remoteAddress, let ip = address.ipAddress {
            peer = address.protocol == .inet6 ? "[\(ip)]:\(address.port ?? 0)" : "\(ip):\(address.port ?? 0)"
        } else {
            peer = channel.remoteAddress?.description ?? "unknown"
        }
    }

    /// Dials a coordinator (the agent's side): TCP within 5 s, then TLS when configured.
    /// Connects to `host`; TLS checks the certificate against `serverName` (by default `host`).
    static func dial(host: String, port: Int, serverName: String? = nil, tls: NIOSSLContext?, maxLineBytes: Int,
                     answerTimeout: Duration = .seconds(10)) async throws -> PluginLink {
        try await ClientBootstrap(group: LineChannels.eventLoopGroup)
            .connectTimeout(.seconds(5))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try setKeepAliveProbes(channel)
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(PluginLinkTLS.clientHandler(context: tls, host: serverName ?? host))
                    }
                    return try PluginLink(channel: channel, maxLineBytes: maxLineBytes, firstLineTimeout: answerTimeout)
                }
            }
    }

    /// Keepalive probes after 10 s of silence, every 5 s, 3 times: a peer that vanished
    /// without a FIN is noticed by the kernel too, not only by our heartbeats.
    static func setKeepAliveProbes(_ channel: any Channel) throws {
        guard let options = channel.syncOptions else { return }
        for (name, value) in [(TCP_KEEPIDLE, 10), (TCP_KEEPINTVL, 5), (TCP_KEEPCNT, 3)] {
            let option = ChannelOptions.Types.SocketOption(level: .init(rawValue: CInt(IPPROTO_TCP)), name: .init(rawValue: name))
            try options.setOption(option, value: SocketOptionValue(value))
        }
    }

    /// Sends one message line.
    func send(_ message: Message) {
        guard let line = try? message.encodedLine() else { return }
        channel.channel.writeAndFlush(LineChannels.line(line), promise: nil)
    }

    func answer(id: RequestID?, with result: Result<JSONValue, ResponseError>) {
        send(.response(JSONRPCResponse(id: id, result: result)))
    }

    /// Answers with the error, then discards the link once the answer is written.
    func refuse(id: RequestID?, with error: ResponseError) async {
        if let line = try? Message.response(JSONRPCResponse(id: id, result: .failure(error))).encodedLine() {
            try? await channel.channel.writeAndFlush(LineChannels.line(line)).get()
        }
        await discard()
    }

    /// Closes a link that no one reads (refused, or failed before its session): the async
    /// channel must be closed through its scope, or its writer traps when released.
    func discard() async {
        try? await channel.executeThenClose { _, _ in }
    }

    /// Closes the connection at once, from within the scope of whoever reads it.
    func close() {
        channel.channel.close(promise: nil)
    }
}

/// Holds back the first line of a connection for `PluginLink.firstLine`; later lines pass.
/// Closes the connection if no line came within the deadline.
private final class FirstLineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = LineFramer.Frame
    typealias InboundOut = LineFramer.Frame

    private var promise: EventLoopPromise<LineFramer.Frame?>?
    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(promise: EventLoopPromise<LineFramer.Frame?>, timeout: TimeAmount) {
        self.promise = promise
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) { [weak self] in
            guard self?.promise != nil else { return }
            loopBound.value.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let promise else { return context.fireChannelRead(data) }
        self.promise = nil
        deadline?.cancel()
        promise.succeed(unwrapInboundIn(data))
    }

    /// A failure before the first line (a TLS handshake refused, a reset) is the answer.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let promise {
            self.promise = nil
            deadline?.cancel()
            promise.fail(error)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        promise?.succeed(nil)
        promise = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        promise?.succeed(nil)
        promise = nil
    }
}

extension PluginLinkTLS {
    /// The context for `security`; nil for plain TCP.
    static func context(for security: PluginLinkSecurity, role: Role) throws -> NIOSSLContext? {
        guard case .tls(let settings) = security else { return nil }
        return role == .server ? try settings.serverContext() : try settings.clientContext()
    }
}
