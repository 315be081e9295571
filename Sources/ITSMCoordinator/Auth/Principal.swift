import ITSMProtocol

/// Who a request is for and what they may do: a person (signed in, or through a token of
/// theirs), a service account (a token with no owner), or a plugin acting on its own.
public struct Principal: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, Codable {
        /// A person with an account.
        case user
        /// A token without an owner: an integration, a host, the installation's admin token.
        case service
        /// A plugin acting on its own (events, jobs), with the grants itsm.yaml gives it.
        case plugin
    }

    /// The account's name, the service token's name, or `plugin:<name>`.
    public var name: String
    public var kind: Kind
    /// Permission patterns: `*` (everything), `incident.*` (a process), `*.read` (an action in
    /// every process), or exact, e.g. `incident.read`.
    public var permissions: [String]
    /// For a person's token: what the person holds now. The token never exceeds it, so a
    /// token loses what its owner loses.
    public var ceiling: [String]?
    /// The person's roles; empty for services and plugins.
    public var roles: [String]
    /// The token that authenticated the request, when one did.
    public var token: String?

    public init(name: String, kind: Kind = .service, permissions: [String], ceiling: [String]? = nil,
                roles: [String] = [], token: String? = nil) {
        self.name = name
        self.kind = kind
        self.permissions = permissions
        self.ceiling = ceiling
        self.roles = roles
        self.token = token
    }

    /// How records and the audit log name this principal: `user:alice`, `token:monitoring`.
    public var actor: String {
        switch kind {
        case .user: "user:\(name)"
        case .service: "token:\(name)"
        case .plugin: name
        }
    }

    /// How `issued_by` names this principal on the tokens it issues: a person as `user:alice`,
    /// a service token by its name (as before people had accounts).
    var issuer: String { kind == .user ? actor : name }

    /// Holds every permission (`*`): may manage any token.
    public var isAdministrator: Bool { holds(pattern: "*") }

    public func allows(_ permission: String) -> Bool {
        Self.matches(permission, permissions) && (ceiling.map { Self.matches(permission, $0) } ?? true)
    }

    /// Whether this principal may hand out `pattern` itself (to a token or a role): a pattern is
    /// covered only by the same pattern or a wider one, never by the exact permissions under it.
    public func holds(pattern: String) -> Bool {
        func covers(_ granted: [String]) -> Bool {
            if pattern == "*" { return granted.contains("*") }
            if pattern.hasSuffix(".*") || pattern.hasPrefix("*.") {
                return granted.contains { $0 == "*" || $0 == pattern }
            }
            return Self.matches(pattern, granted)
        }
        return covers(permissions) && (ceiling.map(covers) ?? true)
    }

    static func matches(_ permission: String, _ patterns: [String]) -> Bool {
        patterns.contains { pattern in
            pattern == "*" || pattern == permission
                || (pattern.hasSuffix(".*") && permission.hasPrefix(String(pattern.dropLast())))
                || (pattern.hasPrefix("*.") && permission.hasSuffix(String(pattern.dropFirst())))
        }
    }

    /// Why `permission` is not a well-formed pattern, or nil: `*`, `process.*`, `*.action`
    /// or `process.action`, in a-z, 0-9, `_` and `-`.
    public static func malformation(of permission: String) -> String? {
        let parts = permission.split(separator: ".", omittingEmptySubsequences: false)
        let wellFormed = permission == "*" || (parts.count >= 2 && parts.allSatisfy { part in
            part == "*" || (!part.isEmpty && part.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 || $0 == 45 })
        } && parts.filter { $0 == "*" }.count <= 1 && !parts.dropFirst().dropLast().contains("*"))
        return wellFormed ? nil : "permission '\(permission)' must be *, process.*, *.action, or process.action"
    }
}

extension Principal {
    /// The refusal when this principal lacks `permission`, worded alike by the API, the
    /// console and the evidence pack.
    public func lacking(_ permission: String) -> ResponseError {
        ResponseError(code: .permissionDenied, kind: "auth.permission_denied", message: "\(actor) lacks the permission '\(permission)'",
                      details: ["permission": .string(permission)])
    }
}
