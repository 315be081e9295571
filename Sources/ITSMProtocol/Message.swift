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
    /// On a request to a plugin: an opaque handle for the principal it is made for. A call the
    /// plugin makes while handling it carries the handle back, and runs on that principal's
    /// behalf; without one, a call runs as the plugin itself.
    public var context: String?
    /// Names the client's request through every hop (the HTTP request, the plugin, the calls it
    /// makes), for following it through the logs: a W3C `traceparent`'s trace id, or one the
    /// coordinator made up. Not a credential: a plugin may pass on whatever it was given.
    public var requestId: String?
    /// On a request to a plugin: who it is for, as the coordinator established it, so the
    /// plugin can decide what they may see. Set by the coordinator only; what a plugin puts
    /// here on its own calls is replaced.
    public var principal: RequestPrincipal?

    public init(actor: String? = nil, idempotencyKey: String? = nil, context: String? = nil, requestId: String? = nil,
                principal: RequestPrincipal? = nil) {
        self.actor = actor
        self.idempotencyKey = idempotencyKey
        self.context = context
        self.requestId = requestId
        self.principal = principal
    }
}

/// Who a request is for, as a plugin sees it (`meta.principal`).
public struct RequestPrincipal: Sendable, Hashable, Codable {
    /// `user` (a person), `service` (a token without an owner) or `plugin` (a plugin on its own).
    public var kind: String
    /// The account's name, the service token's name, or `plugin:<name>`.
    public var name: String
    /// A person's roles.
    public var roles: [String]
    /// Which of the permissions the receiving plugin names (its methods' and its declared
    /// ones) this principal holds.
    public var holds: [String]

    public init(kind: String, name: String, roles: [String] = [], holds: [String] = []) {
        self.kind = kind
        self.name = name
        self.roles = roles
        self.holds = holds
    }

    public var isPerson: Bool { kind == "user" }

    public func holds(_ permission: String) -> Bool { holds.contains(permission) }
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
        let value: JSONValue
        do {
            value = try JSONValue.parse(line)
        } catch {
            throw DecodingFailure(error: ResponseError(
                code: .parseError, kind: "protocol.parse_error", message: "the line is not valid JSON (\(error))"), id: nil)
        }
        guard case .object(let members) = value else {
            throw DecodingFailure(error: ResponseError(
                code: .invalidRequest, kind: "protocol.invalid_request", message: "a message must be a JSON object"), id: nil)
        }
        // The id: absent (a notification), null (only in some error responses), or a number or string.
        let id: RequestID?
        let hasID = members["id"] != nil
        switch members["id"] {
        case nil, .null?: id = nil
        case .int(let number)?: id = .number(number)
        case .string(let text)?: id = .string(text)
        case .double(let number)? where number.rounded() == number && abs(number) < 9.0e15: id = .number(Int64(number))
        default:
            throw DecodingFailure(error: ResponseError(code: .invalidRequest, kind: "protocol.invalid_request",
                                                       message: "\"id\" must be a number or a string"), id: nil)
        }
        func invalid(_ message: String) -> DecodingFailure {
            DecodingFailure(error: ResponseError(code: .invalidRequest, kind: "protocol.invalid_request", message: message), id: id)
        }
        guard members["jsonrpc"] == "2.0" else { throw invalid("\"jsonrpc\" must be \"2.0\"") }
        if let methodValue = members["method"] {
            guard case .string(let method) = methodValue else { throw invalid("\"method\" must be a string") }
            let params = members["params"]
            if let params, params.objectValue == nil, params.arrayValue == nil {
                throw invalid("\"params\" must be an object or an array")
            }
            guard hasID else { return .notification(JSONRPCNotification(method: method, params: params)) }
            guard let id else { throw invalid("a request's \"id\" must be a number or a string, not null") }
            return .request(JSONRPCRequest(id: id, method: method, params: params, meta: RequestMeta(json: members["meta"])))
        }
        guard hasID else { throw invalid("a message needs \"method\" or \"id\"") }
        switch (members["result"], members["error"]) {
        case (.some(let result), .none):
            return .response(JSONRPCResponse(id: id, result: .success(result)))
        case (.none, .some(let error)):
            guard let code = error["code"]?.intValue, let message = error["message"]?.stringValue else {
                throw invalid("\"error\" needs a number \"code\" and a string \"message\"")
            }
            return .response(JSONRPCResponse(id: id, result: .failure(ResponseError(
                code: ErrorCode(rawValue: Int(code)), message: message, data: error["data"]))))
        default:
            throw invalid("a response needs exactly one of \"result\" and \"error\"")
        }
    }

    /// The message as one compact line of JSON, with its terminating newline.
    public func encodedLine() throws -> Data {
        // The members in sorted order, as `serialized()` writes an object, without building one.
        let members: [(name: String, value: JSONValue?)]
        switch self {
        case .request(let request):
            members = [("id", request.id.json), ("jsonrpc", "2.0"), ("meta", request.meta?.json), ("method", .string(request.method)),
                       ("params", request.params)]
        case .notification(let notification):
            members = [("jsonrpc", "2.0"), ("method", .string(notification.method)), ("params", notification.params)]
        case .response(let response):
            switch response.result {
            case .success(let value): return Message.responseLine(id: response.id, result: RawJSON(value))
            case .failure(let error): members = [("error", error.json), ("id", response.id?.json ?? .null), ("jsonrpc", "2.0")]
            }
        }
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        for (name, value) in members {
            guard let value else { continue }
            if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
            JSONValue.writeString(name, into: &bytes)
            bytes.append(UInt8(ascii: ":"))
            value.write(into: &bytes)
        }
        bytes += [UInt8(ascii: "}"), UInt8(ascii: "\n")]
        return Data(bytes)
    }
}

extension Message {
    /// A successful response's line around a result that is JSON text already, with its
    /// terminating newline: `{"id":…,"jsonrpc":"2.0","result":…}`, as `encodedLine` writes it.
    public static func responseLine(id: RequestID?, result: RawJSON) -> Data {
        var bytes = Array(#"{"id":"#.utf8)
        bytes.reserveCapacity(result.bytes.count + 48)
        (id?.json ?? .null).write(into: &bytes)
        bytes += Array(#","jsonrpc":"2.0","result":"#.utf8)
        bytes += result.bytes
        bytes += [UInt8(ascii: "}"), UInt8(ascii: "\n")]
        return Data(bytes)
    }
}

extension RequestID {
    var json: JSONValue {
        switch self {
        case .number(let value): return .int(value)
        case .string(let value): return .string(value)
        }
    }
}

extension RequestMeta {
    /// Reads the members it knows; anything else (or a non-object) is ignored.
    init?(json: JSONValue?) {
        guard case .object(let members)? = json else { return nil }
        self.init(actor: members["actor"]?.stringValue, idempotencyKey: members["idempotencyKey"]?.stringValue,
                  context: members["context"]?.stringValue, requestId: members["requestId"]?.stringValue,
                  principal: RequestPrincipal(json: members["principal"]))
    }

    var json: JSONValue {
        var members: [String: JSONValue] = [:]
        members["actor"] = actor.map(JSONValue.string)
        members["idempotencyKey"] = idempotencyKey.map(JSONValue.string)
        members["context"] = context.map(JSONValue.string)
        members["requestId"] = requestId.map(JSONValue.string)
        members["principal"] = principal.map { principal in
            ["kind": .string(principal.kind), "name": .string(principal.name),
             "roles": .array(principal.roles.map(JSONValue.string)), "holds": .array(principal.holds.map(JSONValue.string))]
        }
        return .object(members)
    }
}

extension RequestPrincipal {
    /// Reads a well-formed principal; anything else is none.
    init?(json: JSONValue?) {
        guard case .object(let members)? = json, let kind = members["kind"]?.stringValue, let name = members["name"]?.stringValue else {
            return nil
        }
        self.init(kind: kind, name: name, roles: members["roles"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                  holds: members["holds"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }
}

extension ResponseError {
    var json: JSONValue {
        var members: [String: JSONValue] = ["code": .int(Int64(code.rawValue)), "message": .string(message)]
        members["data"] = data
        return .object(members)
    }
}
