import ITSMProtocol

/// The OpenAPI 3.1 description of the API as it is now: one `POST /api/v1/rpc/<method>` per
/// method the enabled plugins declare, and the REST routes they declare, with the params and
/// result schemas, the permission and the errors each can answer; and the coordinator's own
/// routes (`CoordinatorOperation`). Built from the router on every
/// request, so it follows plugins as they are enabled, disabled and upgraded. Served at
/// `GET /api/v1/openapi.json`.
enum OpenAPIDocument {
    static func make(routes: [MethodRouter.Route], version: String) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        /// One verb of a path under /api/v1/, beside the path's other verbs.
        func add(_ operation: JSONValue, _ verb: String, _ path: String) {
            var verbs = paths["/api/v1/\(path)"]?.objectValue ?? [:]
            verbs[verb.lowercased()] = operation
            paths["/api/v1/\(path)"] = .object(verbs)
        }
        for route in routes {
            let method = route.descriptor
            let body = (try? JSONValue(encoding: method.params ?? .any)) ?? .object([:])
            var operation: [String: JSONValue] = [
                "operationId": .string(method.name),
                "tags": [.string(route.plugin)],
                "x-permission": .string(method.permission),
                "x-idempotent": .bool(method.idempotent),
                "parameters": [[
                    "name": "Idempotency-Key", "in": "header", "required": false,
                    "description": "Makes the request happen once however often it is sent (1 to 200 printable characters)",
                    "schema": ["type": "string", "minLength": 1, "maxLength": .int(Int64(MethodRouter.maximumIdempotencyKeyLength))],
                ]],
                "requestBody": ["required": false, "content": ["application/json": ["schema": body]]],
                "responses": responses(result: method.result),
            ]
            if let description = method.description { operation["summary"] = .string(description) }
            paths["/api/v1/rpc/\(method.name)"] = ["post": .object(operation)]
            for binding in method.routes ?? [] { add(restOperation(binding, of: route), binding.verb, binding.path) }
        }
        for operation in CoordinatorOperation.all { add(operation.document, operation.verb, operation.path) }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "itsm", "version": .string(version),
                "description": "Every method of every enabled process, called with its params as the JSON body. docs/api.md explains the conventions.",
            ],
            "security": [["bearer": []]],
            "paths": .object(paths),
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "description": "An API token: itsm tokens issue"]],
                "schemas": ["Error": errorSchema],
                "responses": .object(Dictionary(uniqueKeysWithValues: errors.map { status, description in
                    (status, ["description": .string(description), "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]])
                })),
            ],
        ]
    }

    /// A REST route (`HTTPRoute`): path params, then the query parameters or the body, as
    /// `RESTRoutes.params` reads them.
    static func restOperation(_ binding: HTTPRoute, of route: MethodRouter.Route) -> JSONValue {
        let method = route.descriptor
        let schema = method.params ?? .any
        let properties = schema.properties ?? [:]
        let required = Set(schema.required ?? [])
        let pathParams = binding.pathParams
        func encoded(_ schema: JSONSchema?) -> JSONValue { (try? JSONValue(encoding: schema ?? .any)) ?? .object([:]) }

        var parameters: [JSONValue] = pathParams.map { name in
            // A path param that may hold a UUID instead is any text here.
            let type: JSONValue = binding.uuidFills?[name] != nil ? ["type": "string"] : encoded(properties[name])
            return ["name": .string(name), "in": "path", "required": true, "schema": type]
        }
        var operation: [String: JSONValue] = [
            "operationId": .string("\(method.name) \(binding.verb) /\(binding.path)"),
            "tags": [.string(route.plugin)],
            "x-permission": .string(method.permission),
            "x-idempotent": .bool(method.idempotent),
            "x-rpc-method": .string(method.name),
            "responses": responses(result: binding.documents == nil ? method.result : nil, documents: binding.documents),
        ]
        if let description = method.description { operation["summary"] = .string(description) }
        let others = properties.filter { !pathParams.contains($0.key) && !($0.key == binding.bodyParam) }
        if binding.takesJSONBody {
            var body = schema
            body.properties = others
            body.required = schema.required?.filter { !pathParams.contains($0) }
            operation["requestBody"] = ["required": false, "content": ["application/json": ["schema": encoded(body)]]]
        } else {
            let aliases = Dictionary((binding.queryAliases ?? [:]).map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
            // Object members have no plain query form: they are left to the RPC route.
            for (name, member) in others.sorted(by: { $0.key < $1.key }) where member.type != .object {
                parameters.append([
                    "name": .string(aliases[name] ?? name), "in": "query",
                    "required": .bool(required.contains(name) && binding.defaults?[name] == nil),
                    "schema": encoded(member),
                ])
            }
            if let bodyType = binding.bodyType {
                operation["requestBody"] = ["required": true, "content": [bodyType: ["schema": ["type": "string"]]]]
            }
        }
        operation["parameters"] = .array(parameters)
        return .object(operation)
    }

    /// The statuses `HTTPAPI.status(for:)` gives errors, each with when it happens.
    static let errors: [(String, String)] = [
        ("400", "params that do not match the method's schema, or a body that is not a JSON object"),
        ("401", "no token, or one that is unknown or revoked"),
        ("403", "a token without the method's permission"),
        ("404", "no such method, or no such record"),
        ("409", "a change the record's state does not allow"),
        ("413", "a body over httpLimits.maxBodyBytes"),
        ("422", "the process refused the request; data.kind says why"),
        ("503", "the process is not running, or the database is unavailable: retry (Retry-After)"),
        ("504", "the process did not answer in time"),
    ]

    static func responses(result: JSONSchema?, documents: [String: String]? = nil) -> JSONValue {
        let schema = result.flatMap { try? JSONValue(encoding: $0) } ?? .object([:])
        var content: [String: JSONValue] = ["application/json": ["schema": schema]]
        for type in (documents ?? [:]).values { content[type] = ["schema": ["type": "string"]] }
        var responses: [String: JSONValue] = ["200": ["description": "the method's result", "content": .object(content)]]
        for (status, _) in errors { responses[status] = ["$ref": .string("#/components/responses/\(status)")] }
        return .object(responses)
    }

    /// `{"error": {"code", "message", "data": {"kind", "retryable", "details"}}}` (docs/api.md).
    static let errorSchema: JSONValue = [
        "type": "object", "required": ["error"],
        "properties": ["error": [
            "type": "object", "required": ["code", "message"],
            "properties": [
                "code": ["type": "integer"], "message": ["type": "string"],
                "data": ["type": "object", "properties": ["kind": ["type": "string"], "retryable": ["type": "boolean"], "details": [:]]],
            ],
        ]],
    ]
}
