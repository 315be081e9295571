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
public final class IMAPSession: @unchecked Sendable {
    private let channel: NIOAsyncChannel<IMAPResponse, ByteBuffer>
    private var responses: NIOAsyncChannelInboundStream<IMAPResponse>.AsyncIterator
    private var tag = 0

    private init(channel: NIOAsyncChannel<IMAPResponse, ByteBuffer>) {
        self.channel = channel
        responses = channel.inbound.makeAsyncIterator()
    }

    /// Connects, upgrades to TLS when configured, logs in and selects the folder.
    public static func open(_ settings: MailboxSettings) async throws -> IMAPSession {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: settings.host, port: settings.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(IMAPResponseDecoder()))
                    return try NIOAsyncChannel<IMAPResponse, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let session = IMAPSession(channel: channel)
        do {
            guard let greeting = try await session.responses.next(), greeting.text.hasPrefix("* OK") else {
                throw IMAPError(description: "\(settings.host) did not greet as an IMAP server")
            }
            if settings.startTLS {
                _ = try await session.command("STARTTLS")
                var tls = TLSConfiguration.makeClientConfiguration()
                if let caFile = settings.caFile { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) }
                let isAddress = (try? SocketAddress(ipAddress: settings.host, port: 0)) != nil
                try await channel.channel.pipeline.addHandler(
                    try NIOSSLClientHandler(context: try NIOSSLContext(configuration: tls), serverHostname: isAddress ? nil : settings.host),
                    position: .first)
            }
            _ = try await session.command("LOGIN \(quoted(settings.username)) \(quoted(settings.password))", shown: "LOGIN ***")
            _ = try await session.command("SELECT \(quoted(settings.folder))")
            return session
        } catch {
            await session.close()
            throw error
        }
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

    public func close() async {
        _ = try? await command("LOGOUT")
        try? await channel.channel.close()
    }

    /// Sends a tagged command; returns the untagged responses before its `OK`.
    private func command(_ text: String, shown: String? = nil) async throws -> [IMAPResponse] {
        tag += 1
        let label = "a\(tag)"
        try await channel.outbound.write(ByteBuffer(string: "\(label) \(text)\r\n"))
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
            guard let end = view.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return .needMoreData }
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
