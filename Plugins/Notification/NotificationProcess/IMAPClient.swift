import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// The mailbox the desk's mail arrives in: an IMAP server (RFC 9051/3501), with STARTTLS
/// (the default) and LOGIN.
public struct MailboxSettings: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var startTLS = true
    public var caFile: String?
    public var username: String
    public var password: String
    public var folder = "INBOX"
    /// How often the mailbox is read.
    public var poll: Duration = .seconds(30)
    /// The longest one reading of the mailbox may take.
    public var timeout: Duration = .seconds(120)

    public init(host: String, port: Int, username: String, password: String) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
    }
}

public struct IMAPError: Error, CustomStringConvertible {
    public var description: String
}

/// One IMAP session on SwiftNIO: log in, select the folder, then fetch and flag messages by
/// UID. Responses are read whole, literals (`{n}` and n bytes) included, by `IMAPResponseDecoder`.
/// A session lives inside `IMAPSession.with`, which closes the connection however the work ends.
public final class IMAPSession {
    private var responses: NIOAsyncChannelInboundStream<IMAPResponse>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var tag = 0

    private init(responses: NIOAsyncChannelInboundStream<IMAPResponse>.AsyncIterator, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.responses = responses
        self.outbound = outbound
    }

    /// Connects, upgrades to TLS when configured, logs in, selects the folder and runs `body`,
    /// all within `settings.timeout`; then logs out and closes the connection.
    public static func with<Result: Sendable>(_ settings: MailboxSettings, _ body: @Sendable @escaping (IMAPSession) async throws -> Result) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: settings.host, port: settings.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(IMAPResponseDecoder()))
                    return try NIOAsyncChannel<IMAPResponse, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let pipeline = channel.channel.pipeline
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    let session = IMAPSession(responses: inbound.makeAsyncIterator(), outbound: outbound)
                    try await session.start(settings, pipeline: pipeline)
                    let result = try await body(session)
                    _ = try? await session.command("LOGOUT")
                    return result
                }
            }
            group.addTask {
                try await Task.sleep(for: settings.timeout)
                throw IMAPError(description: "\(settings.host):\(settings.port) did not finish within \(settings.timeout)")
            }
            defer { group.cancelAll() }
            return try await group.next()!!
        }
    }

    private func start(_ settings: MailboxSettings, pipeline: ChannelPipeline) async throws {
        guard let greeting = try await responses.next(), greeting.text.hasPrefix("* OK") else {
            throw IMAPError(description: "\(settings.host) did not greet as an IMAP server")
        }
        if settings.startTLS {
            _ = try await command("STARTTLS")
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caFile = settings.caFile { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) }
            let isAddress = (try? SocketAddress(ipAddress: settings.host, port: 0)) != nil
            try await pipeline.addHandler(
                try NIOSSLClientHandler(context: try NIOSSLContext(configuration: tls), serverHostname: isAddress ? nil : settings.host),
                position: .first)
        }
        _ = try await command("LOGIN \(Self.quoted(settings.username)) \(Self.quoted(settings.password))", shown: "LOGIN ***")
        _ = try await command("SELECT \(Self.quoted(settings.folder))")
    }

    /// UIDs of messages not yet seen, oldest first.
    public func unseen() async throws -> [UInt32] {
        let untagged = try await command("UID SEARCH UNSEEN")
        return untagged.filter { $0.text.hasPrefix("* SEARCH") }
            .flatMap { $0.text.dropFirst("* SEARCH".count).split(separator: " ").compactMap { UInt32($0) } }.sorted()
    }

    /// The whole message, as received, without marking it seen.
    public func fetch(_ uid: UInt32) async throws -> [UInt8]? {
        try await command("UID FETCH \(uid) (BODY.PEEK[])").first { !$0.literals.isEmpty }?.literals.first
    }

    public func markSeen(_ uid: UInt32) async throws {
        _ = try await command("UID STORE \(uid) +FLAGS.SILENT (\\Seen)")
    }

    /// Sends a tagged command; returns the untagged responses before its `OK`.
    private func command(_ text: String, shown: String? = nil) async throws -> [IMAPResponse] {
        tag += 1
        let label = "a\(tag)"
        try await outbound.write(ByteBuffer(string: "\(label) \(text)\r\n"))
        var untagged: [IMAPResponse] = []
        while let response = try await responses.next() {
            guard response.text.hasPrefix(label + " ") else {
                untagged.append(response)
                continue
            }
            let status = response.text.dropFirst(label.count + 1)
            guard status.hasPrefix("OK") else { throw IMAPError(description: "\(shown ?? text): \(status.prefix(200))") }
            return untagged
        }
        throw IMAPError(description: "the server closed the connection after \(shown ?? text)")
    }

    /// An IMAP quoted string.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// One server response: its text with each literal replaced by `{n}`, and the literals' bytes.
public struct IMAPResponse: Sendable {
    public var text: String
    public var literals: [[UInt8]]
}

/// Splits the byte stream into responses: a line, and when it ends in `{n}`, n bytes of
/// literal and the rest of the response after them. A message is at most 50 MiB.
struct IMAPResponseDecoder: ByteToMessageDecoder {
    typealias InboundOut = IMAPResponse
    static let maximumLiteral = 50 << 20

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        var view = buffer
        var text = ""
        var literals: [[UInt8]] = []
        while true {
            guard let end = view.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
                // A server that never ends its line must not fill our memory.
                guard view.readableBytes <= CappedLineDecoder.maximumLine else {
                    throw IMAPError(description: "a response line of over \(CappedLineDecoder.maximumLine) bytes")
                }
                return .needMoreData
            }
            // The line without its CR LF, cut as bytes: in a Swift string CR LF is one character.
            var bytes = view.readBytes(length: end - view.readerIndex + 1) ?? []
            while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
            let line = String(decoding: bytes, as: UTF8.self)
            if line.hasSuffix("}"), let open = line.lastIndex(of: "{"), let size = Int(line[line.index(after: open)..<line.index(before: line.endIndex)]) {
                guard size <= Self.maximumLiteral else { throw IMAPError(description: "a literal of \(size) bytes is over the limit") }
                guard let bytes = view.readBytes(length: size) else { return .needMoreData }
                text += line
                literals.append(bytes)
                continue
            }
            text += line
            buffer = view
            context.fireChannelRead(wrapInboundOut(IMAPResponse(text: text, literals: literals)))
            return .continue
        }
    }
}
