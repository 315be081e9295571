/// A JSON-RPC error code. Open: a peer may send any integer, and it is kept as it came.
///
/// The JSON-RPC 2.0 codes, two of LSP's, and the toolkit's own in -32010...-32019.
/// docs/protocol.md lists when each is used.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(Int.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// The line was not valid JSON.
    public static let parseError = ErrorCode(rawValue: -32700)
    /// Valid JSON, but not a JSON-RPC 2.0 message.
    public static let invalidRequest = ErrorCode(rawValue: -32600)
    public static let methodNotFound = ErrorCode(rawValue: -32601)
    public static let invalidParams = ErrorCode(rawValue: -32602)
    public static let internalError = ErrorCode(rawValue: -32603)
    /// A request other than `initialize` arrived before the handshake finished.
    public static let serverNotInitialized = ErrorCode(rawValue: -32002)
    /// The receiver stopped working on the request after `$/cancelRequest`.
    public static let requestCancelled = ErrorCode(rawValue: -32800)
    /// The method ran and refused: a business error, with `data.kind` saying which.
    public static let requestFailed = ErrorCode(rawValue: -32803)

    /// The process that should answer is not running, or went away: retry later.
    public static let unavailable = ErrorCode(rawValue: -32010)
    /// No answer before the request's deadline.
    public static let requestTimedOut = ErrorCode(rawValue: -32011)
    /// A line longer than the negotiated limit.
    public static let messageTooLarge = ErrorCode(rawValue: -32012)
    /// No valid credentials (HTTP callers).
    public static let unauthorized = ErrorCode(rawValue: -32013)
    /// Valid credentials without the permission the method declares.
    public static let permissionDenied = ErrorCode(rawValue: -32014)
    /// The receiver is shutting down and takes no new requests.
    public static let shuttingDown = ErrorCode(rawValue: -32015)

    public var description: String { String(rawValue) }
}
