import Foundation

// Typed values to and from `JSONValue` trees directly, so a line is parsed once and written
// once per hop: no detour through JSON text between the tree and `Codable` types. The output
// matches `JSONCoding`'s encoder and decoder (dates as ISO 8601 with milliseconds, URLs as
// strings, data as base64), which `JSONValueCodingTests` checks type by type.

// MARK: - Decoding

struct JSONValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw mismatch([String: JSONValue].self) }
        return KeyedDecodingContainer(KeyedContainer(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw mismatch([JSONValue].self) }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleContainer(decoder: self) }

    func mismatch(_ type: Any.Type) -> DecodingError {
        if value == .null {
            return .valueNotFound(type, .init(codingPath: codingPath, debugDescription: "expected \(type), got null"))
        }
        return .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "expected \(type), got \(value.kindName)"))
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        // The types JSONDecoder treats as scalars, treated the same way.
        if T.self == Date.self {
            guard case .string(let text) = value else { throw mismatch(String.self) }
            guard let date = JSONCoding.date(from: text) else {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: codingPath,
                    debugDescription: "expected an ISO 8601 date on a real day in the years 0001 to 9999, got \(text.prefix(64))"))
            }
            return date as! T
        }
        if T.self == URL.self {
            guard case .string(let text) = value else { throw mismatch(String.self) }
            guard let url = URL(string: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "invalid URL \(text.prefix(64))"))
            }
            return url as! T
        }
        if T.self == Data.self {
            guard case .string(let text) = value else { throw mismatch(String.self) }
            guard let data = Data(base64Encoded: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "expected base64"))
            }
            return data as! T
        }
        if T.self == Decimal.self {
            switch value {
            case .int(let number): return Decimal(number) as! T
            case .double(let number): return Decimal(number) as! T
            default: throw mismatch(Decimal.self)
            }
        }
        if T.self == JSONValue.self { return value as! T }
        return try T(from: self)
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        switch value {
        case .int(let number):
            guard let exact = T(exactly: number) else { throw outOfRange(type, "\(number)") }
            return exact
        case .double(let number):
            guard let exact = T(exactly: number) else { throw outOfRange(type, "\(number)") }
            return exact
        default:
            throw mismatch(type)
        }
    }

    private func outOfRange(_ type: Any.Type, _ text: String) -> DecodingError {
        .dataCorrupted(.init(codingPath: codingPath, debugDescription: "Parsed JSON number <\(text)> does not fit in \(type)."))
    }

    private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let members: [String: JSONValue]
        let codingPath: [any CodingKey]

        var allKeys: [Key] { members.keys.compactMap(Key.init(stringValue:)) }
        func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

        private func child(_ key: Key) throws -> JSONValueDecoder {
            guard let value = members[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for \(key.stringValue)"))
            }
            return JSONValueDecoder(value: value, codingPath: codingPath + [key])
        }

        func decodeNil(forKey key: Key) throws -> Bool { try child(key).value == .null }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decode(type) }
        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            guard let value = members[key.stringValue], value != .null else { return nil }
            return try JSONValueDecoder(value: value, codingPath: codingPath + [key]).decode(type)
        }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try child(key).container(keyedBy: type)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try child(key).unkeyedContainer() }
        func superDecoder() throws -> any Decoder {
            JSONValueDecoder(value: members["super"] ?? .null, codingPath: codingPath + [JSONKey("super")])
        }
        func superDecoder(forKey key: Key) throws -> any Decoder {
            JSONValueDecoder(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key])
        }
    }

    private struct UnkeyedContainer: UnkeyedDecodingContainer {
        let elements: [JSONValue]
        let codingPath: [any CodingKey]
        var currentIndex = 0

        init(elements: [JSONValue], codingPath: [any CodingKey]) {
            self.elements = elements
            self.codingPath = codingPath
        }

        var count: Int? { elements.count }
        var isAtEnd: Bool { currentIndex >= elements.count }

        private mutating func next(_ type: Any.Type) throws -> JSONValueDecoder {
            let path = codingPath + [JSONKey(index: currentIndex)]
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(type, .init(codingPath: path, debugDescription: "the array has no more elements"))
            }
            defer { currentIndex += 1 }
            return JSONValueDecoder(value: elements[currentIndex], codingPath: path)
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, elements[currentIndex] == .null else { return false }
            currentIndex += 1
            return true
        }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type).decode(type) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next([String: JSONValue].self).container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next([JSONValue].self).unkeyedContainer() }
        mutating func superDecoder() throws -> any Decoder { try next(JSONValue.self) }
    }

    private struct SingleContainer: SingleValueDecodingContainer {
        let decoder: JSONValueDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }

        func decodeNil() -> Bool { decoder.value == .null }
        func decode(_ type: Bool.Type) throws -> Bool {
            guard case .bool(let flag) = decoder.value else { throw decoder.mismatch(type) }
            return flag
        }
        func decode(_ type: String.Type) throws -> String {
            guard case .string(let text) = decoder.value else { throw decoder.mismatch(type) }
            return text
        }
        func decode(_ type: Double.Type) throws -> Double {
            guard let number = decoder.value.doubleValue else { throw decoder.mismatch(type) }
            return number
        }
        func decode(_ type: Float.Type) throws -> Float {
            guard let number = decoder.value.doubleValue else { throw decoder.mismatch(type) }
            return Float(number)
        }
        func decode(_ type: Int.Type) throws -> Int { try decoder.integer(type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try decoder.integer(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try decoder.integer(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try decoder.integer(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try decoder.integer(type) }
        func decode(_ type: UInt.Type) throws -> UInt { try decoder.integer(type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.integer(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.integer(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.integer(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.integer(type) }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decode(type) }
    }
}

// MARK: - Encoding

/// Builds the tree while a value encodes itself; containers share nodes by reference, as
/// `Encoder` requires (a nested container written after it was made still lands in its parent).
final class JSONValueEncoder: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    private(set) var node: Node = Node()

    init(codingPath: [any CodingKey] = []) {
        self.codingPath = codingPath
    }

    final class Node {
        enum Content {
            case empty
            case value(JSONValue)
            case object([String: Node])
            case array([Node])
        }
        var content = Content.empty

        var resolved: JSONValue {
            switch content {
            case .empty: return .object([:])
            case .value(let value): return value
            case .object(let members): return .object(members.mapValues(\.resolved))
            case .array(let elements): return .array(elements.map(\.resolved))
            }
        }
    }

    static func encode(_ value: some Encodable, codingPath: [any CodingKey] = []) throws -> JSONValue {
        if let scalar = try scalar(value, codingPath: codingPath) { return scalar }
        let encoder = JSONValueEncoder(codingPath: codingPath)
        try value.encode(to: encoder)
        return encoder.node.resolved
    }

    /// The types JSONEncoder writes as scalars, written the same way.
    static func scalar(_ value: some Encodable, codingPath: [any CodingKey]) throws -> JSONValue? {
        switch value {
        case let date as Date: return .string(date.formatted(JSONCoding.iso8601))
        case let url as URL: return .string(url.absoluteString)
        case let data as Data: return .string(data.base64EncodedString())
        case let decimal as Decimal: return .double(NSDecimalNumber(decimal: decimal).doubleValue)
        case let json as JSONValue: return json
        default: return nil
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = node.content {} else { node.content = .object([:]) }
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = node.content {} else { node.content = .array([]) }
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleContainer(node: node, codingPath: codingPath) }

    /// Encodes `value` into `node` (a scalar directly, anything else through a child encoder).
    static func encode(_ value: some Encodable, into node: Node, codingPath: [any CodingKey]) throws {
        if let scalar = try scalar(value, codingPath: codingPath) {
            node.content = .value(scalar)
            return
        }
        let encoder = JSONValueEncoder(codingPath: codingPath)
        encoder.node = node
        try value.encode(to: encoder)
    }

    static func number(_ value: Double, codingPath: [any CodingKey]) throws -> JSONValue {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "\(value) is not a JSON number"))
        }
        return .double(value)
    }

    private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        let codingPath: [any CodingKey]

        private func set(_ key: Key, _ value: JSONValue) {
            let child = Node()
            child.content = .value(value)
            insert(key.stringValue, child)
        }

        private func insert(_ key: String, _ child: Node) {
            guard case .object(var members) = node.content else { return }
            node.content = .empty // keep the dictionary uniquely referenced while it changes
            members[key] = child
            node.content = .object(members)
        }

        mutating func encodeNil(forKey key: Key) throws { set(key, .null) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { set(key, .bool(value)) }
        mutating func encode(_ value: String, forKey key: Key) throws { set(key, .string(value)) }
        mutating func encode(_ value: Double, forKey key: Key) throws { set(key, try number(value, codingPath: codingPath + [key])) }
        mutating func encode(_ value: Float, forKey key: Key) throws { set(key, try number(Double(value), codingPath: codingPath + [key])) }
        mutating func encode(_ value: Int, forKey key: Key) throws { set(key, .int(Int64(value))) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { set(key, .int(Int64(value))) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { set(key, .int(value)) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            let child = Node()
            try JSONValueEncoder.encode(value, into: child, codingPath: codingPath + [key])
            insert(key.stringValue, child)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            let child = Node()
            child.content = .object([:])
            insert(key.stringValue, child)
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let child = Node()
            child.content = .array([])
            insert(key.stringValue, child)
            return UnkeyedContainer(node: child, codingPath: codingPath + [key])
        }
        mutating func superEncoder() -> any Encoder { superEncoder(named: "super") }
        mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue) }
        private func superEncoder(named name: String) -> any Encoder {
            let encoder = JSONValueEncoder(codingPath: codingPath + [JSONKey(name)])
            insert(name, encoder.node)
            return encoder
        }
    }

    private struct UnkeyedContainer: UnkeyedEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]
        var count: Int {
            if case .array(let elements) = node.content { return elements.count }
            return 0
        }

        private func append(_ child: Node) {
            guard case .array(var elements) = node.content else { return }
            node.content = .empty
            elements.append(child)
            node.content = .array(elements)
        }

        private func append(_ value: JSONValue) {
            let child = Node()
            child.content = .value(value)
            append(child)
        }

        mutating func encodeNil() throws { append(.null) }
        mutating func encode(_ value: Bool) throws { append(.bool(value)) }
        mutating func encode(_ value: String) throws { append(.string(value)) }
        mutating func encode(_ value: Double) throws { append(try number(value, codingPath: codingPath)) }
        mutating func encode(_ value: Float) throws { append(try number(Double(value), codingPath: codingPath)) }
        mutating func encode(_ value: Int) throws { append(.int(Int64(value))) }
        mutating func encode(_ value: Int64) throws { append(.int(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            let child = Node()
            try JSONValueEncoder.encode(value, into: child, codingPath: codingPath + [JSONKey(index: count)])
            append(child)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let child = Node()
            child.content = .object([:])
            let path = codingPath + [JSONKey(index: count)]
            append(child)
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: path))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let child = Node()
            child.content = .array([])
            let path = codingPath + [JSONKey(index: count)]
            append(child)
            return UnkeyedContainer(node: child, codingPath: path)
        }
        mutating func superEncoder() -> any Encoder {
            let encoder = JSONValueEncoder(codingPath: codingPath + [JSONKey(index: count)])
            append(encoder.node)
            return encoder
        }
    }

    private struct SingleContainer: SingleValueEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]

        private func set(_ value: JSONValue) { node.content = .value(value) }

        mutating func encodeNil() throws { set(.null) }
        mutating func encode(_ value: Bool) throws { set(.bool(value)) }
        mutating func encode(_ value: String) throws { set(.string(value)) }
        mutating func encode(_ value: Double) throws { set(try number(value, codingPath: codingPath)) }
        mutating func encode(_ value: Float) throws { set(try number(Double(value), codingPath: codingPath)) }
        mutating func encode(_ value: Int) throws { set(.int(Int64(value))) }
        mutating func encode(_ value: Int8) throws { set(.int(Int64(value))) }
        mutating func encode(_ value: Int16) throws { set(.int(Int64(value))) }
        mutating func encode(_ value: Int32) throws { set(.int(Int64(value))) }
        mutating func encode(_ value: Int64) throws { set(.int(value)) }
        mutating func encode(_ value: UInt) throws { set(.int(Int64(value))) }
        mutating func encode(_ value: UInt8) throws { set(.int(Int64(value))) }
        mutating func encode(_ value: UInt16) throws { set(.int(Int64(value))) }
        mutating func encode(_ value: UInt32) throws { set(.int(Int64(value))) }
        mutating func encode(_ value: UInt64) throws {
            set(value <= UInt64(Int64.max) ? .int(Int64(value)) : .double(Double(value)))
        }
        mutating func encode<T: Encodable>(_ value: T) throws {
            try JSONValueEncoder.encode(value, into: node, codingPath: codingPath)
        }
    }
}

/// A coding key made here: an object member's name or an array index.
struct JSONKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(_ name: String) {
        stringValue = name
        intValue = nil
    }

    init(index: Int) {
        stringValue = "Index \(index)"
        intValue = index
    }

    init?(stringValue: String) { self.init(stringValue) }
    init?(intValue: Int) { self.init(index: intValue) }
}

extension JSONValue {
    /// What kind of value this is, for messages ("got a string").
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
