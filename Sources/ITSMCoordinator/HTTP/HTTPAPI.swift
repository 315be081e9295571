import Foundation
import Hummingbird
import ITSMPostgres
import ITSMProtocol
import Logging
import NIOCore

/// The HTTP API: `POST /api/v1/rpc/<method>` for every declared method, plugin status,
/// and health checks. docs/api.md describes it.
///
/// Every `/api/` route needs `Authorization: Bearer <token>` or a signed-in person's session
/// cookie; an RPC call also needs the permission the method declares, so a plugin cannot widen
/// anyone's access. Every write and every administrative change goes to the audit log.
struct HTTPAPI: Sendable {
    let router: MethodRouter
    let tokens: TokenStore
    let accounts: AccountStore
    let sessions: SessionStore
    let audit: AuditLog
    let pool: PostgresPool
    /// Applies the configuration file's plugin list again.
    let reload: @Sendable () async throws(ResponseError) -> PluginFleet.Changes
    /// Restarts a plugin's local instances; nil when it is not enabled.
    let restart: @Sendable (String) async -> Int?
    /// Changes one line or setting of the configuration file, then applies it.
    let changeConfiguration: @Sendable (ConfigurationChange) async throws(ResponseError) -> PluginFleet.Changes
    /// Switches a plugin to another version (nil: the one other version connected), for an actor.
    let upgrade: @Sendable (String, String?, String) async throws(ResponseError) -> JSONValue
    let maxBodyBytes: Int
    /// Whose `X-Forwarded-For` names the client.
    var trustedProxies = TrustedProxies()
    /// Served at `/metrics`; nil: not served.
    var metrics: CoordinatorMetrics? = nil
    let logger: Logger

    func makeRouter() -> Router<APIRequestContext> {
        let routes = Router(context: APIRequestContext.self)
        routes.add(middleware: RequestIDMiddleware(trustedProxies: trustedProxies, logger: logger))
        routes.add(middleware: RPCMethodGuard())
        routes.add(middleware: CoordinatorMethodGuard())
        // Paths under /api/v1/ other than the coordinator's own are the REST routes the running
        // plugins declare, whatever the verb.
        routes.add(middleware: RESTDispatch { request in await rest(request) })
        routes.add(middleware: MetricsMiddleware())
        if let metrics {
            routes.get("metrics") { request, _ in
                if case .failure(let refusal) = await authenticate(request, permission: "metrics.read") { return errorResponse(refusal) }
                let body = await metrics.exposition(router: router, pool: pool)
                return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(bytes: body)))
            }
        }
        routes.get("healthz") { _, _ in jsonResponse(.ok, ["status": "ok"]) }
        routes.get("readyz") { _, _ in await readiness() }
        routes.post("api/v1/rpc/:method") { request, context in
            await rpc(request, method: context.parameters.get("method") ?? "")
        }

        routes.post("api/v1/tokens") { request, _ in
            await authorized(request, permission: "tokens.write", action: "token.issue") { grantor in
                let params: [String: JSONValue]
                switch await strictBody(request, allowed: ["name", "permissions"]) {
                case .success(let found): params = found
                case .failure(let error): return .failure(error)
                }
                guard let name = params["name"]?.stringValue else { return .failure(.invalidParams("name: required, a string")) }
                guard let listed = params["permissions"]?.arrayValue, case let permissions = listed.compactMap(\.stringValue),
                      permissions.count == listed.count else {
                    return .failure(.invalidParams("permissions: required, an array of strings such as incident.read"))
                }
                return try await issueToken(name: name, permissions: permissions, by: grantor)
            }
        }
        routes.get("api/v1/tokens") { request, _ in
            await authorized(request, permission: "tokens.read") { _ in .success(try JSONValue(encoding: try await tokens.list())) }
        }
        routes.delete("api/v1/tokens/:name") { request, context in
            await authorized(request, permission: "tokens.write", action: "token.revoke") { grantor in
                guard let name = Self.pathName(context) else { return .failure(Self.notAName) }
                return try await revokeToken(name: name, by: grantor)
            }
        }
        routes.get("api/v1/plugins") { request, _ in
            await authorized(request, permission: "plugins.read") { _ in .success(try JSONValue(encoding: await pluginStatuses())) }
        }
        routes.post("api/v1/plugins/reload") { request, _ in
            await authorized(request, permission: "plugins.write", action: "plugins.reload") { principal in await reloadPlugins(by: principal) }
        }
        routes.post("api/v1/plugins/:name/restart") { request, context in
            await authorized(request, permission: "plugins.write", action: "plugins.restart") { principal in
                guard let name = Self.pathName(context) else { return .failure(Self.notAName) }
                return await restartPlugin(name, by: principal)
            }
        }
        for (verb, enabled) in [("enable", true), ("disable", false)] {
            routes.post("api/v1/plugins/:name/\(verb)") { request, context in
                await authorized(request, permission: "plugins.write", action: "plugins.\(verb)") { principal in
                    guard let name = Self.pathName(context) else { return .failure(Self.notAName) }
                    return await switchPlugin(name, enabled: enabled, by: principal)
                }
            }
        }
        routes.post("api/v1/plugins/:name/upgrade") { request, context in
            await authorized(request, permission: "plugins.write", action: "plugins.upgrade") { principal in
                guard let name = Self.pathName(context) else { return .failure(Self.notAName) }
                let params: JSONValue
                switch await bodyParams(request) {
                case .success(let found): params = found
                case .failure(let error): return .failure(error)
                }
                if let unknown = params.objectValue?.keys.first(where: { $0 != "version" }) {
                    return .failure(.invalidParams("\(unknown): unknown; the only param is version"))
                }
                let version = params["version"]
                guard version == nil || version?.stringValue != nil else { return .failure(.invalidParams("version: must be a string")) }
                let result: Result<JSONValue, ResponseError>
                do throws(ResponseError) {
                    result = .success(try await upgrade(name, version?.stringValue, principal.actor))
                } catch {
                    result = .failure(error)
                }
                await record("plugins.upgrade", by: principal, target: name, result, details: params)
                return result
            }
        }
        // Public, like most APIs' descriptions: it names methods and their params, nothing stored.
        routes.get("api/v1/openapi.json") { _, _ in
            jsonResponse(.ok, OpenAPIDocument.make(routes: router.routes, version: CoordinatorVersion.current))
        }
        routes.get("api/v1/events") { request, _ in
            await authorized(request, permission: "plugins.read") { _ in
                let query = request.uri.queryParameters
                if let unknown = query.first(where: { $0.key != "format" }) {
                    return .failure(.invalidParams("\(unknown.key.prefix(40)): unknown; the event catalog takes format"))
                }
                guard let format = query["format"], format != "json" else { return .success(try JSONValue(encoding: router.eventCatalog)) }
                guard format == "markdown" else { return .failure(.invalidParams("format: json or markdown")) }
                let catalog = router.eventCatalog
                return .success(["document": .string(EventCatalog.markdown(catalog))])
            }
        }
        routes.get("api/v1/methods") { request, _ in
            await authorized(request, permission: "plugins.read") { _ in
                .success(try JSONValue(encoding: router.routes.map(\.descriptor)))
            }
        }
        addIdentityRoutes(to: routes)
        addEvidenceRoutes(to: routes)
        addConsoleRoutes(to: routes)
        return routes
    }

    // MARK: - Routes

    /// Calls `method` with the body's params.
    private func rpc(_ request: Request, method: String) async -> Response {
        guard let route = router.route(for: method) else {
            // Unknown or not yet declared: the router says which, after authentication, and never
            // routes it from here (a plugin registering meanwhile got it with no params, unchecked).
            return await authorized(request, permission: nil) { _ in .failure(await router.unroutedError(method)) }
        }
        return await authorizedPassingOn(request, permission: route.descriptor.permission, action: method) { principal in
            let params: JSONValue
            switch await bodyParams(request) {
            case .success(let found): params = found
            case .failure(let error): return .failure(error)
            }
            return await call(method, params: params, meta: meta(of: request, principal: principal), principal: principal)
        }
    }

    private func meta(of request: Request, principal: Principal) -> RequestMeta {
        RequestMeta(actor: principal.actor, idempotencyKey: request.headers[.init("Idempotency-Key")!],
                    requestId: CurrentRequest.id)
    }

    /// A request on a REST route a plugin declared: the method's permission, params check and
    /// errors, as through `rpc`; a route answering documents serves the result's `document`.
    private func rest(_ request: Request) async -> Response {
        let prefix = "/api/v1/"
        let path = request.uri.path
        let segments = path.hasPrefix(prefix)
            ? path.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false).map { $0.removingPercentEncoding ?? String($0) }
            : []
        let match: RESTRoutes.Match
        switch RESTRoutes.match(verb: request.method.rawValue, segments: segments, contentType: request.headers[.contentType], in: router.routes) {
        case .found(let found):
            match = found
        case .notFound:
            return errorResponse(ResponseError(code: .methodNotFound, kind: "http.not_found",
                                               message: "no route \(request.method.rawValue) \(path); GET /api/v1/openapi.json lists them"))
        case .wrongVerb(let allowed):
            return methodNotAllowed("\(path) takes \(allowed.joined(separator: ", "))", allowed: allowed)
        case .unsupportedMediaType(let accepted):
            return errorResponse(ResponseError(code: .invalidRequest, kind: "http.unsupported_media_type",
                                               message: "\(request.method.rawValue) \(path) takes a body of type \(accepted.joined(separator: " or "))"),
                                 status: .unsupportedMediaType)
        }
        let method = match.route.descriptor.name
        let principal: Principal
        switch await authenticate(request, permission: match.route.descriptor.permission, action: method) {
        case .success(let found): principal = found
        case .failure(let refusal): return errorResponse(refusal)
        }
        var body: [String: JSONValue] = [:]
        if let bodyParam = match.binding.bodyParam {
            guard let collected = try? await request.body.collect(upTo: maxBodyBytes) else {
                return errorResponse(Self.bodyTooLarge(maxBodyBytes))
            }
            guard let text = collected.getString(at: collected.readerIndex, length: collected.readableBytes) else {
                return errorResponse(.invalidParams("params.\(bodyParam): the body is not UTF-8 text"))
            }
            body[bodyParam] = .string(text)
        } else if match.binding.takesJSONBody {
            switch await bodyParams(request) {
            case .success(let found): body = found.objectValue ?? [:]
            case .failure(let error): return errorResponse(error)
            }
        }
        // Hummingbird decodes the values; the names are decoded here (`ser%76ice` is `service`).
        let query = request.uri.queryParameters.map { (key: String($0.key).removingPercentEncoding ?? String($0.key), value: String($0.value)) }
        let params: JSONValue
        switch RESTRoutes.params(for: match, query: query, body: body) {
        case .success(let built): params = built
        case .failure(let error): return errorResponse(error)
        }
        switch await call(method, params: params, meta: meta(of: request, principal: principal), principal: principal) {
        case .success(let result):
            if let format = params["format"]?.stringValue, let contentType = match.binding.documents?[format],
               let text = result.tree["document"]?.stringValue {
                return Response(status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
            }
            return jsonResponse(.ok, bytes: result.bytes)
        case .failure(let error):
            return errorResponse(error)
        }
    }

    /// The `{name}` in the path: nil when it cannot name anything (empty, too long, or with
    /// control characters such as NUL, which would cut it short on its way to the database).
    static func pathName(_ context: APIRequestContext) -> String? {
        guard let name = context.parameters.get("name"), isName(name) else { return nil }
        return name
    }

    /// Text that can name something: 1 to 200 bytes, no control characters.
    static func isName(_ text: String) -> Bool {
        (1...200).contains(text.utf8.count) && !text.utf8.contains { $0 < 0x20 || $0 == 0x7F }
    }

    static let notAName = ResponseError(code: .methodNotFound, kind: "http.not_found", message: "the path does not hold a name")

    static func bodyTooLarge(_ limit: Int) -> ResponseError {
        ResponseError(code: .messageTooLarge, kind: "http.body_too_large", message: "the request body is over the limit of \(limit) bytes")
    }

    /// The body as a JSON object of params; an empty body is `{}`.
    private func bodyParams(_ request: Request) async -> Result<JSONValue, ResponseError> {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            return .failure(Self.bodyTooLarge(maxBodyBytes))
        }
        guard body.readableBytes > 0 else { return .success(.object([:])) }
        guard let decoded = try? JSONValue.parse(body.readableBytesView) else {
            return .failure(ResponseError(code: .parseError, kind: "protocol.parse_error", message: "the request body is not valid JSON"))
        }
        guard decoded.objectValue != nil else { return .failure(.invalidParams("the request body must be a JSON object of params")) }
        return .success(decoded)
    }

    /// Every process's instances, as `GET /api/v1/plugins` and the console show them: each
    /// running or departed instance, a process waiting for its first, and the disabled ones.
    func pluginStatuses() async -> [PluginStatus] {
        var statuses: [PluginStatus] = []
        for plugin in router.enabledPlugins {
            let instances = router.instances(of: plugin)
            let departed = router.departures(of: plugin)
            if instances.isEmpty && departed.isEmpty { statuses.append(.waiting(plugin)) }
            for instance in instances { statuses.append(await status(of: instance)) }
            statuses += departed
        }
        statuses += router.disabledProcesses.map(PluginStatus.disabled)
        return statuses.sorted { ($0.name, $0.instance ?? "") < ($1.name, $1.instance ?? "") }
    }

    /// Reads itsm.yaml again and applies its plugin list, audited.
    func reloadPlugins(by principal: Principal) async -> Result<JSONValue, ResponseError> {
        logger.notice("plugin reload requested", metadata: ["itsm.actor": "\(principal.actor)"])
        let result: Result<JSONValue, ResponseError>
        do {
            let changes = try await reload()
            result = (try? JSONValue(encoding: changes)).map { .success($0) } ?? .failure(.internalError("the changes could not be encoded"))
        } catch {
            result = .failure(error)
        }
        await record("plugins.reload", by: principal, target: nil, result, details: (try? result.get()) ?? .object([:]))
        return result
    }

    /// Issues a token with at most `grantor`'s permissions, logged and audited without its
    /// secret; the answer holds the secret, shown this once. The API and the console both use it.
    func issueToken(name: String, permissions: [String], by grantor: Principal) async throws -> Result<JSONValue, ResponseError> {
        let result: Result<JSONValue, ResponseError>
        do {
            try TokenStore.validate(name: name, permissions: permissions, grantor: grantor)
            let token = try await tokens.issue(name: name, permissions: permissions, grantor: grantor)
            logger.notice("token issued", metadata: ["itsm.token.name": "\(name)", "itsm.token.by": "\(grantor.actor)"])
            result = .success(["name": .string(name), "permissions": .array(permissions.map(JSONValue.string)), "token": .string(token)])
        } catch let error as TokenError {
            result = .failure(Self.responseError(error))
        }
        await record("token.issue", by: grantor, target: name, result, details: ["permissions": .array(permissions.map(JSONValue.string))])
        return result
    }

    /// Revokes the active tokens named `name` that `grantor` may revoke, audited.
    func revokeToken(name: String, by grantor: Principal) async throws -> Result<JSONValue, ResponseError> {
        let result: Result<JSONValue, ResponseError>
        do {
            if try await tokens.revoke(name: name, grantor: grantor) {
                logger.notice("token revoked", metadata: ["itsm.token.name": "\(name)", "itsm.token.by": "\(grantor.actor)"])
                result = .success(["revoked": .string(name)])
            } else {
                result = .failure(.business(kind: "token.not_found", message: "no active token named '\(name)'"))
            }
        } catch let error as TokenError {
            result = .failure(Self.responseError(error))
        }
        await record("token.revoke", by: grantor, target: name, result)
        return result
    }

    /// Restarts a process's local instances, audited.
    func restartPlugin(_ name: String, by principal: Principal) async -> Result<JSONValue, ResponseError> {
        logger.notice("plugin restart requested", metadata: ["itsm.plugin": "\(name)", "itsm.actor": "\(principal.actor)"])
        let result: Result<JSONValue, ResponseError> = if let restarted = await restart(name) {
            .success(["restarted": .string(name), "instances": .int(Int64(restarted))])
        } else {
            .failure(.processNotEnabled(name))
        }
        await record("plugins.restart", by: principal, target: name, result)
        return result
    }

    /// Enables or disables a process in itsm.yaml and applies it, audited.
    func switchPlugin(_ name: String, enabled: Bool, by principal: Principal) async -> Result<JSONValue, ResponseError> {
        await changeConfiguration(.enabled(plugin: name, enabled), action: enabled ? "plugins.enable" : "plugins.disable", target: name, by: principal)
    }

    /// Sets one setting of a process's `config:` in itsm.yaml and applies it (the process
    /// restarts with it), audited as `plugins.configure` with the key and value.
    func configurePlugin(_ name: String, key: String, value: JSONValue, by principal: Principal) async -> Result<JSONValue, ResponseError> {
        await changeConfiguration(.setting(plugin: name, key: key, value: value), action: "plugins.configure", target: name, by: principal,
                                  details: ["key": .string(key), "value": value])
    }

    private func changeConfiguration(_ change: ConfigurationChange, action: String, target: String, by principal: Principal,
                                     details: [String: JSONValue] = [:]) async -> Result<JSONValue, ResponseError> {
        logger.notice("configuration change requested", metadata: ["itsm.action": "\(action)", "itsm.plugin": "\(target)", "itsm.actor": "\(principal.actor)"])
        let result: Result<JSONValue, ResponseError>
        do {
            let changes = try await changeConfiguration(change)
            result = (try? JSONValue(encoding: changes)).map { .success($0) } ?? .failure(.internalError("the changes could not be encoded"))
        } catch {
            result = .failure(error)
        }
        var recorded = details
        if case .success(let changes) = result { recorded["changes"] = changes }
        await record(action, by: principal, target: target, result, details: .object(recorded))
        return result
    }

    /// An instance's status, `standby` while it runs a version that is not the active one.
    private func status(of instance: any PluginInstance) async -> PluginStatus {
        var status = await instance.snapshot
        if status.state == .running, let version = status.version, let active = router.activeVersion(of: instance.pluginName), version != active {
            status.state = .standby
            status.lastError = "version \(active) is active; switch with 'itsm plugins upgrade \(instance.pluginName) \(version)'"
        }
        return status
    }

    /// Calls `method` for `principal`; a method that changes something goes to the audit log
    /// with its outcome.
    func call(_ method: String, params: JSONValue?, meta: RequestMeta, principal: Principal) async -> Result<RawJSON, ResponseError> {
        let change = { () async -> Result<RawJSON, ResponseError> in
            do throws(ResponseError) {
                return .success(try await router.callRaw(method, params: params, meta: meta, principal: (principal, origin: principal.actor)))
            } catch {
                return .failure(error)
            }
        }
        guard let permission = router.route(for: method)?.descriptor.permission, AuditLog.audits(permission: permission) else {
            return await change()
        }
        return await audit.recording(actor: principal.actor, action: method, params: params, clientAddress: CurrentRequest.clientAddress,
                                     requestId: CurrentRequest.id, details: Self.tokenDetail(of: principal), change)
    }

    /// The token a person acted through, for their audit entries.
    static func tokenDetail(of principal: Principal) -> [String: JSONValue] {
        guard let token = principal.token, principal.kind == .user else { return [:] }
        return ["token": .string(token)]
    }

    /// Appends what `principal` did and how it ended to the audit log.
    func record(_ action: String, by principal: Principal, target: String?, _ result: Result<JSONValue, ResponseError>,
                details: JSONValue = .object([:])) async {
        var details = details
        if case .object(var members) = details {
            members.merge(Self.tokenDetail(of: principal)) { $1 }
            details = .object(members)
        }
        await audit.append(AuditLog.Record(actor: principal.actor, action: action, target: target, outcome: AuditLog.Record.outcome(of: result),
                                           clientAddress: CurrentRequest.clientAddress, requestId: CurrentRequest.id, details: details))
    }

    private func readiness() async -> Response {
        var plugins: [String: JSONValue] = [:]
        var ready = true
        // A plugin is up when one of its instances is; otherwise the best state any instance is in.
        for plugin in router.enabledPlugins {
            var states: [PluginStatus.State] = []
            for instance in router.instances(of: plugin) { states.append(await status(of: instance).state) }
            let state: PluginStatus.State = states.contains(.running) ? .running
                : states.first { $0 != .failed && $0 != .stopped } ?? states.first ?? .waiting
            plugins[plugin] = .string(state.rawValue)
            if state != .running && router.isRequired(plugin) { ready = false }
        }
        let database: Bool
        do {
            try await pool.query("SELECT 1")
            database = true
        } catch {
            database = false
            ready = false
        }
        return jsonResponse(ready ? .ok : .serviceUnavailable, [
            "status": .string(ready ? "ready" : "not ready"), "database": .string(database ? "up" : "down"),
            "plugins": .object(plugins),
            "optional": .array(router.enabledPlugins.filter { !router.isRequired($0) }.map(JSONValue.string)),
        ])
    }

    // MARK: - Authentication and errors

    /// Authenticates the request, checks `permission` (when given), then runs `body`. A refusal
    /// of `action` for want of the permission goes to the audit log.
    func authorized(
        _ request: Request, permission: String?, action: String? = nil,
        _ body: (Principal) async throws -> Result<JSONValue, ResponseError>
    ) async -> Response {
        await answering(request, permission: permission, action: action, body)
    }

    /// As `authorized`, for an answer passed on as a process sent it.
    func authorizedPassingOn(
        _ request: Request, permission: String?, action: String? = nil,
        _ body: (Principal) async throws -> Result<RawJSON, ResponseError>
    ) async -> Response {
        await answering(request, permission: permission, action: action, body)
    }

    private func answering<Answer: JSONDocument>(
        _ request: Request, permission: String?, action: String?,
        _ body: (Principal) async throws -> Result<Answer, ResponseError>
    ) async -> Response {
        let principal: Principal
        switch await authenticate(request, permission: permission, action: action) {
        case .success(let found): principal = found
        case .failure(let refusal): return errorResponse(refusal)
        }
        do {
            switch try await body(principal) {
            case .success(let result): return jsonResponse(.ok, bytes: result.jsonBytes)
            case .failure(let error): return errorResponse(error)
            }
        } catch {
            logger.error("request failed", metadata: ["itsm.error": "\(String(reflecting: error))"])
            return errorResponse(.internalError("the request failed unexpectedly; see the coordinator log"))
        }
    }

    func errorResponse(_ error: ResponseError, status: HTTPResponse.Status? = nil) -> Response {
        var response = jsonResponse(status ?? Self.status(for: error), ["error": (try? JSONValue(encoding: error)) ?? .null])
        if error.isRetryable { response.headers[.retryAfter] = "1" }
        return response
    }

    static func responseError(_ error: TokenError) -> ResponseError {
        switch error {
        case .invalid(let message): return .invalidParams(message)
        case .nameTaken(let name):
            return .business(kind: "token.conflict", message: "the name '\(name)' is taken (an active token, or the installation's own); pick another")
        case .notYours(let name):
            return ResponseError(code: .permissionDenied, kind: "auth.not_yours",
                                 message: "the token '\(name)' was issued by someone else or is an administrator's: only they or an administrator manage it")
        case .cannotGrant(let permission):
            return ResponseError(code: .permissionDenied, kind: "auth.cannot_grant",
                                 message: "a token can only grant permissions it holds itself; this one lacks '\(permission)'")
        }
    }

    /// The principal behind the request's bearer token or session cookie, if it holds
    /// `permission`. A write attempt (`action`) refused for want of the permission is audited.
    func authenticate(_ request: Request, permission: String?, action: String? = nil) async -> Result<Principal, ResponseError> {
        let principal: Principal?
        do {
            if let header = request.headers[.authorization] {
                guard header.hasPrefix("Bearer ") else {
                    return .failure(ResponseError(code: .unauthorized, kind: "auth.missing_token", message: "Authorization must be Bearer <token>"))
                }
                principal = try await tokens.authenticate(String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces))
            } else if let secret = SessionStore.secret(inCookieHeader: request.headers[.cookie]) {
                principal = try await sessions.principal(secret: secret)
                guard principal != nil else {
                    return .failure(ResponseError(code: .unauthorized, kind: "auth.session_expired",
                                                  message: "the session has ended; sign in again (POST /api/v1/session)"))
                }
                // A cookie comes with any request a browser makes, even one another site makes it
                // send: a change also needs the token only this origin's pages can read.
                if ![.get, .head, .options].contains(request.method),
                   !SessionStore.csrfTokenMatches(request.headers[.init(SessionStore.csrfHeader)!], secret: secret) {
                    return .failure(ResponseError(code: .permissionDenied, kind: "auth.csrf",
                                                  message: "a change made with a session cookie needs the header \(SessionStore.csrfHeader) (from POST or GET /api/v1/session)"))
                }
            } else {
                return .failure(ResponseError(code: .unauthorized, kind: "auth.missing_token",
                                              message: "send Authorization: Bearer <token> (the admin token is in <data dir>/admin.token) or sign in (POST /api/v1/session)"))
            }
        } catch {
            logger.error("credential check failed", metadata: ["itsm.error": "\(String(reflecting: error))"])
            return .failure(ResponseError(code: .unavailable, kind: "database.unavailable",
                                          message: "cannot check the credentials: the database is unavailable", retryable: true))
        }
        guard let principal else {
            return .failure(ResponseError(code: .unauthorized, kind: "auth.invalid_token", message: "the token is not valid"))
        }
        if let permission, let refusal = await refusal(of: principal, permission: permission, action: action) {
            return .failure(refusal)
        }
        return .success(principal)
    }

    /// Nil when `principal` holds `permission`; otherwise the refusal, in the audit log when
    /// `action` is a change the log keeps. The API and the console's pages hold calls to it alike.
    func refusal(of principal: Principal, permission: String, action: String?) async -> ResponseError? {
        guard !principal.allows(permission) else { return nil }
        let refusal = principal.lacking(permission)
        if let action, AuditLog.audits(permission: permission) {
            await record(action, by: principal, target: nil, .failure(refusal))
        }
        return refusal
    }

    /// The HTTP status that fits a protocol error.
    static func status(for error: ResponseError) -> HTTPResponse.Status {
        switch error.code {
        case .parseError, .invalidRequest, .invalidParams: return .badRequest
        case .methodNotFound: return .notFound
        case .unauthorized: return .unauthorized
        case .permissionDenied: return .forbidden
        case .messageTooLarge: return .contentTooLarge
        case .unavailable, .shuttingDown, .serverNotInitialized, .requestCancelled: return .serviceUnavailable
        case .requestTimedOut: return .gatewayTimeout
        case .requestFailed:
            let kind = error.kind ?? ""
            if kind.hasSuffix("not_found") { return .notFound }
            if kind.hasSuffix("conflict") || kind.hasSuffix("invalid_transition") { return .conflict }
            return .unprocessableContent
        default: return .internalServerError
        }
    }
}

/// Gives every request an id, carried to the plugins and the calls they make (`meta.requestId`)
/// and returned as `X-Request-Id`: the trace id of a W3C `traceparent`, else the client's own
/// `X-Request-Id` when it is short and plain, else a new one. Refused requests are logged with it.
/// The client's address is the connection's peer, or the one a trusted proxy forwarded for.
struct RequestIDMiddleware<Context: RemoteAddressRequestContext>: RouterMiddleware {
    static var header: String { "X-Request-Id" }
    let trustedProxies: TrustedProxies
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id = Self.id(for: request)
        let peer = context.remoteAddress.flatMap { $0.ipAddress ?? $0.pathname }
        let client = trustedProxies.client(peer: peer, forwardedFor: request.headers[values: .init("X-Forwarded-For")!])
        var response = try await CurrentRequest.$id.withValue(id) {
            try await CurrentRequest.$clientAddress.withValue(client) { try await next(request, context) }
        }
        response.headers[.init(Self.header)!] = id
        if response.status.code >= 400 {
            logger.info("request refused", metadata: [
                "itsm.request": "\(id)", "itsm.http.path": "\(request.uri.path)", "itsm.http.status": "\(response.status.code)",
            ])
        }
        return response
    }

    static func id(for request: Request) -> String {
        // traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>
        if let parent = request.headers[.init("traceparent")!] {
            let parts = parent.split(separator: "-")
            if parts.count == 4, parts[1].count == 32, parts[1].allSatisfy({ $0.isHexDigit }), parts[1].contains(where: { $0 != "0" }) {
                return parts[1].lowercased()
            }
        }
        if let given = request.headers[.init(header)!], (1...64).contains(given.count),
           given.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) {
            return given
        }
        return TokenStore.randomString(bytes: 16)
    }
}

/// The request the current task serves (`RequestIDMiddleware`): its id and the client's address.
enum CurrentRequest {
    @TaskLocal static var id: String?
    @TaskLocal static var clientAddress: String?
}

/// Hummingbird's basic context, plus the client's address for the audit log.
struct APIRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// A path of the coordinator's own with a verb it does not take is 405 with the verbs it does
/// (`Allow`), as for the processes' REST routes, not "not found".
struct CoordinatorMethodGuard<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let verb = request.method.rawValue
        guard verb != "HEAD", request.uri.path.hasPrefix("/api/v1/") else { return try await next(request, context) }
        let segments = request.uri.path.dropFirst("/api/v1/".count).split(separator: "/", omittingEmptySubsequences: false)
        let allowed = CoordinatorOperation.all.filter { $0.matches(segments) }.map(\.verb)
        guard !allowed.isEmpty, !allowed.contains(verb) else { return try await next(request, context) }
        return methodNotAllowed("\(request.uri.path) takes \(allowed.joined(separator: ", "))", allowed: allowed)
    }
}

/// Methods are called with POST; any other HTTP method on an RPC path is 405, not "not found".
struct RPCMethodGuard<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method != .post, request.uri.path.hasPrefix("/api/v1/rpc/") else { return try await next(request, context) }
        return methodNotAllowed("call methods with POST", allowed: ["POST"])
    }
}

/// Sends requests on paths under `/api/v1/` whose first segment is not the coordinator's own
/// (`HTTPRoute.reservedSegments`) to the plugins' REST routes.
struct RESTDispatch<Context: RequestContext>: RouterMiddleware {
    let serve: @Sendable (Request) async -> Response

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/api/v1/") else { return try await next(request, context) }
        let first = path.dropFirst("/api/v1/".count).prefix { $0 != "/" }
        guard !HTTPRoute.reservedSegments.contains(String(first)) else { return try await next(request, context) }
        return await serve(request)
    }
}

/// 405 naming the verbs the path takes (`Allow`): RPC paths, the coordinator's own routes and
/// the plugins' REST routes answer it alike.
func methodNotAllowed(_ message: String, allowed: [String]) -> Response {
    let error = ResponseError(code: .invalidRequest, kind: "http.method_not_allowed", message: message)
    var response = jsonResponse(.methodNotAllowed, ["error": (try? JSONValue(encoding: error)) ?? .null])
    response.headers[.allow] = allowed.joined(separator: ", ")
    return response
}

func jsonResponse(_ status: HTTPResponse.Status, _ body: JSONValue) -> Response {
    jsonResponse(status, bytes: body.serialized())
}

/// A JSON answer from its text.
func jsonResponse(_ status: HTTPResponse.Status, bytes: [UInt8]) -> Response {
    var buffer = ByteBuffer()
    buffer.writeBytes(bytes)
    buffer.writeString("\n")
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
}
