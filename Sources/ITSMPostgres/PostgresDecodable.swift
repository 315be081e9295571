import Foundation

/// A Swift value that can be read from a column in PostgreSQL's text output format.
public protocol PostgresDecodable: Sendable {
    /// Decodes a non-NULL value.
    init(postgresText text: String, type: PostgresDataType) throws
    /// The value for SQL NULL; non-optional types throw `unexpectedNull`.
    static func postgresNull() throws -> Self
}

extension PostgresDecodable {
    public static func postgresNull() throws -> Self {
        throw PostgresError(code: .unexpectedNull, message: "NULL where \(Self.self) was expected")
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public init(postgresText text: String, type: PostgresDataType) throws {
        self = try Wrapped(postgresText: text, type: type)
    }
    public static func postgresNull() throws -> Self { nil }
}

private func decodingFailure(_ text: String, as type: Any.Type) -> PostgresError {
    PostgresError(code: .decodingFailed, message: "cannot read '\(text.prefix(64))' as \(type)")
}

extension String: PostgresDecodable {
    public init(postgresText text: String, type: PostgresDataType) throws { self = text }
}

extension Int: PostgresDecodable {
    public init(postgresText text: String, type: PostgresDataType) throws {
        guard let value = Int(text) else { throw decodingFailure(text, as: Int.self) }
        self = value
    }
}

extension Int64: PostgresDecodable {
    public init(postgresText text: String, type: PostgresDataType) throws {
        guard let value = Int64(text) else { throw decodingFailure(text, as: Int64.self) }
        self = value
    }
}

extension Int32: PostgresDecodable {
    public init(postgresText text: String, type: PostgresDataType) throws {
        guard let value = Int32(text) else { throw decodingFailure(text, as: Int32.self) }
        self = value
    }
}

extension Bool: PostgresDecodable {
    public init(postgresText text: String, type: PostgresDataType) throws {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw decodingFailure(text, as: Bool.self)
        }
    }
}

extension Double: PostgresDecodable {
    public init(postgresText text: String, type: PostgresDataType) throws {
        switch text {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default:
            guard let value = Double(text) else { throw decodingFailure(text, as: Double.self) }
            self = value
        }
    }
}

extension Decimal: PostgresDecodable {
    public init(postgresText text: String, type: PostgresDataType) throws {
        guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else {
            throw decodingFailure(text, as: Decimal.self)
        }
        self = value
    }
}

extension UUID: PostgresDecodable {
    public init(postgresText text: String, type: PostgresDataType) throws {
        guard let value = UUID(uuidString: text) else { throw decodingFailure(text, as: UUID.self) }
        self = value
    }
}

extension Date: PostgresDecodable {
    public init(postgresText text: String, type: PostgresDataType) throws {
        guard let value = PostgresTimestamp.parse(text) else { throw decodingFailure(text, as: Date.self) }
        self = value
    }
}

extension Array: PostgresDecodable where Element: PostgresArrayElement {
    public init(postgresText text: String, type: PostgresDataType) throws {
        guard let items = PostgresArrayLiteral.parse(text) else { throw decodingFailure(text, as: Self.self) }
        self = try items.map { item in
            guard let item else { return try Element.postgresNull() }
            return try Element(postgresText: item, type: .unspecified)
        }
    }
}

/// A `json` or `jsonb` value, kept as its text; encode and decode it with `Codable`.
public struct PostgresJSON: PostgresEncodable, PostgresDecodable, Hashable {
    /// The JSON document as text.
    public var text: String

    public init(text: String) { self.text = text }

    /// Encodes `value` with `JSONEncoder`.
    public init(encoding value: some Encodable) throws {
        let data: Data
        do {
            data = try JSONEncoder().encode(value)
        } catch {
            throw PostgresError(code: .encodingFailed, message: "cannot encode \(type(of: value)) as JSON")
        }
        self.text = String(decoding: data, as: UTF8.self)
    }

    /// Decodes the document with `JSONDecoder`.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw PostgresError(code: .decodingFailed, message: "cannot decode JSON column as \(T.self)")
        }
    }

    public static var postgresType: PostgresDataType { .jsonb }
    public var postgresText: String? { text }
    public init(postgresText text: String, type: PostgresDataType) throws { self.text = text }
}
