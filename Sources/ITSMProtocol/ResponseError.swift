/// The `error` member of a response. Every error the toolkit sends carries `data` with a
/// stable machine-readable `kind` and whether retrying may help.
///
/// ```swift
/// throw ResponseError.business(kind: "incident.not_found", message: "no incident INC-000042")
/// ```
public struct ResponseError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var data: JSONValue?

    public init(code: ErrorCode, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    /// An error with the standard `data {kind, retryable, details}`.
    public init(code: ErrorCode, kind: String, message: String, retryable: Bool = false, details: JSONValue? = nil) {
        var members: [String: JSONValue] = ["kind": .string(kind), "retryable": .bool(retryable)]
        if let details { members["details"] = details }
        self.init(code: code, message: message, data: .object(members))
    }

    /// A refusal by the method itself (-32803), e.g. `incident.invalid_transition`.
    public static func business(kind: String, message: String, retryable: Bool = false, details: JSONValue? = nil) -> ResponseError {
        ResponseError(code: .requestFailed, kind: kind, message: message, retryable: retryable, details: details)
    }

    public static func methodNotFound(_ method: String) -> ResponseError {
        ResponseError(code: .methodNotFound, kind: "protocol.method_not_found", message: "unknown method '\(method)'")
    }

    public static func invalidParams(_ message: String, details: JSONValue? = nil) -> ResponseError {
        ResponseError(code: .invalidParams, kind: "protocol.invalid_params", message: message, details: details)
    }

    public static func unavailable(_ message: String, kind: String = "peer.unavailable") -> ResponseError {
        ResponseError(code: .unavailable, kind: kind, message: message, retryable: true)
    }

    public static func internalError(_ message: String) -> ResponseError {
        ResponseError(code: .internalError, kind: "internal", message: message)
    }

    /// `data.kind`, when present.
    public var kind: String? { data?["kind"]?.stringValue }
    /// `data.retryable`, false when absent.
    public var isRetryable: Bool { data?["retryable"]?.boolValue ?? false }

    public var description: String { "\(message) (\(kind ?? "error") \(code))" }
}
