import NIOCore
import NIOPosix

/// A SwiftNIO channel that carries one message per line: a child's stdio pipes, a plugin
/// link over TCP, with or without TLS in front. Inbound are whole lines (or the report of an
/// over-long one); outbound are bytes, each write one or more whole lines.
///
/// Reading stops while the consumer is behind (the inbound buffer holds at most 16 lines),
/// writing suspends while the peer is not reading (NIO's write buffer watermarks), and a peer
/// that has not taken our output for `writeTimeout` is disconnected. No thread is held per
/// channel: all run on the shared event loop group.
public typealias LineChannel = NIOAsyncChannel<LineFramer.Frame, ByteBuffer>

public enum LineChannels {
    /// The event loops every channel of ours runs on (HTTP's too).
    public static var eventLoopGroup: MultiThreadedEventLoopGroup { .singleton }

    /// Adds the line decoder and the write watchdog to a channel's pipeline (after any TLS
    /// handler) and wraps it. Call on the channel's event loop, e.g. in a bootstrap's initializer.
    public static func configure(_ channel: any Channel, maxLineBytes: Int, writeTimeout: Duration,
                                 extraHandlers: [any ChannelHandler] = []) throws -> LineChannel {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(LineFrameDecoder(maxLineBytes: maxLineBytes))
        try pipeline.addHandler(WriteStallHandler(timeout: TimeAmount(writeTimeout)))
        try pipeline.addHandlers(extraHandlers)
        return try LineChannel(wrappingChannelSynchronously: channel, configuration: .init(
            backPressureStrategy: .init(lowWatermark: 4, highWatermark: 16),
            isOutboundHalfClosureEnabled: true))
    }

    /// A channel over a pair of pipe descriptors (a child's stdout and stdin, or our own stdin
    /// and stdout); it owns them from now on and closes them when it closes.
    public static func pipes(input: Int32, output: Int32, maxLineBytes: Int, writeTimeout: Duration) async throws -> LineChannel {
        try await NIOPipeBootstrap(group: eventLoopGroup)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .takingOwnershipOfDescriptors(input: input, output: output) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try configure(channel, maxLineBytes: maxLineBytes, writeTimeout: writeTimeout)
                }
            }
    }

    /// Lines read from one descriptor (a child's stderr); it owns the descriptor from now on.
    public static func input(_ descriptor: Int32, maxLineBytes: Int) async throws -> NIOAsyncChannel<LineFramer.Frame, Never> {
        try await NIOPipeBootstrap(group: eventLoopGroup)
            .takingOwnershipOfDescriptor(input: descriptor) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LineFrameDecoder(maxLineBytes: maxLineBytes))
                    return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Bytes for one message line.
    public static func line(_ bytes: some BidirectionalCollection<UInt8>) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(bytes.count + 1)
        buffer.writeBytes(bytes)
        if bytes.last != UInt8(ascii: "\n") { buffer.writeInteger(UInt8(ascii: "\n")) }
        return buffer
    }
}

/// Splits the byte stream into lines with `LineFramer` (the hard cap on a line's length).
/// At end of input, a last line without its newline still counts.
final class LineFrameDecoder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = LineFramer.Frame

    private var framer: LineFramer

    init(maxLineBytes: Int) {
        framer = LineFramer(maxLineBytes: maxLineBytes)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        for frame in framer.append(buffer.readableBytesView) {
            context.fireChannelRead(wrapInboundOut(frame))
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { flushLastLine(context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        flushLastLine(context: context)
        context.fireChannelInactive()
    }

    private func flushLastLine(context: ChannelHandlerContext) {
        for frame in framer.finish() { context.fireChannelRead(wrapInboundOut(frame)) }
    }
}

/// Closes a channel whose peer has not taken our output for `timeout`: a plugin or
/// coordinator that stopped reading must not hold our writers (and their memory) forever.
final class WriteStallHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let timeout: TimeAmount
    private var watchdog: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            watchdog?.cancel()
            watchdog = nil
        } else if watchdog == nil {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            watchdog = context.eventLoop.scheduleTask(in: timeout) {
                loopBound.value.close(promise: nil)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        watchdog?.cancel()
        watchdog = nil
        context.fireChannelInactive()
    }
}
