import Foundation
import Hummingbird
import ITSMProtocol

/// Administration of roles and tokens: the same stores, checks and audit entries as
/// `PUT /api/v1/roles/:name` and `POST /api/v1/tokens` (docs/identity.md).
extension HTTPAPI {
    func addAdminRoutes(to routes: Router<APIRequestContext>) {
        routes.get("console/admin/roles") { request, _ in
            await console(request) { page in
                guard page.principal.allows("users.read") else { return Self.forbidden(page, "users.read") }
                var context = page.common
                context["title"] = ConsoleStrings.english["roleList"]!
                context["canWrite"] = page.principal.allows("users.write")
                context["roles"] = try await accounts.roles().map { role in
                    ["name": role.name, "description": role.description, "permissions": role.permissions.joined(separator: " "),
                     "removable": !role.builtin]
                }
                Self.addMessages(of: request, to: &context)
                return Self.page("roles", context)
            }
        }
        routes.post("console/admin/roles") { request, _ in
            await console(request, form: true) { page in
                let role = AccountStore.Role(name: page.form["name"] ?? "", description: page.form["description"] ?? "",
                                             permissions: Self.words(page.form["permissions"]), builtin: false)
                return await consoleAdminChange(page, action: "role.put", target: role.name,
                                                details: ["permissions": .array(role.permissions.map(JSONValue.string))],
                                                back: "/console/admin/roles") { () throws(AccountError) in
                    _ = try await accounts.putRole(role, grantor: page.principal)
                }
            }
        }
        routes.post("console/admin/roles/:name/delete") { request, context in
            let name = context.parameters.get("name") ?? ""
            return await console(request, form: true) { page in
                await consoleAdminChange(page, action: "role.delete", target: name, details: [:], back: "/console/admin/roles") {
                    () throws(AccountError) in try await accounts.deleteRole(name, grantor: page.principal)
                }
            }
        }

        // A password reset by an administrator, for a person who forgot theirs: audited without it.
        routes.post("console/admin/users/password") { request, _ in
            await console(request, form: true) { page in
                let name = (page.form["name"] ?? "").trimmingCharacters(in: .whitespaces)
                var changes = AccountStore.Changes()
                changes.password = page.form["password"] ?? ""
                return await consoleAdminChange(page, action: "account.update", target: name, details: ["password": "(changed)"]) {
                    () throws(AccountError) in _ = try await accounts.update(name: name, changes, grantor: page.principal)
                }
            }
        }

        routes.get("console/admin/tokens") { request, _ in
            await console(request) { page in try await tokensPage(page, request, issued: nil) }
        }
        routes.post("console/admin/tokens") { request, _ in
            await console(request, form: true) { page in
                guard page.principal.allows("tokens.write") else { return Self.forbidden(page, "tokens.write") }
                let name = (page.form["name"] ?? "").trimmingCharacters(in: .whitespaces)
                switch try await issueToken(name: name, permissions: Self.words(page.form["permissions"]), by: page.principal) {
                case .success(let issued):
                    // Shown in this answer only, never in a redirect's address: it would stay in the history.
                    return try await tokensPage(page, request, issued: (name, issued["token"]?.stringValue ?? ""))
                case .failure(let error):
                    return Self.redirect("/console/admin/tokens", error: error.message)
                }
            }
        }
        routes.post("console/admin/tokens/:name/revoke") { request, context in
            let name = context.parameters.get("name") ?? ""
            return await console(request, form: true) { page in
                guard page.principal.allows("tokens.write") else { return Self.forbidden(page, "tokens.write") }
                switch try await revokeToken(name: name, by: page.principal) {
                case .success: return Self.redirect("/console/admin/tokens", notice: "\(name): \(ConsoleStrings.english["done"]!)")
                case .failure(let error): return Self.redirect("/console/admin/tokens", error: error.message)
                }
            }
        }
    }

    /// The tokens, without their secrets, and the form to issue one; `issued` is a secret just
    /// made, shown once.
    private func tokensPage(_ page: ConsolePage, _ request: Request, issued: (name: String, secret: String)?) async throws -> Response {
        guard page.principal.allows("tokens.read") else { return Self.forbidden(page, "tokens.read") }
        var context = page.common
        context["title"] = ConsoleStrings.english["tokens"]!
        context["canWrite"] = page.principal.allows("tokens.write")
        // Revoked tokens stay listed apart, with when: who could act when is an auditor's question.
        let all = try await tokens.list()
        let row = { (token: TokenStore.TokenInfo) -> [String: Any] in
            var row: [String: Any] = ["name": token.name, "permissions": token.permissions.joined(separator: " "),
                                      "created": Self.shortDate(token.createdAt.formatted(.iso8601)),
                                      "lastUsed": token.lastUsedAt.map { Self.shortDate($0.formatted(.iso8601)) } ?? "—"]
            if let owner = token.owner { row["owner"] = owner }
            if let revoked = token.revokedAt { row["revoked"] = Self.shortDate(revoked.formatted(.iso8601)) }
            return row
        }
        context["tokens"] = all.filter { $0.revokedAt == nil }.map { row($0) }
        let revoked = all.filter { $0.revokedAt != nil }.sorted { $0.revokedAt! > $1.revokedAt! }.map { row($0) }
        context["revokedTokens"] = revoked
        context["anyRevoked"] = !revoked.isEmpty
        if let issued { context["issued"] = ["name": issued.name, "secret": issued.secret] }
        Self.addMessages(of: request, to: &context)
        return Self.page("tokens", context)
    }

    /// Permissions typed into a field, separated by spaces or commas.
    static func words(_ text: String?) -> [String] {
        (text ?? "").split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
    }
}
