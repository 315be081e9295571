import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Where mail goes: an SMTP server (RFC 5321), with STARTTLS (RFC 3207) and AUTH PLAIN
/// (RFC 4954) when configured.
public struct SMTPSettings: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// Require STARTTLS before anything else is said (the default); false only for a relay on loopback.
    public var startTLS = true
    /// PEM file of the CA that signs the server's certificate; the system's CAs when absent.
    public var caFile: String?
    public var username: String?
    public var password: String?
    public var from: String
    /// The name given in EHLO.
    public var heloName = "itsm.localdomain"
    public var timeout: Duration = .seconds(30)

    public init(host: String, port: Int, from: String) {
        self.host = host
        self.port = port
        self.from = from
    }
}

/// A server's refusal or a broken conversation; `permanent` for a 5xx answer (retrying will
/// not help, e.g. an unknown mailbox), otherwise worth another attempt.
public struct SMTPError: Error, CustomStringConvertible {
    public var description: String
    public var permanent: Bool
}

/// Sends one message per connection, on SwiftNIO: short conversations, nothing kept open
/// between notifications.
public enum SMTPClient {
    public static func send(_ message: MailMessage, settings: SMTPSettings) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: settings.host, port: settings.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(CappedLineDecoder()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let pipeline = channel.channel.pipeline
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    var conversation = Conversation(lines: inbound.makeAsyncIterator(), outbound: outbound)
                    try await conversation.expect([220])
                    var extensions = try await conversation.command("EHLO \(settings.heloName)", expect: [250])
                    if settings.startTLS {
                        guard extensions.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) else {
                            throw SMTPError(description: "\(settings.host) does not offer STARTTLS; set startTLS: false only for a relay on loopback",
                                            permanent: true)
                        }
                        _ = try await conversation.command("STARTTLS", expect: [220])
                        var tls = TLSConfiguration.makeClientConfiguration()
                        if let caFile = settings.caFile { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) }
                        let isAddress = (try? SocketAddress(ipAddress: settings.host, port: 0)) != nil
                        let handler = try NIOSSLClientHandler(context: try NIOSSLContext(configuration: tls),
                                                              serverHostname: isAddress ? nil : settings.host)
                        try await pipeline.addHandler(handler, position: .first)
                        extensions = try await conversation.command("EHLO \(settings.heloName)", expect: [250])
                    }
                    if let username = settings.username {
                        guard extensions.contains(where: { $0.uppercased().hasPrefix("AUTH") && $0.uppercased().contains("PLAIN") }) else {
                            throw SMTPError(description: "\(settings.host) does not offer AUTH PLAIN", permanent: true)
                        }
                        let credentials = Data(("\0" + username + "\0" + (settings.password ?? "")).utf8).base64EncodedString()
                        _ = try await conversation.command("AUTH PLAIN \(credentials)", expect: [235], shown: "AUTH PLAIN ***")
                    }
                    _ = try await conversation.command("MAIL FROM:<\(settings.from)>", expect: [250])
                    for recipient in message.to {
                        _ = try await conversation.command("RCPT TO:<\(recipient)>", expect: [250, 251])
                    }
                    _ = try await conversation.command("DATA", expect: [354])
                    // Dot-stuffing (RFC 5321 4.5.2): a line starting with a dot gets another.
                    let body = message.rendered.split(separator: "\r\n", omittingEmptySubsequences: false)
                        .map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n")
                    try await outbound.write(ByteBuffer(string: body + "\r\n.\r\n"))
                    try await conversation.expect([250])
                    _ = try? await conversation.command("QUIT", expect: [221])
                }
            }
            group.addTask {
                try await Task.sleep(for: settings.timeout)
                throw SMTPError(description: "\(settings.host):\(settings.port) did not finish within \(settings.timeout)", permanent: false)
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Commands and their multi-line replies (`250-…` continues, `250 …` ends).
    struct Conversation {
        var lines: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

        mutating func command(_ line: String, expect codes: Set<Int>, shown: String? = nil) async throws -> [String] {
            try await outbound.write(ByteBuffer(string: line + "\r\n"))
            return try await expect(codes, after: shown ?? line)
        }

        /// The reply's text lines, or an error naming the command and the server's answer.
        @discardableResult
        mutating func expect(_ codes: Set<Int>, after command: String = "connecting") async throws -> [String] {
            var text: [String] = []
            while true {
                guard var buffer = try await lines.next(), let line = buffer.readString(length: buffer.readableBytes) else {
                    throw SMTPError(description: "the server closed the connection after \(command)", permanent: false)
                }
                let trimmed = line.hasSuffix("\r") ? String(line.dropLast()) : line
                guard trimmed.count >= 3, let code = Int(trimmed.prefix(3)) else {
                    throw SMTPError(description: "not an SMTP reply after \(command): \(trimmed.prefix(80))", permanent: false)
                }
                text.append(String(trimmed.dropFirst(4)))
                guard trimmed.count > 3, trimmed[trimmed.index(trimmed.startIndex, offsetBy: 3)] == "-" else {
                    guard codes.contains(code) else {
                        throw SMTPError(description: "\(command): the server answered \(trimmed.prefix(200))", permanent: (500..<600).contains(code))
                    }
                    return text
                }
            }
        }
    }
}

/// A notification as mail: plain text and HTML alternatives, UTF-8, each part in base64 so
/// no line is too long and no byte is mangled. Header values lose any line break, so a record's
/// title cannot add headers.
public struct MailMessage: Sendable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var text: String
    public var html: String?
    /// Stable per notification: a resend after a crash carries the same id, so a mailbox can tell.
    public var messageID: String
    public var date = Date()
    public var extraHeaders: [(String, String)] = []

    public init(from: String, to: [String], subject: String, text: String, html: String?, messageID: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.messageID = messageID
    }

    /// The message as sent after DATA (CRLF line ends, before dot-stuffing).
    public var rendered: String {
        let boundary = "itsm-" + messageID.filter { $0.isLetter || $0.isNumber }
        var headers = [
            ("From", from), ("To", to.joined(separator: ", ")), ("Subject", Self.encodedWord(subject)),
            ("Date", Self.rfc5322(date)), ("Message-ID", "<\(messageID)>"), ("MIME-Version", "1.0"),
            // RFC 3834: automatic mail; well-behaved systems do not answer it with an auto-reply.
            ("Auto-Submitted", "auto-generated"),
        ] + extraHeaders
        func part(_ type: String, _ content: String) -> String {
            "Content-Type: \(type); charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + Self.base64Lines(content)
        }
        let body: String
        if let html {
            headers.append(("Content-Type", "multipart/alternative; boundary=\"\(boundary)\""))
            body = "--\(boundary)\r\n" + part("text/plain", text) + "\r\n--\(boundary)\r\n" + part("text/html", html) + "\r\n--\(boundary)--\r\n"
        } else {
            headers += [("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "base64")]
            body = Self.base64Lines(text) + "\r\n"
        }
        return headers.map { "\($0.0): \(Self.headerValue($0.1))" }.joined(separator: "\r\n") + "\r\n\r\n" + body
    }

    static func headerValue(_ value: String) -> String {
        value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }

    /// RFC 2047: a subject with anything beyond printable ASCII as a UTF-8 encoded word.
    static func encodedWord(_ text: String) -> String {
        let plain = text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7f }
        return plain ? text : "=?UTF-8?B?" + Data(headerValue(text).utf8).base64EncodedString() + "?="
    }

    static func base64Lines(_ text: String) -> String {
        let encoded = Data(text.utf8).base64EncodedString()
        return stride(from: 0, to: encoded.count, by: 76).map { start in
            let from = encoded.index(encoded.startIndex, offsetBy: start)
            return String(encoded[from..<(encoded.index(from, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex)])
        }.joined(separator: "\r\n")
    }

    static func rfc5322(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss +0000"
        return formatter.string(from: date)
    }
}

/// Lines of a mail server's replies, without their line end, at most `maximumLine` bytes: a
/// server that never ends a line is cut off instead of filling our memory.
struct CappedLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    static let maximumLine = 64 * 1024

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            guard buffer.readableBytes <= Self.maximumLine else {
                throw SMTPError(description: "a reply line of over \(Self.maximumLine) bytes", permanent: false)
            }
            return .needMoreData
        }
        var line = buffer.readSlice(length: end - buffer.readerIndex + 1)!
        line.moveWriterIndex(to: line.writerIndex - 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") { line.moveWriterIndex(to: line.writerIndex - 1) }
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }
}
