/// One JSON value as the bytes it came in, checked as `JSONValue.parse` checks them: what the
/// coordinator passes on from a process's answer to its HTTP client without building a tree of
/// it and writing that out again (for a page of fifty records, that was a third of the
/// coordinator's work).
///
/// Member names are not checked for repeats: a tree keeps the last of them, a client reading
/// these bytes decides for itself.
public struct RawJSON: Sendable, Hashable {
    public let bytes: [UInt8]

    init(checked bytes: [UInt8]) { self.bytes = bytes }

    /// The value written out.
    public init(_ value: JSONValue) { bytes = value.serialized() }

    /// The value as a tree.
    public func parsed() throws(JSONValue.ParseError) -> JSONValue { try JSONValue.parse(bytes) }
}

/// A JSON answer however it is held: a tree, or the bytes it came in.
public protocol JSONDocument: Sendable {
    /// As a tree (bytes are parsed for it).
    var tree: JSONValue { get }
    /// As JSON text.
    var jsonBytes: [UInt8] { get }
}

extension JSONValue: JSONDocument {
    public var tree: JSONValue { self }
    public var jsonBytes: [UInt8] { serialized() }
}

extension RawJSON: JSONDocument {
    /// Checked bytes always parse; `null` stands for what cannot happen.
    public var tree: JSONValue { (try? parsed()) ?? .null }
    public var jsonBytes: [UInt8] { bytes }
}
