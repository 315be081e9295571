/// Writes what a value encodes straight into JSON text, in the order it encodes it, with no
/// tree in between: a plugin's typed result is written once, not built into a tree and then
/// written (for a page of fifty incidents, that was two fifths of the incident process's CPU).
///
/// It writes what `JSONValueEncoder` builds, in the members' encoding order instead of sorted
/// (synthesized `Encodable` writes them in declaration order). What it cannot write in order
/// it refuses (`OutOfOrder`), and the caller takes the tree instead: a container filled after
/// its parent moved on, a second kind of container asked of one encoder, a super encoder.
final class JSONStreamEncoder {
    struct OutOfOrder: Error {}

    private(set) var out: [UInt8] = []
    /// The open containers, innermost last.
    private var open: [Frame] = []
    private var nextID = 0
    /// Set whenever something is out of order, and checked when each value ends: a value that
    /// swallowed the error (`try?`) does not get its text written as if nothing happened.
    fileprivate var outOfOrder = false

    private struct Frame {
        var id: Int
        var closing: UInt8
        var count = 0
    }

    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let stream = JSONStreamEncoder()
        stream.out.reserveCapacity(512)
        try stream.write(value, in: [], at: nil)
        guard !stream.outOfOrder else { throw OutOfOrder() }
        return stream.out
    }

    /// Writes `value` where a value is due: member `key` of a container at `path`.
    fileprivate func write<T: Encodable>(_ value: T, in path: [any CodingKey], at key: (any CodingKey)?) throws {
        if let scalar = try JSONValueEncoder.scalar(value, codingPath: []) {
            scalar.write(into: &out)
            return
        }
        let slot = Slot(stream: self, depth: open.count, path: path, key: key)
        try value.encode(to: slot)
        if outOfOrder { throw OutOfOrder() }
        close(above: slot.depth)
        // A value that wrote nothing is an empty object, as in the tree.
        if !slot.wrote { out += [UInt8(ascii: "{"), UInt8(ascii: "}")] }
    }

    fileprivate func write(scalar: JSONValue) { scalar.write(into: &out) }

    /// Opens a container whose opening bracket is due here; its id.
    fileprivate func openContainer(_ opening: UInt8, closing: UInt8) -> Int {
        nextID += 1
        out.append(opening)
        open.append(Frame(id: nextID, closing: closing))
        return nextID
    }

    /// Before container `id` gets a member: closes the containers made inside it that are
    /// done (a nested one is done once its parent writes on), writes the comma.
    fileprivate func nextMember(of id: Int) throws {
        guard let index = open.lastIndex(where: { $0.id == id }) else { throw fail(OutOfOrder()) }
        close(above: index + 1)
        if open[index].count > 0 { out.append(UInt8(ascii: ",")) }
        open[index].count += 1
    }

    fileprivate func count(of id: Int) -> Int { open.last { $0.id == id }?.count ?? 0 }

    fileprivate func isInnermost(_ id: Int?) -> Bool { id != nil && open.last?.id == id }

    fileprivate func hasOpen(above depth: Int) -> Bool { open.count > depth }

    private func close(above depth: Int) {
        while open.count > depth { out.append(open.removeLast().closing) }
    }

    fileprivate func key(_ name: String) {
        JSONValue.writeString(name, into: &out)
        out.append(UInt8(ascii: ":"))
    }

    fileprivate func fail<Result>(_ result: Result) -> Result {
        outOfOrder = true
        return result
    }
}

/// Where one value is written: the encoder `encode(to:)` is handed.
private final class Slot: Encoder {
    let stream: JSONStreamEncoder
    /// How many containers were open when the value began.
    let depth: Int
    /// Its coding path, made only when asked: building it for every member cost more than writing it.
    private let path: [any CodingKey]
    private let key: (any CodingKey)?
    var wrote = false
    private var container: (id: Int, keyed: Bool)?

    init(stream: JSONStreamEncoder, depth: Int, path: [any CodingKey], key: (any CodingKey)?) {
        self.stream = stream
        self.depth = depth
        self.path = path
        self.key = key
    }

    var codingPath: [any CodingKey] { key.map { path + [$0] } ?? path }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// The container of this value: made now, or the same one asked again while it is open.
    private func containerID(keyed: Bool) -> Int {
        if let container {
            return container.keyed == keyed && stream.isInnermost(container.id) ? container.id : stream.fail(-1)
        }
        guard !wrote, !stream.hasOpen(above: depth) else { return stream.fail(-1) }
        wrote = true
        let id = keyed ? stream.openContainer(UInt8(ascii: "{"), closing: UInt8(ascii: "}"))
            : stream.openContainer(UInt8(ascii: "["), closing: UInt8(ascii: "]"))
        container = (id, keyed)
        return id
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(StreamKeyedContainer<Key>(stream: stream, id: containerID(keyed: true), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        StreamUnkeyedContainer(stream: stream, id: containerID(keyed: false), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { StreamSingleContainer(slot: self) }

    /// A scalar as this value; a second one, or one after a container, is out of order.
    func set(_ value: JSONValue) throws {
        guard !wrote else { throw stream.fail(JSONStreamEncoder.OutOfOrder()) }
        wrote = true
        stream.write(scalar: value)
    }
}

private struct StreamKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let stream: JSONStreamEncoder
    let id: Int
    let codingPath: [any CodingKey]

    private func member(_ key: Key) throws {
        try stream.nextMember(of: id)
        stream.key(key.stringValue)
    }

    private func set(_ key: Key, _ value: JSONValue) throws {
        try member(key)
        stream.write(scalar: value)
    }

    mutating func encodeNil(forKey key: Key) throws { try set(key, .null) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try set(key, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { try set(key, .string(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        try set(key, try JSONValueEncoder.number(value, codingPath: codingPath + [key]))
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        try set(key, try JSONValueEncoder.number(Double(value), codingPath: codingPath + [key]))
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { try set(key, .int(Int64(value))) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try set(key, .int(Int64(value))) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try set(key, .int(value)) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try member(key)
        try stream.write(value, in: codingPath, at: key)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        guard (try? member(key)) != nil else {
            return KeyedEncodingContainer(StreamKeyedContainer<NestedKey>(stream: stream, id: stream.fail(-1), codingPath: codingPath))
        }
        let id = stream.openContainer(UInt8(ascii: "{"), closing: UInt8(ascii: "}"))
        return KeyedEncodingContainer(StreamKeyedContainer<NestedKey>(stream: stream, id: id, codingPath: codingPath + [key]))
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        guard (try? member(key)) != nil else { return StreamUnkeyedContainer(stream: stream, id: stream.fail(-1), codingPath: codingPath) }
        let id = stream.openContainer(UInt8(ascii: "["), closing: UInt8(ascii: "]"))
        return StreamUnkeyedContainer(stream: stream, id: id, codingPath: codingPath + [key])
    }
    mutating func superEncoder() -> any Encoder { stream.fail(JSONValueEncoder()) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { stream.fail(JSONValueEncoder()) }
}

private struct StreamUnkeyedContainer: UnkeyedEncodingContainer {
    let stream: JSONStreamEncoder
    let id: Int
    let codingPath: [any CodingKey]
    var count: Int { stream.count(of: id) }

    private func set(_ value: JSONValue) throws {
        try stream.nextMember(of: id)
        stream.write(scalar: value)
    }

    mutating func encodeNil() throws { try set(.null) }
    mutating func encode(_ value: Bool) throws { try set(.bool(value)) }
    mutating func encode(_ value: String) throws { try set(.string(value)) }
    mutating func encode(_ value: Double) throws { try set(try JSONValueEncoder.number(value, codingPath: codingPath)) }
    mutating func encode(_ value: Float) throws { try set(try JSONValueEncoder.number(Double(value), codingPath: codingPath)) }
    mutating func encode(_ value: Int) throws { try set(.int(Int64(value))) }
    mutating func encode(_ value: Int64) throws { try set(.int(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let index = count
        try stream.nextMember(of: id)
        try stream.write(value, in: codingPath, at: JSONKey(index: index))
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = codingPath + [JSONKey(index: count)]
        guard (try? stream.nextMember(of: id)) != nil else {
            return KeyedEncodingContainer(StreamKeyedContainer<NestedKey>(stream: stream, id: stream.fail(-1), codingPath: path))
        }
        let nested = stream.openContainer(UInt8(ascii: "{"), closing: UInt8(ascii: "}"))
        return KeyedEncodingContainer(StreamKeyedContainer<NestedKey>(stream: stream, id: nested, codingPath: path))
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = codingPath + [JSONKey(index: count)]
        guard (try? stream.nextMember(of: id)) != nil else { return StreamUnkeyedContainer(stream: stream, id: stream.fail(-1), codingPath: path) }
        return StreamUnkeyedContainer(stream: stream, id: stream.openContainer(UInt8(ascii: "["), closing: UInt8(ascii: "]")), codingPath: path)
    }
    mutating func superEncoder() -> any Encoder { stream.fail(JSONValueEncoder()) }
}

private struct StreamSingleContainer: SingleValueEncodingContainer {
    let slot: Slot
    var codingPath: [any CodingKey] { slot.codingPath }

    mutating func encodeNil() throws { try slot.set(.null) }
    mutating func encode(_ value: Bool) throws { try slot.set(.bool(value)) }
    mutating func encode(_ value: String) throws { try slot.set(.string(value)) }
    mutating func encode(_ value: Double) throws { try slot.set(try JSONValueEncoder.number(value, codingPath: codingPath)) }
    mutating func encode(_ value: Float) throws { try slot.set(try JSONValueEncoder.number(Double(value), codingPath: codingPath)) }
    mutating func encode(_ value: Int) throws { try slot.set(.int(Int64(value))) }
    mutating func encode(_ value: Int8) throws { try slot.set(.int(Int64(value))) }
    mutating func encode(_ value: Int16) throws { try slot.set(.int(Int64(value))) }
    mutating func encode(_ value: Int32) throws { try slot.set(.int(Int64(value))) }
    mutating func encode(_ value: Int64) throws { try slot.set(.int(value)) }
    mutating func encode(_ value: UInt) throws { try slot.set(.int(Int64(value))) }
    mutating func encode(_ value: UInt8) throws { try slot.set(.int(Int64(value))) }
    mutating func encode(_ value: UInt16) throws { try slot.set(.int(Int64(value))) }
    mutating func encode(_ value: UInt32) throws { try slot.set(.int(Int64(value))) }
    mutating func encode(_ value: UInt64) throws {
        try slot.set(value <= UInt64(Int64.max) ? .int(Int64(value)) : .double(Double(value)))
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        if let scalar = try JSONValueEncoder.scalar(value, codingPath: codingPath) { return try slot.set(scalar) }
        // The value's own containers are this value's, as in the tree.
        try value.encode(to: slot)
    }
}

extension RawJSON {
    /// A value written straight to JSON text (`JSONStreamEncoder`); one that encodes out of
    /// order goes through the tree instead.
    public init(encoding value: some Encodable) throws {
        do {
            self.init(checked: try JSONStreamEncoder.encode(value))
        } catch is JSONStreamEncoder.OutOfOrder {
            self.init(try JSONValue(encoding: value))
        }
    }
}
