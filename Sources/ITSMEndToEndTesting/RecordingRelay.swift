import NIOCore
import NIOPosix
import Synchronization

/// A TCP relay on loopback that forwards each connection to a target and records every byte
/// both ways: what a capture on the wire between a plugin host and a coordinator would see.
public final class RecordingRelay: Sendable {
    public let port: Int
    private let server: any Channel
    private let recorded: Recording

    final class Recording: Sendable {
        let bytes = Mutex<[UInt8]>([])
        func append(_ buffer: ByteBuffer) { bytes.withLock { $0 += buffer.readableBytesView } }
    }

    private init(port: Int, server: any Channel, recorded: Recording) {
        self.port = port
        self.server = server
        self.recorded = recorded
    }

    public static func start(to host: String, port targetPort: Int) async throws -> RecordingRelay {
        let recorded = Recording()
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await ServerBootstrap(group: group)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                ClientBootstrap(group: inbound.eventLoop)
                    .connect(host: host, port: targetPort)
                    .flatMap { outbound in
                        inbound.pipeline.addHandler(Forward(to: outbound, recorded: recorded)).flatMap {
                            outbound.pipeline.addHandler(Forward(to: inbound, recorded: recorded))
                        }.map { _ = inbound.setOption(.autoRead, value: true) }
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return RecordingRelay(port: server.localAddress?.port ?? 0, server: server, recorded: recorded)
    }

    /// Everything relayed so far, both directions interleaved.
    public var bytes: [UInt8] { recorded.bytes.withLock { $0 } }

    public func saw(_ text: String) -> Bool {
        bytes.firstRange(of: Array(text.utf8)) != nil
    }

    public func stop() async {
        try? await server.close()
    }

    /// Copies what one side reads to the other, recording it; closes the other when one closes.
    private final class Forward: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let partner: any Channel
        let recorded: Recording

        init(to partner: any Channel, recorded: Recording) {
            self.partner = partner
            self.recorded = recorded
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            recorded.append(buffer)
            partner.writeAndFlush(buffer, promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            partner.close(promise: nil)
            context.fireChannelInactive()
        }
    }
}
