import Foundation

/// A received message, read for what the desk needs: who sent it, its subject, its text, and
/// whether a person wrote it (not an auto-reply, a bounce, a list, or one of our own).
public struct InboundMail: Sendable, Hashable {
    public var messageID: String
    /// The sender's address, lower-cased.
    public var from: String
    public var subject: String
    /// The plain text, without the quoted message a reply carries below it.
    public var text: String
    /// Why it must not become a ticket (an auto-reply, a bounce, our own mail), or nil.
    public var automatic: String?

    /// `ownAddress`: the address our mail comes from; mail from it is ours.
    public init(_ raw: [UInt8], ownAddress: String?) {
        let message = String(decoding: raw, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        let (headers, body) = Self.split(message)
        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name }?.value }
        let fromHeader = Self.decodeWords(header("from") ?? "")
        from = (Self.address(in: fromHeader) ?? "").lowercased()
        subject = Self.decodeWords(header("subject") ?? "").trimmingCharacters(in: .whitespaces)
        messageID = header("message-id")?.trimmingCharacters(in: CharacterSet(charactersIn: "<> ")) ?? ""
        text = Self.withoutQuote(Self.plainText(headers: headers, body: body)).trimmingCharacters(in: .whitespacesAndNewlines)

        let precedence = header("precedence")?.lowercased() ?? ""
        let sender = from.split(separator: "@").first.map(String.init) ?? ""
        if let auto = header("auto-submitted")?.lowercased(), !auto.hasPrefix("no") {
            automatic = "an automatic message (Auto-Submitted: \(auto))"
        } else if header("x-itsm-event") != nil || (ownAddress.map { $0.lowercased() == from } ?? false) {
            automatic = "our own mail"
        } else if header("return-path")?.trimmingCharacters(in: .whitespaces) == "<>" || ["mailer-daemon", "postmaster"].contains(sender)
                    || (header("content-type")?.lowercased().contains("multipart/report") ?? false) {
            automatic = "a delivery report (bounce)"
        } else if ["bulk", "junk", "list", "auto_reply"].contains(precedence) {
            automatic = "a bulk or list message (Precedence: \(precedence))"
        } else if header("x-autoreply") != nil || header("x-autorespond") != nil || header("list-id") != nil {
            automatic = "an auto-reply or list message"
        } else if from.isEmpty {
            automatic = "no sender address"
        } else {
            automatic = nil
        }
    }

    /// The record a reply is about: the first incident number in the subject.
    public var recordNumber: String? {
        subject.firstMatch(of: /INC-[0-9]{6,}/).map { String($0.output) }
    }

    // MARK: - Reading MIME (RFC 5322, 2045-2047)

    typealias Header = (name: String, value: String)

    /// Headers (unfolded) and the body.
    static func split(_ message: String) -> ([Header], String) {
        let parts = message.components(separatedBy: "\n\n")
        var headers: [Header] = []
        for line in (parts.first ?? "").split(separator: "\n", omittingEmptySubsequences: false) {
            if let first = line.first, first == " " || first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += " " + line.trimmingCharacters(in: .whitespaces)
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
        }
        return (headers, parts.dropFirst().joined(separator: "\n\n"))
    }

    /// The first text/plain part (or the HTML one, without its tags), decoded.
    static func plainText(headers: [Header], body: String) -> String {
        let type = headers.first { $0.name.lowercased() == "content-type" }?.value ?? "text/plain"
        let encoding = headers.first { $0.name.lowercased() == "content-transfer-encoding" }?.value.lowercased() ?? "7bit"
        let lowered = type.lowercased()
        if lowered.hasPrefix("multipart/"), let boundary = parameter("boundary", in: type) {
            let parts = body.components(separatedBy: "--" + boundary).dropFirst().filter { !$0.hasPrefix("--") }
            let read = parts.map { part -> (String, String) in
                let (partHeaders, partBody) = split(String(part.drop { $0 == "\n" }))
                let partType = partHeaders.first { $0.name.lowercased() == "content-type" }?.value.lowercased() ?? "text/plain"
                return (partType, plainText(headers: partHeaders, body: partBody))
            }
            return (read.first { $0.0.hasPrefix("text/plain") || $0.0.hasPrefix("multipart/") } ?? read.first)?.1 ?? ""
        }
        let charset = parameter("charset", in: type)?.lowercased() ?? "utf-8"
        let bytes: [UInt8] = switch encoding {
        case "base64": Array(Data(base64Encoded: body.filter { !$0.isWhitespace }) ?? Data())
        case "quoted-printable": quotedPrintable(body)
        default: Array(body.utf8)
        }
        let text = ["iso-8859-1", "latin1", "windows-1252", "us-ascii"].contains(charset)
            ? String(bytes: bytes, encoding: .isoLatin1) ?? "" : String(decoding: bytes, as: UTF8.self)
        return lowered.hasPrefix("text/html") ? text.replacing(/<[^>]*>/, with: "") : text
    }

    static func parameter(_ name: String, in value: String) -> String? {
        for part in value.split(separator: ";").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == name { return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        return nil
    }

    static func quotedPrintable(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        let source = Array(text.replacingOccurrences(of: "=\n", with: "").utf8)
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "="), index + 2 < source.count,
               let byte = UInt8(String(decoding: source[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) {
                bytes.append(byte)
                index += 3
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return bytes
    }

    /// RFC 2047 encoded words (`=?utf-8?B?…?=`, `=?iso-8859-1?Q?…?=`) as text.
    static func decodeWords(_ value: String) -> String {
        // Space between two encoded words is not text (RFC 2047 6.2); around them it is.
        value.replacing(/\?=\s+=\?/, with: "?==?").replacing(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/) { match in
            let (charset, kind, text) = (String(match.output.1).lowercased(), String(match.output.2).uppercased(), String(match.output.3))
            let bytes = kind == "B" ? Array(Data(base64Encoded: text) ?? Data())
                                    : quotedPrintable(text.replacingOccurrences(of: "_", with: " "))
            return charset == "utf-8" ? String(decoding: bytes, as: UTF8.self) : String(bytes: bytes, encoding: .isoLatin1) ?? ""
        }
    }

    static func address(in from: String) -> String? {
        if let open = from.lastIndex(of: "<"), let close = from.lastIndex(of: ">"), open < close {
            return String(from[from.index(after: open)..<close]).trimmingCharacters(in: .whitespaces)
        }
        let bare = from.trimmingCharacters(in: .whitespaces)
        return bare.contains("@") ? bare : nil
    }

    /// The text above the quoted message: lines up to "On … wrote:" or the first quoted line.
    static func withoutQuote(_ text: String) -> String {
        var kept: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix(">") || (trimmed.hasPrefix("On ") && trimmed.hasSuffix("wrote:")) || trimmed == "-----Original Message-----" { break }
            kept.append(line)
        }
        return kept.joined(separator: "\n")
    }
}
