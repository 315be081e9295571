/// A REST route a method declares in its manifest (`MethodDescriptor.routes`, docs/protocol.md
/// §3.1): how an HTTP request on a path under `/api/v1/` becomes the method's params. The
/// coordinator serves it with the method's permission, params check and errors, so a process
/// gets REST routes without the coordinator knowing it by name.
///
/// Params come from `defaults`, then the path and either a JSON object body (POST, PUT and
/// PATCH) or the query string (GET, DELETE, and routes with a `bodyType`). Query and path
/// values take the type the params schema gives the member (`?limit=20` is a number,
/// `?major=true` a boolean, a repeated `?status=a&status=b` an array).
public struct HTTPRoute: Sendable, Hashable, Codable {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    public var verb: String
    /// Under `/api/v1/`: segments of lowercase letters, digits, `-`, `_` and `.`, or `{param}`,
    /// which fills the param of that name: `incidents/{number}`.
    public var path: String
    /// Path params that hold either a record's UUID or its number: the param a UUID fills
    /// instead (`{"number": "id"}`).
    public var uuidFills: [String: String]?
    /// Query parameters that fill a param of another name (`{"q": "text"}`).
    public var queryAliases: [String: String]?
    /// Params a request gets when it leaves them out.
    public var defaults: [String: JSONValue]?
    /// Formats answered with a document: when the `format` param is one of these keys, the
    /// result's `document` member is the response body, with the value as its content type.
    public var documents: [String: String]?
    /// A media type whose body is taken whole as the string param `bodyParam` (e.g.
    /// `text/plain` → `body`). A request with that content type goes to this route; others to
    /// the route on the same path without one.
    public var bodyType: String?
    public var bodyParam: String?

    public init(_ verb: String, _ path: String, uuidFills: [String: String]? = nil, queryAliases: [String: String]? = nil,
                defaults: [String: JSONValue]? = nil, documents: [String: String]? = nil,
                bodyType: String? = nil, bodyParam: String? = nil) {
        self.verb = verb
        self.path = path
        self.uuidFills = uuidFills
        self.queryAliases = queryAliases
        self.defaults = defaults
        self.documents = documents
        self.bodyType = bodyType
        self.bodyParam = bodyParam
    }

    public static let verbs = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    /// First segments the coordinator serves itself.
    public static let reservedSegments: Set<String> = ["rpc", "plugins", "tokens", "methods", "events", "openapi.json",
                                                          "session", "users", "roles", "groups", "audit", "evidence"]

    /// One path segment: a fixed name or a param.
    public enum Segment: Sendable, Hashable {
        case fixed(String)
        case param(String)
    }

    public var segments: [Segment] {
        path.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 ? .param(String(part.dropFirst().dropLast())) : .fixed(String(part))
        }
    }

    /// Routes with equal keys cannot both be served: same verb, same shape (param names
    /// aside), same body type.
    public var key: String {
        let shape = segments.map { segment in
            switch segment {
            case .fixed(let name): name
            case .param: "{}"
            }
        }.joined(separator: "/")
        return "\(verb) \(shape) \(bodyType ?? "")"
    }

    /// Params come in a JSON object body (POST, PUT and PATCH without `bodyType`), not in the
    /// query.
    public var takesJSONBody: Bool { bodyType == nil && ["POST", "PUT", "PATCH"].contains(verb) }

    /// The path params.
    public var pathParams: [String] {
        segments.compactMap { if case .param(let name) = $0 { name } else { nil } }
    }

    /// What makes the route unusable; empty when it is valid.
    public func problems(method: String) -> [String] {
        var problems: [String] = []
        let named = "method '\(method)': route \(verb) \(path)"
        if !Self.verbs.contains(verb) { problems.append("\(named): the verb must be one of \(Self.verbs.joined(separator: ", "))") }
        let segments = segments
        for segment in segments {
            switch segment {
            case .fixed(let name):
                if name.isEmpty || !name.utf8.allSatisfy(Self.isPathCharacter) {
                    problems.append("\(named): segments are lowercase letters, digits, '-', '_', '.', or {param}")
                }
            case .param(let name):
                if name.isEmpty || !name.utf8.allSatisfy(Self.isParamCharacter) {
                    problems.append("\(named): '{\(name)}' must name a param (letters, digits, '_')")
                }
            }
        }
        if case .fixed(let first)? = segments.first, Self.reservedSegments.contains(first) {
            problems.append("\(named): /api/v1/\(first) is the coordinator's")
        } else if case .param? = segments.first {
            problems.append("\(named): the first segment must be a fixed name")
        }
        let params = pathParams
        if Set(params).count != params.count { problems.append("\(named): a path param appears twice") }
        for name in (uuidFills ?? [:]).keys where !params.contains(name) {
            problems.append("\(named): uuidFills names '\(name)', which is not a path param")
        }
        if (bodyType == nil) != (bodyParam == nil) { problems.append("\(named): bodyType and bodyParam go together") }
        return problems
    }

    private static func isPathCharacter(_ byte: UInt8) -> Bool {
        (97...122).contains(byte) || (48...57).contains(byte) || byte == 45 || byte == 95 || byte == 46
    }

    private static func isParamCharacter(_ byte: UInt8) -> Bool {
        (97...122).contains(byte) || (65...90).contains(byte) || (48...57).contains(byte) || byte == 95
    }
}
