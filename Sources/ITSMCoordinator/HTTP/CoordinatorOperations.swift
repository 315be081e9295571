import ITSMProtocol

/// The routes the coordinator answers itself (tokens, plugins, the catalogs, people, the audit
/// log, evidence), described for `GET /api/v1/openapi.json` beside the processes' methods, so the
/// whole API is in one document and schemathesis tries these too. Each describes what its
/// handler in HTTPAPI and IdentityRoutes reads; a handler that starts reading something else must
/// say so here.
struct CoordinatorOperation: Sendable {
    var verb: String
    /// Under `/api/v1/`, with `{name}` for a path param.
    var path: String
    var summary: String
    /// Nil: any authenticated caller (or anyone, when `open`).
    var permission: String?
    var query: [(name: String, schema: JSONValue, required: Bool)] = []
    var body: JSONValue?
    /// Needs no token (signing in, the document itself).
    var open = false
    /// The media type of a 200 that is not JSON.
    var produces: String?

    static let name: JSONValue = ["type": "string", "minLength": 1, "maxLength": 200]
    static let text: JSONValue = ["type": "string"]
    static let texts: JSONValue = ["type": "array", "items": ["type": "string"]]
    static let instant: JSONValue = ["type": "string", "format": "date-time"]

    static func object(_ properties: [String: JSONValue], required: [String] = []) -> JSONValue {
        ["type": "object", "properties": .object(properties), "required": .array(required.map(JSONValue.string)),
         "additionalProperties": false]
    }

    static let account: [String: JSONValue] = [
        "displayName": text, "email": ["type": ["string", "null"]], "manager": ["type": ["string", "null"]], "roles": texts,
        "password": text, "disabled": ["type": "boolean"],
    ]

    static let all: [CoordinatorOperation] = [
        .init(verb: "POST", path: "tokens", summary: "Issue a token with at most the caller's permissions; the secret is shown once",
              permission: "tokens.write", body: object(["name": name, "permissions": texts], required: ["name", "permissions"])),
        .init(verb: "GET", path: "tokens", summary: "The tokens, without their secrets", permission: "tokens.read"),
        .init(verb: "DELETE", path: "tokens/{name}", summary: "Revoke a token the caller issued", permission: "tokens.write"),
        .init(verb: "GET", path: "plugins", summary: "Each process's instances, state, restarts and last error", permission: "plugins.read"),
        .init(verb: "POST", path: "plugins/reload", summary: "Apply itsm.yaml: start, stop and restart only what changed",
              permission: "plugins.write"),
        .init(verb: "POST", path: "plugins/{name}/restart", summary: "Restart a process's instances", permission: "plugins.write"),
        .init(verb: "POST", path: "plugins/{name}/enable", summary: "Enable a process in itsm.yaml and apply it", permission: "plugins.write"),
        .init(verb: "POST", path: "plugins/{name}/disable", summary: "Disable a process in itsm.yaml (its data stays) and apply it",
              permission: "plugins.write"),
        .init(verb: "POST", path: "plugins/{name}/upgrade", summary: "Switch the active version of a process",
              permission: "plugins.write", body: object(["version": text])),
        .init(verb: "GET", path: "openapi.json", summary: "This document", open: true),
        .init(verb: "GET", path: "events", summary: "Every event type of the running processes, with publishers, subscribers and payloads",
              permission: "plugins.read", query: [("format", ["type": "string", "enum": ["json", "markdown"]], false)]),
        .init(verb: "GET", path: "methods", summary: "Every method of the running processes, with its schemas", permission: "plugins.read"),
        .init(verb: "POST", path: "session", summary: "Sign in: a session cookie and its form token", body:
                object(["name": text, "password": text], required: ["name", "password"]), open: true),
        .init(verb: "GET", path: "session", summary: "Who is calling, with their roles and permissions"),
        .init(verb: "DELETE", path: "session", summary: "Sign out (a session, not a token)"),
        .init(verb: "POST", path: "session/password", summary: "Change one's own password; other sessions end",
              body: object(["current": text, "new": text], required: ["current", "new"])),
        .init(verb: "GET", path: "users", summary: "Accounts with their roles, source and state", permission: "users.read"),
        .init(verb: "GET", path: "users/{name}", summary: "One account (anyone may read their own)"),
        .init(verb: "POST", path: "users", summary: "Create an account", permission: "users.write",
              body: object(account.merging(["name": name, "source": ["type": "string", "enum": ["local", "directory"]]]) { $1 },
                           required: ["name"])),
        .init(verb: "PATCH", path: "users/{name}", summary: "Change an account", permission: "users.write", body: object(account)),
        .init(verb: "GET", path: "roles", summary: "Roles and the permissions each grants", permission: "users.read"),
        .init(verb: "PUT", path: "roles/{name}", summary: "Define or replace a role", permission: "users.write",
              body: object(["description": text, "permissions": texts], required: ["permissions"])),
        .init(verb: "DELETE", path: "roles/{name}", summary: "Remove a role", permission: "users.write"),
        .init(verb: "GET", path: "groups", summary: "Assignment groups with their members and leads"),
        .init(verb: "PUT", path: "groups/{name}", summary: "Define an assignment group or replace its members", permission: "users.write",
              body: object(["description": text, "members": texts, "leads": texts])),
        .init(verb: "DELETE", path: "groups/{name}", summary: "Remove an assignment group", permission: "users.write"),
        .init(verb: "GET", path: "audit", summary: "Audit log entries, oldest first, by period, actor and action", permission: "audit.read",
              query: [("from", instant, false), ("to", instant, false), ("actor", text, false), ("action", text, false),
                      ("after", ["type": "integer", "minimum": 0], false), ("limit", ["type": "integer", "minimum": 1, "maximum": 1000], false)]),
        .init(verb: "GET", path: "audit/verify", summary: "Check the audit log's hash chain end to end", permission: "audit.read"),
        .init(verb: "GET", path: "evidence", summary: "The evidence pack for a period, a zip archive", permission: "evidence.read",
              query: [("from", instant, true), ("to", instant, true), ("clause", texts, false)], produces: "application/zip"),
    ]

    /// Whether a request path under `/api/v1/` (its segments) is this operation's.
    func matches(_ segments: [Substring]) -> Bool {
        let template = path.split(separator: "/", omittingEmptySubsequences: false)
        guard template.count == segments.count else { return false }
        return zip(template, segments).allSatisfy { $0.hasPrefix("{") ? !$1.isEmpty : $0 == $1 }
    }

    var pathParams: [String] {
        path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
    }

    /// The OpenAPI operation.
    var document: JSONValue {
        var parameters: [JSONValue] = pathParams.map { ["name": .string($0), "in": "path", "required": true, "schema": Self.name] }
        for (name, schema, required) in query {
            var parameter: [String: JSONValue] = ["name": .string(name), "in": "query", "required": .bool(required), "schema": schema]
            if case .object(let members) = schema, members["type"] == "array" { parameter["explode"] = true }
            parameters.append(.object(parameter))
        }
        var operation: [String: JSONValue] = [
            "operationId": .string("\(verb) /\(path)"), "tags": ["coordinator"], "summary": .string(summary),
            "parameters": .array(parameters),
            "responses": OpenAPIDocument.responses(result: nil, documents: produces.map { ["pack": $0] }),
        ]
        if let permission { operation["x-permission"] = .string(permission) }
        if open { operation["security"] = [] }
        if let body {
            // Required when it has a required member; otherwise an empty body is an empty object.
            let required = body["required"]?.arrayValue?.isEmpty == false
            operation["requestBody"] = ["required": .bool(required), "content": ["application/json": ["schema": body]]]
        }
        return .object(operation)
    }
}
