import Foundation
import ITSMSystem

/// Any JSON value. Used for params, results and event payloads whose shape the transport does
/// not know; typed code converts with `init(encoding:)` and `decode(_:)`.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Converts any `Encodable` value (a typed result, an event payload) to a JSON value,
    /// directly (no JSON text in between), as `JSONCoding.encoder` would write it.
    public init(encoding value: some Encodable) throws {
        self = try JSONValueEncoder.encode(value)
    }

    /// Converts this value to a `Decodable` type, e.g. a method's typed params, directly from
    /// the tree, as `JSONCoding.decoder` would read its text.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONValueDecoder(value: self, codingPath: []).decode(T.self)
    }

    /// The member `key` of an object, `nil` for other values.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var intValue: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value) where value.rounded() == value && abs(value) < 9.0e15: return Int64(value)
        default: return nil
        }
    }

    /// A number, whole or not.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

/// The encoder and decoder the protocol uses: compact output, sorted keys (stable lines for
/// logs and tests), dates as ISO 8601 with fractional seconds.
public enum JSONCoding {
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(string(from: date))
        }
        return encoder
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = date(from: text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "expected an ISO 8601 date on a real day in the years 0001 to 9999, got \(text.prefix(64))")
            }
            return date
        }
        return decoder
    }

    /// A time as the toolkit writes it: ISO 8601 in UTC with milliseconds.
    public static func string(from date: Date) -> String { date.formatted(iso8601) }

    /// An ISO 8601 time as the toolkit writes it (with milliseconds) or without fractions, in
    /// the years 0001 to 9999. `nil` for anything else, and for a day the calendar does not
    /// have (`2026-02-30`), which the system parser would roll over into March.
    public static func date(from text: String) -> Date? {
        if let date = RFC3339.date(text) { return date }
        guard let date = (try? iso8601.parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text)),
              date >= earliestDate, date < endOfDates, dayExists(in: text), timeExists(in: text) else { return nil }
        return date
    }

    /// 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z: what PostgreSQL, ISO 8601 and every
    /// encoder on the way can hold.
    public static let earliestDate = Date(timeIntervalSince1970: -62_135_596_800)
    public static let endOfDates = Date(timeIntervalSince1970: 253_402_300_800)

    /// Whether the `YYYY-MM-DD` the text starts with names a real day.
    static func dayExists(in text: String) -> Bool {
        let digits = Array(text.utf8.prefix(10))
        guard digits.count == 10, digits[4] == UInt8(ascii: "-"), digits[7] == UInt8(ascii: "-") else { return true }
        func number(_ range: Range<Int>) -> Int? {
            range.reduce(0) { total, index in
                guard let total, (48...57).contains(digits[index]) else { return nil }
                return total * 10 + Int(digits[index] - 48)
            }
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), (1...12).contains(month) else { return false }
        return (1...CivilDays.inMonth(Int64(month), of: Int64(year))).contains(Int64(day))
    }

    /// Whether the `THH:MM[:SS]` after the date is a time of day (the system parser reads
    /// `12:99` as 13:39).
    static func timeExists(in text: String) -> Bool {
        let characters = Array(text.utf8)
        guard characters.count >= 16, characters[10] == UInt8(ascii: "T") || characters[10] == UInt8(ascii: " ") else { return true }
        func number(_ at: Int) -> Int? {
            guard at + 1 < characters.count, (48...57).contains(characters[at]), (48...57).contains(characters[at + 1]) else { return nil }
            return Int(characters[at] - 48) * 10 + Int(characters[at + 1] - 48)
        }
        guard let hour = number(11), let minute = number(14), hour <= 23, minute <= 59 else { return false }
        if characters.count > 17, characters[16] == UInt8(ascii: ":") {
            guard let second = number(17), second <= 59 else { return false }
        }
        return true
    }

    static let iso8601 = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
