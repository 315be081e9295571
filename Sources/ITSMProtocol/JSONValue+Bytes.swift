import Foundation

/// Reading and writing `JSONValue` straight from and to UTF-8 bytes.
///
/// Every protocol line and HTTP body passes through here, so it avoids `Codable`'s
/// try-each-type decoding. It follows RFC 8259: no comments, no trailing commas, strings
/// with `\uXXXX` escapes and surrogate pairs, nesting limited to `maximumDepth` so a hostile
/// document cannot exhaust the stack.
extension JSONValue {
    public static let maximumDepth = 512
    /// How deep params may nest: a request line wraps them in two more levels, so params that
    /// pass the coordinator's check also pass every plugin's parser (and Foundation's, 512).
    public static let maximumParamsDepth = maximumDepth - 8

    /// Why these params cannot be sent on, naming where: a NUL character in a string or a key
    /// (no text column can hold one, and C-based peers cut the text short there), or nesting
    /// deeper than `maximumParamsDepth`. `nil` when they can.
    public func inputProblem(at path: String = "params") -> String? {
        func visit(_ value: JSONValue, _ path: String, _ depth: Int) -> String? {
            guard depth <= JSONValue.maximumParamsDepth else { return "\(path): nested deeper than \(JSONValue.maximumParamsDepth) levels" }
            switch value {
            case .string(let text) where text.utf8.contains(0):
                return "\(path): contains a NUL character (U+0000), which text cannot hold"
            case .array(let values):
                for (index, element) in values.enumerated() {
                    if let problem = visit(element, "\(path)[\(index)]", depth + 1) { return problem }
                }
            case .object(let members):
                for (key, member) in members.sorted(by: { $0.key < $1.key }) {
                    if key.utf8.contains(0) { return "\(path): a member name contains a NUL character (U+0000)" }
                    if let problem = visit(member, "\(path).\(key)", depth + 1) { return problem }
                }
            default:
                break
            }
            return nil
        }
        return visit(self, path, 1)
    }

    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    /// Parses one JSON document; only white space may follow it.
    public static func parse(_ bytes: some Collection<UInt8>) throws(ParseError) -> JSONValue {
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { (buffer) throws(ParseError) -> JSONValue in
            var parser = Parser(bytes: buffer)
            parser.skipWhitespace()
            let value = try parser.value(depth: 0)
            parser.skipWhitespace()
            guard parser.index == buffer.count else { throw parser.failure("unexpected text after the document") }
            return value
        }
    }

    /// The value as compact JSON with sorted keys and unescaped slashes.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out)
        return out
    }

    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let value): out += Array((value ? "true" : "false").utf8)
        case .int(let value): out += Array(String(value).utf8)
        case .double(let value):
            // JSON has no NaN or infinity; integral doubles keep a fraction to stay doubles.
            out += value.isFinite ? Array("\(value)".utf8) : Array("null".utf8)
        case .string(let value): Self.writeString(value, into: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (offset, value) in values.enumerated() {
                if offset > 0 { out.append(UInt8(ascii: ",")) }
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (offset, key) in members.keys.sorted().enumerated() {
                if offset > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x00..<0x20:
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                        hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func failure(_ reason: String) -> JSONValue.ParseError { JSONValue.ParseError(offset: index, reason: reason) }

    mutating func skipWhitespace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
    }

    mutating func value(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        guard depth < JSONValue.maximumDepth else { throw failure("nested deeper than \(JSONValue.maximumDepth) levels") }
        guard index < bytes.count else { throw failure("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw failure("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONValue.ParseError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw failure("unexpected end") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw failure("unexpected character")
        }
        index += count
    }

    mutating func object(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw failure("expected a member name") }
            let key = try string()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw failure("expected ':'") }
            index += 1
            skipWhitespace()
            members[key] = try value(depth: depth + 1)
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            throw failure("expected ',' or '}'")
        }
    }

    mutating func array(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        index += 1
        var values: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(values)
        }
        while true {
            skipWhitespace()
            values.append(try value(depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(values) }
            throw failure("expected ',' or ']'")
        }
    }

    mutating func string() throws(JSONValue.ParseError) -> String {
        index += 1
        let start = index
        // Fast path: no escapes, so the bytes are the string.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw failure("control character in a string") }
            index += 1
        }
        var scratch = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw failure("unexpected end") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(escape)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A high surrogate must be followed by \u and a low one.
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw failure("unpaired surrogate")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw failure("unpaired surrogate")
                    }
                    scratch += Array(String(Character(Unicode.Scalar(scalar)!)).utf8)
                default:
                    throw failure("unknown escape")
                }
            default:
                if byte < 0x20 { throw failure("control character in a string") }
                scratch.append(byte)
                index += 1
            }
        }
        throw failure("unterminated string")
    }

    mutating func hex4() throws(JSONValue.ParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("unexpected end") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("bad \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    mutating func number() throws(JSONValue.ParseError) -> JSONValue {
        let (start, isInteger) = try numberExtent()
        return try numberValue(from: start, isInteger: isInteger)
    }

    /// Reads past a number's text, checking its grammar: where it starts, and whether it
    /// has neither fraction nor exponent.
    mutating func numberExtent() throws(JSONValue.ParseError) -> (start: Int, isInteger: Bool) {
        let start = index
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else { throw failure("bad number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else { throw failure("bad number") }
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else { throw failure("bad number") }
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        }
        return (start, isInteger)
    }

    /// The number whose text runs from `start` to here.
    func numberValue(from start: Int, isInteger: Bool) throws(JSONValue.ParseError) -> JSONValue {
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let integer = Int64(text) { return .int(integer) }
        guard let double = Double(text) else { throw failure("bad number") }
        // 1e400 would become infinity, which JSON cannot write back: out of range, not a value.
        guard double.isFinite else { throw failure("number out of range") }
        return .double(double)
    }

    // MARK: - Checking without building

    /// Reads past one value exactly as `value(depth:)` would read it, building nothing. True
    /// when it holds bytes beyond ASCII, whose UTF-8 the caller then checks: `string()` would
    /// have replaced a malformed sequence, a value passed on as it came cannot.
    mutating func skipValue(depth: Int) throws(JSONValue.ParseError) -> Bool {
        guard depth < JSONValue.maximumDepth else { throw failure("nested deeper than \(JSONValue.maximumDepth) levels") }
        guard index < bytes.count else { throw failure("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try skipMembers(depth: depth, closing: UInt8(ascii: "}"), named: true)
        case UInt8(ascii: "["): return try skipMembers(depth: depth, closing: UInt8(ascii: "]"), named: false)
        case UInt8(ascii: "\""): return try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let (start, isInteger) = try numberExtent()
            // Only a fraction, an exponent or more digits than Int64 holds can be out of range.
            if !isInteger || index - start > 18 { _ = try numberValue(from: start, isInteger: isInteger) }
        default: throw failure("unexpected character")
        }
        return false
    }

    /// An object's members (`named`) or an array's elements, past the closing bracket.
    private mutating func skipMembers(depth: Int, closing: UInt8, named: Bool) throws(JSONValue.ParseError) -> Bool {
        index += 1
        var beyondASCII = false
        skipWhitespace()
        if index < bytes.count, bytes[index] == closing {
            index += 1
            return false
        }
        while true {
            skipWhitespace()
            if named {
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw failure("expected a member name") }
                beyondASCII = try skipString() || beyondASCII
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw failure("expected ':'") }
                index += 1
                skipWhitespace()
            }
            beyondASCII = try skipValue(depth: depth + 1) || beyondASCII
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == closing { index += 1; return beyondASCII }
            throw failure(named ? "expected ',' or '}'" : "expected ',' or ']'")
        }
    }

    /// Past a string; one with escapes is read by `string()`, which checks them.
    private mutating func skipString() throws(JSONValue.ParseError) -> Bool {
        let opening = index
        index += 1
        var beyondASCII = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return beyondASCII
            }
            if byte == UInt8(ascii: "\\") {
                index = opening
                _ = try string()
                return true
            }
            if byte < 0x20 { throw failure("control character in a string") }
            if byte >= 0x80 { beyondASCII = true }
            index += 1
        }
        throw failure("unterminated string")
    }
}

extension RawJSON {
    /// The id and result of a response line `{"jsonrpc":"2.0","id":…,"result":…}` (members in
    /// any order, no others, the id a string or an integer), the result checked as
    /// `JSONValue.parse` checks it and kept as it came. Nil for any other line, which the
    /// caller then decodes in full (and refuses, if it must).
    public static func response(line: [UInt8]) -> (id: RequestID, result: RawJSON)? {
        line.withUnsafeBufferPointer { buffer -> (id: RequestID, result: RawJSON)? in
            var parser = Parser(bytes: buffer)
            var version = false
            var id: RequestID?
            var result: Range<Int>?
            var beyondASCII = false
            do {
                parser.skipWhitespace()
                guard parser.index < buffer.count, buffer[parser.index] == UInt8(ascii: "{") else { return nil }
                parser.index += 1
                while true {
                    parser.skipWhitespace()
                    guard parser.index < buffer.count, buffer[parser.index] == UInt8(ascii: "\"") else { return nil }
                    let name = try parser.string()
                    parser.skipWhitespace()
                    guard parser.index < buffer.count, buffer[parser.index] == UInt8(ascii: ":") else { return nil }
                    parser.index += 1
                    parser.skipWhitespace()
                    switch name {
                    case "jsonrpc" where !version:
                        guard case .string("2.0") = try parser.value(depth: 1) else { return nil }
                        version = true
                    case "id" where id == nil:
                        switch try parser.value(depth: 1) {
                        case .int(let number): id = .number(number)
                        case .string(let text): id = .string(text)
                        default: return nil
                        }
                    case "result" where result == nil:
                        let start = parser.index
                        beyondASCII = try parser.skipValue(depth: 1)
                        result = start..<parser.index
                    default:
                        return nil
                    }
                    parser.skipWhitespace()
                    guard parser.index < buffer.count else { return nil }
                    if buffer[parser.index] == UInt8(ascii: ",") { parser.index += 1; continue }
                    guard buffer[parser.index] == UInt8(ascii: "}") else { return nil }
                    parser.index += 1
                    break
                }
                parser.skipWhitespace()
            } catch {
                return nil
            }
            guard parser.index == buffer.count, version, let id, let result else { return nil }
            let bytes = UnsafeBufferPointer(rebasing: buffer[result])
            if beyondASCII, String(validating: bytes, as: UTF8.self) == nil { return nil }
            return (id, RawJSON(checked: Array(bytes)))
        }
    }
}
