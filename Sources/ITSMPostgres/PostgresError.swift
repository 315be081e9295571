/// An error from the database layer: a failed connection, a server error with its SQLSTATE,
/// or a value that could not be decoded.
///
/// `description` stays generic so it can be shown to API callers; the server's message, detail
/// and the failing statement are only in `debugDescription`, which belongs in operator logs.
public struct PostgresError: Error, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is. New codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case connectionFailed = "connection failed"
            case connectionClosed = "connection closed"
            case server = "server error"
            case unexpectedNull = "unexpected NULL"
            case decodingFailed = "decoding failed"
            case encodingFailed = "encoding failed"
            case poolClosed = "pool closed"
            case columnNotFound = "column not found"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let connectionFailed = Code(.connectionFailed)
        public static let connectionClosed = Code(.connectionClosed)
        public static let server = Code(.server)
        public static let unexpectedNull = Code(.unexpectedNull)
        public static let decodingFailed = Code(.decodingFailed)
        public static let encodingFailed = Code(.encodingFailed)
        public static let poolClosed = Code(.poolClosed)
        public static let columnNotFound = Code(.columnNotFound)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The server's five-character SQLSTATE, for `.server` errors (and some connection errors).
    public var sqlState: SQLState?
    /// The primary message: the server's, or ours for client-side failures.
    public var message: String
    public var detail: String?
    public var hint: String?
    public var schema: String?
    public var table: String?
    public var column: String?
    public var constraint: String?
    /// The statement that failed, without its parameter values.
    public var query: String?

    public init(code: Code, message: String, sqlState: SQLState? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
    }

    /// True when trying again later may succeed: the server was unreachable, went away, or
    /// rejected the transaction for a concurrency reason.
    public var isTransient: Bool {
        if code == .connectionFailed || code == .connectionClosed { return true }
        guard let sqlState else { return false }
        return sqlState.isTransient
    }

    /// True when the server refused a new session for now: all its connection slots were taken,
    /// or it was still starting. Such a refusal usually passes within moments.
    public var isServerBusy: Bool {
        code == .connectionFailed && (sqlState == .tooManyConnections || sqlState == .cannotConnectNow)
    }

    public var description: String {
        switch code {
        case .server:
            if let sqlState { return "database error \(sqlState.rawValue)" }
            return "database error"
        case .connectionFailed: return "database unavailable: connection failed"
        case .connectionClosed: return "database unavailable: connection closed"
        default: return "database client error: \(code)"
        }
    }

    public var debugDescription: String {
        var parts = ["PostgresError(\(code)", "message: \(message)"]
        if let sqlState { parts.append("sqlState: \(sqlState.rawValue)") }
        if let detail { parts.append("detail: \(detail)") }
        if let hint { parts.append("hint: \(hint)") }
        if let constraint { parts.append("constraint: \(constraint)") }
        if let table { parts.append("table: \(schema.map { "\($0)." } ?? "")\(table)") }
        if let column { parts.append("column: \(column)") }
        if let query { parts.append("query: \(query)") }
        return parts.joined(separator: ", ") + ")"
    }
}

/// A PostgreSQL SQLSTATE code. Open: any five-character code the server sends is representable.
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let uniqueViolation = SQLState(rawValue: "23505")
    public static let foreignKeyViolation = SQLState(rawValue: "23503")
    public static let notNullViolation = SQLState(rawValue: "23502")
    public static let checkViolation = SQLState(rawValue: "23514")
    public static let serializationFailure = SQLState(rawValue: "40001")
    public static let deadlockDetected = SQLState(rawValue: "40P01")
    public static let undefinedTable = SQLState(rawValue: "42P01")
    public static let syntaxError = SQLState(rawValue: "42601")
    public static let invalidTextRepresentation = SQLState(rawValue: "22P02")
    public static let queryCanceled = SQLState(rawValue: "57014")
    public static let adminShutdown = SQLState(rawValue: "57P01")
    public static let crashShutdown = SQLState(rawValue: "57P02")
    public static let cannotConnectNow = SQLState(rawValue: "57P03")
    public static let tooManyConnections = SQLState(rawValue: "53300")

    /// The two-character class, e.g. "23" for integrity constraint violations.
    public var errorClass: Substring { rawValue.prefix(2) }

    /// Connection exceptions (class 08), server shutdown, and concurrency rollbacks.
    public var isTransient: Bool {
        errorClass == "08" || self == .serializationFailure || self == .deadlockDetected
            || self == .adminShutdown || self == .crashShutdown || self == .cannotConnectNow
    }

    public var description: String { rawValue }
}
