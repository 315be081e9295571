import Foundation

/// A request: has an `id` and expects exactly one response.
public struct JSONRPCRequest: Sendable, Hashable {
    public var id: RequestID
    public var method: String
    public var params: JSONValue?
    /// Context the coordinator adds (who is calling, idempotency key); not part of `params`.
    public var meta: RequestMeta?

    public init(id: RequestID, method: String, params: JSONValue? = nil, meta: RequestMeta? = nil) {
        self.id = id
        self.method = method
        self.params = params
        self.meta = meta
    }
}

/// A notification: no `id`, no response.
public struct JSONRPCNotification: Sendable, Hashable {
    public var method: String
    public var params: JSONValue?

    public init(method: String, params: JSONValue? = nil) {
        self.method = method
        self.params = params
    }
}

/// A response to a request: `result` or `error`. `id` is `nil` only when the request's id
/// could not be read (a parse error).
public struct JSONRPCResponse: Sendable, Hashable {
    public var id: RequestID?
    public var result: Result<JSONValue, ResponseError>

    public init(id: RequestID?, result: Result<JSONValue, ResponseError>) {
        self.id = id
        self.result = result
    }
}

/// Who is calling, as the coordinator establishes it, passed along with a request.
public struct RequestMeta: Sendable, Hashable, Codable {
    /// The authenticated caller, e.g. `token:admin`, or the plugin name for plugin-to-plugin calls.
    public var actor: String?
    /// A client-chosen key that makes a retried create return the first result.
    public var idempotencyKey: String?

    public init(actor: String? = nil, idempotencyKey: String? = nil) {
        self.actor = actor
        self.idempotencyKey = idempotencyKey
    }
}

/// One line of the protocol.
public enum Message: Sendable, Hashable {
    case request(JSONRPCRequest)
    case notification(JSONRPCNotification)
    case response(JSONRPCResponse)

    /// Why a line is not a message, with the response the receiver should send.
    public struct DecodingFailure: Error, Sendable {
        /// `.parseError` for invalid JSON, `.invalidRequest` for JSON that is not JSON-RPC 2.0.
        public var error: ResponseError
        /// The id, when the line had a readable one.
        public var id: RequestID?
    }

    /// Parses one line (without its newline).
    public static func decode(_ line: some DataProtocol) throws(DecodingFailure) -> Message {
        let raw: RawMessage
        do {
            raw = try JSONCoding.decoder.decode(RawMessage.self, from: Data(line))
        } catch {
            let isJSON = (try? JSONCoding.decoder.decode(JSONValue.self, from: Data(line))) != nil
            if isJSON {
                throw DecodingFailure(error: ResponseError(
                    code: .invalidRequest, kind: "protocol.invalid_request",
                    message: "not a JSON-RPC 2.0 message object: \(Self.describe(error))"), id: nil)
            }
            throw DecodingFailure(error: ResponseError(
                code: .parseError, kind: "protocol.parse_error", message: "the line is not valid JSON"), id: nil)
        }
        func invalid(_ message: String) -> DecodingFailure {
            DecodingFailure(error: ResponseError(code: .invalidRequest, kind: "protocol.invalid_request", message: message),
                            id: raw.id ?? nil)
        }
        guard raw.jsonrpc == "2.0" else { throw invalid("\"jsonrpc\" must be \"2.0\"") }
        if let method = raw.method {
            if let params = raw.params, params.objectValue == nil, params.arrayValue == nil {
                throw invalid("\"params\" must be an object or an array")
            }
            switch raw.id {
            case .none:
                return .notification(JSONRPCNotification(method: method, params: raw.params))
            case .some(.none):
                throw invalid("a request's \"id\" must be a number or a string, not null")
            case .some(.some(let id)):
                return .request(JSONRPCRequest(id: id, method: method, params: raw.params, meta: raw.meta))
            }
        }
        guard let id = raw.id else { throw invalid("a message needs \"method\" or \"id\"") }
        switch (raw.result, raw.error) {
        case (.some(let result), .none):
            return .response(JSONRPCResponse(id: id, result: .success(result)))
        case (.none, .some(let error)):
            return .response(JSONRPCResponse(id: id, result: .failure(error)))
        default:
            throw invalid("a response needs exactly one of \"result\" and \"error\"")
        }
    }

    /// The message as one compact line of JSON, with its terminating newline.
    public func encodedLine() throws -> Data {
        var data = try JSONCoding.encoder.encode(RawMessage(self))
        data.append(UInt8(ascii: "\n"))
        return data
    }

    private static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
             .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// The wire shape shared by all messages; `Message.decode` classifies it.
private struct RawMessage: Codable {
    var jsonrpc: String?
    /// Absent (`nil`), present but null (`.some(nil)`), or a value.
    var id: RequestID??
    var method: String?
    var params: JSONValue?
    var meta: RequestMeta?
    /// Present as JSON null is a valid result; kept apart from absent.
    var result: JSONValue?
    var error: ResponseError?

    enum CodingKeys: String, CodingKey { case jsonrpc, id, method, params, meta, result, error }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        jsonrpc = try container.decodeIfPresent(String.self, forKey: .jsonrpc)
        if container.contains(.id) {
            id = .some(try container.decodeNil(forKey: .id) ? nil : container.decode(RequestID.self, forKey: .id))
        } else {
            id = .none
        }
        method = try container.decodeIfPresent(String.self, forKey: .method)
        params = try container.decodeIfPresent(JSONValue.self, forKey: .params)
        meta = try? container.decodeIfPresent(RequestMeta.self, forKey: .meta)
        if container.contains(.result) {
            result = try container.decodeNil(forKey: .result) ? .null : container.decode(JSONValue.self, forKey: .result)
        }
        error = try container.decodeIfPresent(ResponseError.self, forKey: .error)
    }

    init(_ message: Message) {
        jsonrpc = "2.0"
        switch message {
        case .request(let request):
            id = .some(request.id)
            method = request.method
            params = request.params
            meta = request.meta
        case .notification(let notification):
            id = .none
            method = notification.method
            params = notification.params
        case .response(let response):
            id = .some(response.id)
            switch response.result {
            case .success(let value): result = value
            case .failure(let failure): error = failure
            }
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(jsonrpc, forKey: .jsonrpc)
        switch id {
        case .none: break
        case .some(.none): try container.encodeNil(forKey: .id)
        case .some(.some(let id)): try container.encode(id, forKey: .id)
        }
        try container.encodeIfPresent(method, forKey: .method)
        try container.encodeIfPresent(params, forKey: .params)
        try container.encodeIfPresent(meta, forKey: .meta)
        if method == nil {
            if let error {
                try container.encode(error, forKey: .error)
            } else {
                try container.encode(result ?? .null, forKey: .result)
            }
        }
    }
}
