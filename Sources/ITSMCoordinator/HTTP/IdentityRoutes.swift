import Foundation
import Hummingbird
import ITSMProtocol

/// People, roles, sessions and the audit log over HTTP (docs/api.md, "People and the audit log").
extension HTTPAPI {
    func addIdentityRoutes(to routes: Router<APIRequestContext>) {
        routes.post("api/v1/session") { request, _ in await login(request) }
        routes.get("api/v1/session") { request, _ in
            await authorized(request, permission: nil) { principal in
                var body: [String: JSONValue] = [
                    "actor": .string(principal.actor), "name": .string(principal.name), "kind": .string(principal.kind.rawValue),
                    "roles": .array(principal.roles.map(JSONValue.string)),
                    "permissions": .array(principal.permissions.map(JSONValue.string)),
                ]
                // A person's token holds at most what they hold now.
                if let ceiling = principal.ceiling { body["ownerPermissions"] = .array(ceiling.map(JSONValue.string)) }
                if let token = principal.token { body["token"] = .string(token) }
                if request.headers[.authorization] == nil, let secret = SessionStore.secret(inCookieHeader: request.headers[.cookie]) {
                    body["csrfToken"] = .string(SessionStore.csrfToken(for: secret))
                }
                return .success(.object(body))
            }
        }
        routes.delete("api/v1/session") { request, _ in
            guard request.headers[.authorization] == nil else {
                return errorResponse(.invalidParams("sign out ends a session: send its cookie, not a token"))
            }
            // Without a session cookie this is 401, as for any call without credentials.
            guard let secret = SessionStore.secret(inCookieHeader: request.headers[.cookie]) else {
                return await authorized(request, permission: nil) { _ in .success(.null) }
            }
            var response = await authorized(request, permission: nil, action: "session.logout") { principal in
                try await sessions.close(secret: secret)
                await record("session.logout", by: principal, target: principal.name, .success(.null))
                return .success(["signedOut": .string(principal.name)])
            }
            response.headers[.setCookie] = SessionStore.clearedCookie
            return response
        }
        routes.post("api/v1/session/password") { request, _ in
            await authorized(request, permission: nil, action: "account.password") { principal in
                let params: [String: JSONValue]
                switch await strictBody(request, allowed: ["current", "new"]) {
                case .success(let found): params = found
                case .failure(let error): return .failure(error)
                }
                guard principal.kind == .user else { return .failure(.invalidParams("only a person has a password; this is \(principal.actor)")) }
                guard let current = params["current"]?.stringValue else { return .failure(.invalidParams("current: the password now, a string")) }
                guard let new = params["new"]?.stringValue else { return .failure(.invalidParams("new: the new password, a string")) }
                guard case .success = try await accounts.login(name: principal.name, password: current) else {
                    let refusal = ResponseError(code: .permissionDenied, kind: "auth.login_failed", message: "current: not the password of \(principal.name)")
                    await record("account.password", by: principal, target: principal.name, .failure(refusal))
                    return .failure(refusal)
                }
                var changes = AccountStore.Changes()
                changes.password = new
                let result = await accountResult { () throws(AccountError) in
                    try await accounts.update(name: principal.name, changes, grantor: Principal(name: principal.name, permissions: []))
                }
                await record("account.password", by: principal, target: principal.name, result.map { _ in .null })
                return result.map { _ in ["changed": .string(principal.name), "signedOut": true] }
            }
        }

        routes.get("api/v1/users") { request, _ in
            await authorized(request, permission: "users.read") { _ in .success(try JSONValue(encoding: try await accounts.list())) }
        }
        routes.get("api/v1/users/:name") { request, context in
            guard let name = Self.pathName(context) else { return errorResponse(Self.notAName) }
            return await authorized(request, permission: nil) { principal in
                // Everyone may read their own account.
                guard principal.allows("users.read") || (principal.kind == .user && principal.name == name) else {
                    return .failure(principal.lacking("users.read"))
                }
                guard let account = try await accounts.account(named: name) else {
                    return .failure(AccountError.notFound(name).responseError)
                }
                return .success(try JSONValue(encoding: account))
            }
        }
        routes.post("api/v1/users") { request, _ in
            await changeAccount(request, action: "account.create",
                                allowed: ["name", "displayName", "email", "manager", "roles", "password", "disabled", "source"],
                                name: { $0["name"]?.stringValue }) { name, changes, grantor throws(AccountError) in
                try await accounts.create(name: name, changes, grantor: grantor)
            }
        }
        routes.patch("api/v1/users/:name") { request, context in
            guard let name = Self.pathName(context) else { return errorResponse(Self.notAName) }
            return await changeAccount(request, action: "account.update", allowed: ["displayName", "email", "manager", "roles", "password", "disabled"],
                                       name: { _ in name }) { name, changes, grantor throws(AccountError) in
                try await accounts.update(name: name, changes, grantor: grantor)
            }
        }

        routes.get("api/v1/roles") { request, _ in
            await authorized(request, permission: "users.read") { _ in .success(try JSONValue(encoding: try await accounts.roles())) }
        }
        routes.put("api/v1/roles/:name") { request, context in
            guard let name = Self.pathName(context) else { return errorResponse(Self.notAName) }
            return await authorized(request, permission: "users.write", action: "role.put") { grantor in
                let params: [String: JSONValue]
                switch await strictBody(request, allowed: ["description", "permissions"]) {
                case .success(let found): params = found
                case .failure(let error): return .failure(error)
                }
                guard let permissions = params["permissions"]?.arrayValue, permissions.allSatisfy({ $0.stringValue != nil }) else {
                    return .failure(.invalidParams("permissions: required, an array of strings such as incident.read"))
                }
                if let description = params["description"], description.stringValue == nil {
                    return .failure(.invalidParams("description: must be a string"))
                }
                let role = AccountStore.Role(name: name, description: params["description"]?.stringValue ?? "",
                                             permissions: permissions.compactMap(\.stringValue), builtin: false)
                let result = await accountResult { () throws(AccountError) in try await accounts.putRole(role, grantor: grantor) }
                await record("role.put", by: grantor, target: name, result, details: .object(params))
                return result
            }
        }
        routes.delete("api/v1/roles/:name") { request, context in
            await deleting(request, context, action: "role.delete") { name, grantor throws(AccountError) in try await accounts.deleteRole(name, grantor: grantor) }
        }

        routes.get("api/v1/groups") { request, _ in
            await authorized(request, permission: nil) { _ in .success(try JSONValue(encoding: try await accounts.groups())) }
        }
        routes.put("api/v1/groups/:name") { request, context in
            guard let name = Self.pathName(context) else { return errorResponse(Self.notAName) }
            return await authorized(request, permission: "users.write", action: "group.put") { grantor in
                let params: [String: JSONValue]
                switch await strictBody(request, allowed: ["description", "members", "leads"]) {
                case .success(let found): params = found
                case .failure(let error): return .failure(error)
                }
                var lists: [String: [String]] = [:]
                for member in ["members", "leads"] {
                    let value = params[member] ?? .array([])
                    guard let names = value.arrayValue?.compactMap(\.stringValue), names.count == value.arrayValue?.count else {
                        return .failure(.invalidParams("\(member): must be an array of account names"))
                    }
                    lists[member] = names
                }
                if let description = params["description"], description.stringValue == nil {
                    return .failure(.invalidParams("description: must be a string"))
                }
                let group = AccountStore.Group(name: name, description: params["description"]?.stringValue ?? "",
                                               members: lists["members"]!, leads: lists["leads"]!)
                let result = await accountResult { () throws(AccountError) in try await accounts.putGroup(group) }
                await record("group.put", by: grantor, target: name, result, details: .object(params))
                return result
            }
        }
        routes.delete("api/v1/groups/:name") { request, context in
            await deleting(request, context, action: "group.delete") { name, grantor throws(AccountError) in try await accounts.deleteGroup(name) }
        }

        routes.get("api/v1/audit") { request, _ in
            await authorized(request, permission: "audit.read") { _ in
                let query = request.uri.queryParameters
                let known: Set<String> = ["from", "to", "actor", "action", "after", "limit"]
                if let unknown = query.map({ String($0.key) }).first(where: { !known.contains($0) }) {
                    return .failure(.invalidParams("\(unknown): unknown; the audit log takes \(known.sorted().joined(separator: ", "))"))
                }
                if let bad = query.first(where: { $0.value.utf8.contains { $0 < 0x20 } }) {
                    return .failure(.invalidParams("\(bad.key): contains a control character"))
                }
                var dates: [String: Date] = [:]
                for member in ["from", "to"] {
                    guard let text = query[Substring(member)].map(String.init) else { continue }
                    guard let date = try? Date(text, strategy: .iso8601) else {
                        return .failure(.invalidParams("\(member): not a date and time like 2026-01-31T00:00:00Z"))
                    }
                    dates[member] = date
                }
                let after = query["after"].map { Int64($0) } ?? 0
                let limit = query["limit"].map { Int($0) } ?? 100
                guard let after, after >= 0 else { return .failure(.invalidParams("after: a sequence number, 0 or more")) }
                guard let limit, (1...1000).contains(limit) else { return .failure(.invalidParams("limit: 1 to 1000")) }
                let entries = try await audit.entries(from: dates["from"], to: dates["to"], actor: query["actor"].map(String.init),
                                                      action: query["action"].map(String.init), after: after, limit: limit)
                return .success(try JSONValue(encoding: entries))
            }
        }
        routes.get("api/v1/audit/verify") { request, _ in
            await authorized(request, permission: "audit.read") { _ in .success(try JSONValue(encoding: try await audit.verify())) }
        }
    }

    /// Signs a person in: the session cookie, and the CSRF token their pages send with changes.
    private func login(_ request: Request) async -> Response {
        let params: [String: JSONValue]
        switch await strictBody(request, allowed: ["name", "password"]) {
        case .success(let found): params = found
        case .failure(let error): return errorResponse(error)
        }
        guard let name = params["name"]?.stringValue else { return errorResponse(.invalidParams("name: required, a string")) }
        guard let password = params["password"]?.stringValue else { return errorResponse(.invalidParams("password: required, a string")) }
        switch await signIn(name: name, password: password) {
        case .success(let (principal, opened)):
            var response = jsonResponse(.ok, [
                "actor": .string(principal.actor), "name": .string(principal.name), "kind": "user",
                "roles": .array(principal.roles.map(JSONValue.string)),
                "permissions": .array(principal.permissions.map(JSONValue.string)),
                "csrfToken": .string(opened.csrfToken),
                "expiresAt": .string(opened.expiresAt.formatted(.iso8601)),
            ])
            response.headers[.setCookie] = SessionStore.cookie(opened)
            return response
        case .failure(let refusal):
            var response = errorResponse(refusal, status: refusal.kind == "auth.locked" ? .tooManyRequests : nil)
            if let seconds = refusal.data?["details"]?["retryAfter"]?.intValue { response.headers[.retryAfter] = String(seconds) }
            return response
        }
    }

    /// Checks a person's password (locally or with the directory), opens their session and
    /// records the attempt in the audit log, whichever way it ends. The API and the console
    /// both sign people in through here.
    func signIn(name: String, password: String) async -> Result<(Principal, SessionStore.Opened), ResponseError> {
        // Recorded under the name given only when it could be an account's, so the log holds no
        // passwords typed into the name field.
        let actor = AccountStore.nameProblem(name) == nil ? Principal(name: name, kind: .user, permissions: [])
                                                           : Principal(name: "(not an account name)", kind: .user, permissions: [])
        do {
            switch try await accounts.login(name: name, password: password) {
            case .success(let principal):
                let opened = try await sessions.open(account: principal.name, clientAddress: CurrentRequest.clientAddress)
                await record("session.login", by: principal, target: principal.name, .success(.null))
                return .success((principal, opened))
            case .failed:
                let refusal = ResponseError(code: .unauthorized, kind: "auth.login_failed", message: "the name or the password is wrong")
                await record("session.login", by: actor, target: actor.name, .failure(refusal))
                return .failure(refusal)
            case .locked(let until):
                let seconds = max(1, Int(until.timeIntervalSinceNow.rounded(.up)))
                let refusal = ResponseError(code: .unauthorized, kind: "auth.locked",
                                            message: "too many failed sign-ins: try again in \(seconds) s, or ask an administrator to reset the password",
                                            details: ["retryAfter": .int(Int64(seconds))])
                await record("session.login", by: actor, target: actor.name, .failure(refusal))
                return .failure(refusal)
            }
        } catch let error as DirectoryError {
            logger.error("the directory could not be asked", metadata: ["itsm.error": "\(error)"])
            return .failure(ResponseError(code: .unavailable, kind: "directory.unavailable",
                                          message: "cannot sign in: the directory does not answer; local accounts still can", retryable: true))
        } catch {
            logger.error("sign-in failed", metadata: ["itsm.error": "\(String(reflecting: error))"])
            return .failure(ResponseError(code: .unavailable, kind: "database.unavailable",
                                          message: "cannot sign in: the database is unavailable", retryable: true))
        }
    }

    /// Creates or changes an account from the body's members (`allowed`), for a principal with
    /// `users.write`, and records it (the password only as changed).
    private func changeAccount(
        _ request: Request, action: String, allowed: Set<String>, name: @escaping ([String: JSONValue]) -> String?,
        _ apply: @escaping (String, AccountStore.Changes, Principal) async throws(AccountError) -> AccountStore.Account
    ) async -> Response {
        await authorized(request, permission: "users.write", action: action) { grantor in
            let params: [String: JSONValue]
            switch await strictBody(request, allowed: allowed) {
            case .success(let found): params = found
            case .failure(let error): return .failure(error)
            }
            guard let name = name(params) else { return .failure(.invalidParams("name: required, a string")) }
            let result: Result<JSONValue, ResponseError>
            switch Self.accountChanges(params) {
            case .failure(let error): result = .failure(error)
            case .success(let changes):
                result = await accountResult { () throws(AccountError) in try await apply(name, changes, grantor) }
            }
            await record(action, by: grantor, target: name, result, details: Self.auditable(params))
            return result
        }
    }

    /// Removes the role or group the path names, for `users.write`, and records it.
    private func deleting(_ request: Request, _ context: APIRequestContext, action: String,
                          _ delete: @escaping (String, Principal) async throws(AccountError) -> Void) async -> Response {
        guard let name = Self.pathName(context) else { return errorResponse(Self.notAName) }
        return await authorized(request, permission: "users.write", action: action) { grantor in
            let result = await accountResult { () throws(AccountError) in
                try await delete(name, grantor)
                return ["deleted": .string(name)] as JSONValue
            }
            await record(action, by: grantor, target: name, result)
            return result
        }
    }

    /// The body's members, refusing any not in `allowed` by name.
    /// A JSON object body with only the `allowed` members, each refusal naming the member.
    func strictBody(_ request: Request, allowed: Set<String>) async -> Result<[String: JSONValue], ResponseError> {
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: 64 * 1024) } catch { return .failure(Self.bodyTooLarge(64 * 1024)) }
        guard body.readableBytes > 0 else { return .success([:]) }
        guard let members = (try? JSONValue.parse(body.readableBytesView))?.objectValue else {
            return .failure(.invalidParams("the body must be a JSON object"))
        }
        if let unknown = members.keys.sorted().first(where: { !allowed.contains($0) }) {
            return .failure(.invalidParams("\(unknown): unknown; this takes \(allowed.sorted().joined(separator: ", "))"))
        }
        if let problem = JSONValue.object(members).inputProblem(at: "body") { return .failure(.invalidParams(problem)) }
        return .success(members)
    }

    /// An account's fields from a body, each checked for its type.
    static func accountChanges(_ params: [String: JSONValue]) -> Result<AccountStore.Changes, ResponseError> {
        var changes = AccountStore.Changes()
        for (member, value) in params {
            switch member {
            case "displayName", "password", "source":
                guard let text = value.stringValue else { return .failure(.invalidParams("\(member): must be a string")) }
                if member == "displayName" { changes.displayName = text } else if member == "password" { changes.password = text } else { changes.source = text }
            case "email":
                if value == .null { changes.email = .some(nil) } else if let text = value.stringValue { changes.email = .some(text) } else {
                    return .failure(.invalidParams("email: must be a string, or null to remove it"))
                }
            case "manager":
                if value == .null { changes.manager = .some(nil) } else if let text = value.stringValue { changes.manager = .some(text) } else {
                    return .failure(.invalidParams("manager: must be an account name, or null to remove it"))
                }
            case "disabled":
                guard case .bool(let flag) = value else { return .failure(.invalidParams("disabled: must be true or false")) }
                changes.disabled = flag
            case "roles":
                guard let roles = value.arrayValue?.compactMap(\.stringValue), roles.count == value.arrayValue?.count else {
                    return .failure(.invalidParams("roles: must be an array of role names"))
                }
                changes.roles = roles
            default:
                break
            }
        }
        return .success(changes)
    }

    /// What of an account change the audit log keeps: everything but the password, which is
    /// only said to have changed.
    static func auditable(_ params: [String: JSONValue]) -> JSONValue {
        var kept = params
        if kept["password"] != nil { kept["password"] = "(changed)" }
        return .object(kept)
    }

    private func accountResult<T: Encodable>(_ body: () async throws(AccountError) -> T) async -> Result<JSONValue, ResponseError> {
        let value: T
        do throws(AccountError) {
            value = try await body()
        } catch {
            return .failure(error.responseError)
        }
        guard let encoded = try? JSONValue(encoding: value) else { return .failure(.internalError("the answer could not be encoded")) }
        return .success(encoded)
    }
}
