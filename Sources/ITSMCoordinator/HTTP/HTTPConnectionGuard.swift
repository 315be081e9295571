import HummingbirdCore
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Limits no HTTP client may exceed, authenticated or not: a request head must arrive within
/// `headTimeout` of the connection opening, and within `idleTimeout` of the last response on a
/// kept-alive connection; its body within `bodyTimeout` of the head; and no more than
/// `maximumConnections` connections are open at once. So slow or idle clients (a slowloris
/// trickling one header byte a second) cannot hold the server's connections, and the idle
/// timeout alone, which any byte resets, is not needed for that. A kept-alive connection gets
/// the longer wait because a client that sends its next request just as the server closes the
/// connection sees it reset: the shorter the wait, the likelier that race.
///
/// ```yaml
/// httpLimits: {headTimeoutSeconds: 10, bodyTimeoutSeconds: 60, idleTimeoutSeconds: 60, maxConnections: 1000, maxBodyBytes: 1048576}
/// ```
public struct HTTPLimits: Sendable, Hashable {
    public var headTimeout: Duration = .seconds(10)
    public var bodyTimeout: Duration = .seconds(60)
    /// A kept-alive connection with no traffic at all is closed after this.
    public var idleTimeout: Duration = .seconds(60)
    public var maximumConnections = 1000
    public var maximumBodyBytes = 1 << 20

    public init() {}
}

/// Open connections, shared by every connection's guard.
final class HTTPConnectionCount: Sendable {
    let open = Atomic<Int>(0)
}

/// One connection's guard: closes it when a deadline of `HTTPLimits` passes, or at once when
/// the server already has as many connections as it allows.
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: HTTPLimits
    private let count: HTTPConnectionCount
    private var deadline: Scheduled<Void>?
    private var counted = false
    /// The response being written ends the connection (`Connection: close`).
    private var closing = false
    /// How long a client has to read a last response before its connection is closed.
    static let lingerAfterLastResponse: Duration = .seconds(5)

    init(limits: HTTPLimits, count: HTTPConnectionCount) {
        self.limits = limits
        self.count = count
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let open = count.open.add(1, ordering: .relaxed).newValue
        counted = true
        guard open <= limits.maximumConnections else {
            context.close(promise: nil)
            return
        }
        arm(context, limits.headTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        if counted {
            count.open.subtract(1, ordering: .relaxed)
            counted = false
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(context, limits.bodyTimeout)
        case .end: disarm()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            closing = response.headerFields[.connection]?.lowercased() == "close"
        case .end:
            // After a last response the server stops reading and waits for the client to close.
            // A client still sending (a head too large, with more behind it) fills the window, so
            // its close never arrives: the connection would hold its place until the idle timeout.
            arm(context, closing ? min(limits.idleTimeout, Self.lingerAfterLastResponse) : limits.idleTimeout)
        case .body: break
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, _ timeout: Duration) {
        deadline?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            loopBound.value.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}
