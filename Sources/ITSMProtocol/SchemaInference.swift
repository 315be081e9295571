import Foundation

/// Derives a params type's JSON Schema from its `Decodable` conformance, so a Swift plugin
/// declares schemas without writing them: a probing decoder records each member the type asks
/// for (`decode` makes it required, `decodeIfPresent` optional) and answers with a stand-in
/// value. Strings, numbers, booleans, dates (`date-time`), UUIDs, arrays, string-keyed
/// dictionaries, `JSONValue` (anything) and enums (`CaseIterable` with string raw values, listed)
/// are understood; a type that checks its own values declares `JSONSchemaProviding`.
/// Returns nil when the type cannot be probed; the method is then checked by the plugin only.
public enum SchemaInference {
    public static func schema<T: Decodable>(of type: T.Type) -> JSONSchema? {
        let probe = Probe()
        guard (try? probe.value(of: type)) != nil else { return nil }
        return probe.schema(of: type)
    }

    /// A result type's schema, read from its `Decodable` conformance when it has one (a
    /// synthesized `Codable` encodes what it decodes). Nil for an encode-only type, or one that
    /// may be anything (`JSONValue`): the result is then not described.
    public static func resultSchema<T: Encodable>(of type: T.Type) -> JSONSchema? {
        guard let decodable = type as? any Decodable.Type, let schema = schema(of: decodable), schema != .any else { return nil }
        return schema
    }
}

/// Array and dictionary types, seen through their element types.
private protocol ProbedArray { static var elementType: any Decodable.Type { get } }
extension Array: ProbedArray where Element: Decodable { static var elementType: any Decodable.Type { Element.self } }
private protocol ProbedDictionary { static var valueType: any Decodable.Type { get } }
extension Dictionary: ProbedDictionary where Key == String, Value: Decodable { static var valueType: any Decodable.Type { Value.self } }
private protocol ProbedOptional { static var wrappedType: any Decodable.Type { get } }
extension Optional: ProbedOptional where Wrapped: Decodable { static var wrappedType: any Decodable.Type { Wrapped.self } }

private final class Probe {
    /// Schemas found so far, by type; a type being probed is in `inProgress` (recursion is "any").
    private var schemas: [ObjectIdentifier: JSONSchema] = [:]
    private var inProgress: Set<ObjectIdentifier> = []

    func schema(of type: any Decodable.Type) -> JSONSchema { schemas[ObjectIdentifier(type)] ?? .any }

    /// A stand-in value of `type`, recording its schema on the way.
    func value<T: Decodable>(of type: T.Type) throws -> T {
        let id = ObjectIdentifier(type)
        if let special = try special(type) { return special }
        guard !inProgress.contains(id) else { throw ProbeError.recursive }
        inProgress.insert(id)
        defer { inProgress.remove(id) }
        let decoder = ProbeDecoder(probe: self)
        let value = try T(from: decoder)
        schemas[id] = decoder.recorded
        return value
    }

    /// Types understood without asking them to decode themselves.
    private func special<T: Decodable>(_ type: T.Type) throws -> T? {
        let id = ObjectIdentifier(type)
        func record(_ schema: JSONSchema, _ value: Any) -> T? {
            schemas[id] = schema
            return value as? T
        }
        if let provider = type as? any JSONSchemaProviding.Type {
            schemas[id] = provider.jsonSchema
            // A stand-in decoded from the first value its schema allows.
            guard let example = provider.jsonSchema.enum?.first else { throw ProbeError.unsupported }
            return try JSONValue.string(example).decode(T.self)
        }
        switch type {
        case is String.Type: return record(.string(), "")
        case is Bool.Type: return record(JSONSchema(type: .boolean), false)
        case is Int.Type: return record(JSONSchema(type: .integer), 0)
        case is Int64.Type: return record(JSONSchema(type: .integer), Int64(0))
        case is Int32.Type: return record(JSONSchema(type: .integer), Int32(0))
        case is Double.Type: return record(JSONSchema(type: .number), 0.0)
        case is Float.Type: return record(JSONSchema(type: .number), Float(0))
        case is Date.Type: return record(.string(format: "date-time"), Date(timeIntervalSince1970: 0))
        case is UUID.Type: return record(.string(format: "uuid"), UUID())
        case is JSONValue.Type: return record(.any, JSONValue.null)
        default: break
        }
        if let optional = type as? any ProbedOptional.Type {
            _ = try value(of: optional.wrappedType)
            schemas[id] = schema(of: optional.wrappedType)
            return Optional<Any>.none as? T
        }
        if let array = type as? any ProbedArray.Type {
            _ = try value(of: array.elementType)
            let decoded = try T(from: EmptyContainerDecoder())
            schemas[id] = JSONSchema(type: .array, items: schema(of: array.elementType))
            return decoded
        }
        if let dictionary = type as? any ProbedDictionary.Type {
            _ = try value(of: dictionary.valueType)
            let decoded = try T(from: EmptyContainerDecoder())
            schemas[id] = JSONSchema(type: .object, additionalProperties: .schema(schema(of: dictionary.valueType)))
            return decoded
        }
        if let cases = type as? any CaseIterable.Type {
            let all = Self.all(of: cases)
            let names = all.compactMap { ($0 as? any RawRepresentable)?.rawValue as? String }
            if schemas[id] == nil { schemas[id] = names.count == all.count ? .string(oneOf: names) : .any }
            if let first = all.first as? T { return first }
        }
        return nil
    }

    private static func all<C: CaseIterable>(of type: C.Type) -> [Any] { Array(type.allCases) }
}

private enum ProbeError: Error { case recursive, unsupported }

/// Answers a type's questions with stand-ins and records what it asked.
private final class ProbeDecoder: Decoder {
    let probe: Probe
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]
    var properties: [String: JSONSchema] = [:]
    var required: [String] = []
    /// Set when the type decodes a single value instead of members.
    var single: JSONSchema?

    init(probe: Probe) { self.probe = probe }

    var recorded: JSONSchema {
        single ?? JSONSchema(type: .object, properties: properties, required: required.isEmpty ? nil : required.sorted(),
                             additionalProperties: .allowed(false))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Keyed<Key>(decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw ProbeError.unsupported }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(decoder: self) }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let decoder: ProbeDecoder
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { [] }
        func contains(_ key: Key) -> Bool { false }
        func decodeNil(forKey key: Key) throws -> Bool { true }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            let value = try decoder.probe.value(of: type)
            decoder.properties[key.stringValue] = decoder.probe.schema(of: type)
            if !decoder.required.contains(key.stringValue) { decoder.required.append(key.stringValue) }
            return value
        }

        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try probeOptional(type, key) }

        // The standard library's own overloads for these types would skip an absent key
        // without asking for its type.
        func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try probeOptional(type, key) }
        func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try probeOptional(type, key) }
        func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try probeOptional(type, key) }
        func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try probeOptional(type, key) }
        func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try probeOptional(type, key) }
        func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try probeOptional(type, key) }
        func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try probeOptional(type, key) }
        /// Records an optional member; absent is all the type needs to go on.
        private func probeOptional<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T? {
            _ = try decoder.probe.value(of: type)
            decoder.properties[key.stringValue] = decoder.probe.schema(of: type)
            return nil
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            throw ProbeError.unsupported
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { throw ProbeError.unsupported }
        func superDecoder() throws -> any Decoder { throw ProbeError.unsupported }
        func superDecoder(forKey key: Key) throws -> any Decoder { throw ProbeError.unsupported }
    }

    /// A type decoding one value (a wrapper): its schema is that value's.
    struct Single: SingleValueDecodingContainer {
        let decoder: ProbeDecoder
        var codingPath: [any CodingKey] { [] }
        func decodeNil() -> Bool { false }
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let value = try decoder.probe.value(of: type)
            decoder.single = decoder.probe.schema(of: type)
            return value
        }
    }
}

/// Decodes an empty array or dictionary.
private struct EmptyContainerDecoder: Decoder {
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Empty<Key>())
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { EmptyList() }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { throw ProbeError.unsupported }

    struct Empty<Key: CodingKey>: KeyedDecodingContainerProtocol {
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { [] }
        func contains(_ key: Key) -> Bool { false }
        func decodeNil(forKey key: Key) throws -> Bool { true }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { throw ProbeError.unsupported }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            throw ProbeError.unsupported
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { throw ProbeError.unsupported }
        func superDecoder() throws -> any Decoder { throw ProbeError.unsupported }
        func superDecoder(forKey key: Key) throws -> any Decoder { throw ProbeError.unsupported }
    }

    struct EmptyList: UnkeyedDecodingContainer {
        var codingPath: [any CodingKey] { [] }
        var count: Int? { 0 }
        var isAtEnd: Bool { true }
        var currentIndex: Int { 0 }
        mutating func decodeNil() throws -> Bool { false }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { throw ProbeError.unsupported }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            throw ProbeError.unsupported
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { throw ProbeError.unsupported }
        mutating func superDecoder() throws -> any Decoder { throw ProbeError.unsupported }
    }
}
