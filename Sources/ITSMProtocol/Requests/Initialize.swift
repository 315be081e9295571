/// `initialize` params: what the coordinator offers.
public struct InitializeParams: Sendable, Hashable, Codable {
    /// Versions the coordinator speaks; the plugin picks one.
    public var protocolVersions: [Int]
    public var coordinator: PeerInfo
    /// The plugin's section of `itsm.yaml` (`config:`), passed through as is.
    public var config: JSONValue?
    public var limits: Limits
    /// The coordinator pings at this interval; a plugin may ping back at the same rate.
    public var heartbeatMs: Int
    /// Where the shared database is. A plugin's own `ITSM_DATABASE_URL` takes precedence.
    public var database: DatabaseInfo?
    /// The instance name, when several instances of one plugin run.
    public var instance: String?

    public init(protocolVersions: [Int] = ProtocolVersion.supported, coordinator: PeerInfo, config: JSONValue? = nil,
                limits: Limits = .init(), heartbeatMs: Int = 5000, database: DatabaseInfo? = nil, instance: String? = nil) {
        self.protocolVersions = protocolVersions
        self.coordinator = coordinator
        self.config = config
        self.limits = limits
        self.heartbeatMs = heartbeatMs
        self.database = database
        self.instance = instance
    }

    public struct Limits: Sendable, Hashable, Codable {
        /// The longest line either side may send, in bytes, without its newline.
        public var maxLineBytes: Int
        /// How long the coordinator waits for an answer by default.
        public var requestTimeoutMs: Int
        /// How many of the plugin's requests the coordinator handles at once on this
        /// connection; more wait in the plugin or are refused with `peer.busy`. Absent: 64.
        public var maxConcurrentRequests: Int?

        public init(maxLineBytes: Int = 1 << 20, requestTimeoutMs: Int = 30_000, maxConcurrentRequests: Int? = nil) {
            self.maxLineBytes = maxLineBytes
            self.requestTimeoutMs = requestTimeoutMs
            self.maxConcurrentRequests = maxConcurrentRequests
        }
    }

    public struct DatabaseInfo: Sendable, Hashable, Codable {
        /// A libpq connection string or `postgresql://` URL.
        public var url: String
        public init(url: String) { self.url = url }
    }
}

/// A permission a plugin declares in its manifest.
public struct PermissionDescriptor: Sendable, Hashable, Codable {
    /// `<plugin>.<action>`, e.g. `incident.all.read`.
    public var name: String
    /// What it lets a person do, for whoever gives it.
    public var description: String
    /// Roles that get it the first time a coordinator sees it (`agent`, `auditor`, ...); an
    /// administrator may take it away again, and it is not given back.
    public var grantedTo: [String]?

    public init(name: String, description: String, grantedTo: [String]? = nil) {
        self.name = name
        self.description = description
        self.grantedTo = grantedTo
    }
}

/// A program's name and release.
public struct PeerInfo: Sendable, Hashable, Codable {
    public var name: String
    public var version: String
    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }
}

/// `initialize` result: the plugin's manifest.
public struct InitializeResult: Sendable, Hashable, Codable {
    /// The version chosen from `protocolVersions`.
    public var protocolVersion: Int
    public var plugin: PeerInfo
    public var methods: [MethodDescriptor]
    /// Event types the plugin wants delivered with `$/event`.
    public var subscribes: [String]
    /// Event types the plugin writes to the outbox.
    public var publishes: [String]
    /// The database schema the plugin owns, if any.
    public var schema: String?
    /// Other processes' methods the plugin calls through the coordinator: exact names or
    /// patterns (`incident.*`, `*.stats`). A call not declared here is refused.
    public var calls: [String]?
    /// What the plugin takes at once.
    public var limits: Limits?
    /// The JSON Schema of the `data` of each type in `publishes` (§5), by type; a type without
    /// one is not described.
    public var eventSchemas: [String: JSONSchema]?
    /// Permissions the plugin checks itself (beyond those its methods name), described for the
    /// people who give them, with the roles that get them by default (§3.4).
    public var permissions: [PermissionDescriptor]?

    public init(protocolVersion: Int = ProtocolVersion.current, plugin: PeerInfo, methods: [MethodDescriptor],
                subscribes: [String] = [], publishes: [String] = [], schema: String? = nil, calls: [String]? = nil,
                limits: Limits? = nil, eventSchemas: [String: JSONSchema]? = nil, permissions: [PermissionDescriptor]? = nil) {
        self.eventSchemas = eventSchemas
        self.permissions = permissions
        self.protocolVersion = protocolVersion
        self.plugin = plugin
        self.methods = methods
        self.subscribes = subscribes
        self.publishes = publishes
        self.schema = schema
        self.calls = calls
        self.limits = limits
    }

    public struct Limits: Sendable, Hashable, Codable {
        /// How many of the coordinator's requests the plugin handles at once on this
        /// connection; the coordinator sends no more than that. Absent: 64.
        public var maxConcurrentRequests: Int?

        public init(maxConcurrentRequests: Int? = nil) {
            self.maxConcurrentRequests = maxConcurrentRequests
        }
    }

    /// Every permission the plugin names: its methods' and those it declares.
    public var permissionNames: [String] {
        Array(Set(methods.map(\.permission) + (permissions ?? []).map(\.name))).sorted()
    }

    /// Problems that make the manifest unusable; empty when it is valid.
    public func validationProblems() -> [String] {
        var problems: [String] = []
        if !Self.isName(plugin.name) { problems.append("plugin.name '\(plugin.name)' must be lowercase letters, digits, '-' or '_'") }
        for permission in permissions ?? [] {
            let parts = permission.name.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count < 2 || parts.first.map(String.init) != plugin.name || !parts.allSatisfy({ Self.isName(String($0)) }) {
                problems.append("permission '\(permission.name)' must be '\(plugin.name).<action>' in lowercase letters, digits, '-' or '_'")
            }
            if let role = (permission.grantedTo ?? []).first(where: { !Self.isName($0) }) {
                problems.append("permission '\(permission.name)': grantedTo '\(role)' is not a role name")
            }
        }
        var seen = Set<String>()
        var routeKeys = Set<String>()
        for method in methods {
            if method.name.hasPrefix("$/") || ["initialize", "shutdown", "initialized", "exit"].contains(method.name) {
                problems.append("method '\(method.name)' is reserved by the protocol")
            } else if !Self.isMethodName(method.name) {
                problems.append("method '\(method.name)' must look like 'process.verb'")
            }
            if !seen.insert(method.name).inserted { problems.append("method '\(method.name)' is declared twice") }
            if method.permission.isEmpty { problems.append("method '\(method.name)' must name a permission") }
            for route in method.routes ?? [] {
                problems += route.problems(method: method.name)
                if !routeKeys.insert(route.key).inserted { problems.append("route \(route.verb) \(route.path) is declared twice") }
            }
        }
        for event in subscribes + publishes where !Self.isMethodName(event) {
            problems.append("event type '\(event)' must look like 'process.happening'")
        }
        if let limit = limits?.maxConcurrentRequests, limit < 1 {
            problems.append("limits.maxConcurrentRequests must be at least 1")
        }
        for type in (eventSchemas ?? [:]).keys.sorted() where !publishes.contains(type) {
            problems.append("eventSchemas: '\(type)' is not in publishes")
        }
        for pattern in calls ?? [] where !MethodPattern.isValid(pattern) {
            problems.append("calls: '\(pattern)' must be a method name or a pattern like 'incident.*' or '*.stats'")
        }
        return problems
    }

    static func isName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 45 || $0 == 95 }
    }

    static func isMethodName(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count >= 2 && parts.allSatisfy { isName(String($0)) }
    }
}

/// One method in a manifest.
public struct MethodDescriptor: Sendable, Hashable, Codable {
    public var name: String
    /// The permission an HTTP caller needs, e.g. `incident.read`.
    public var permission: String
    /// Safe to retry: calling twice has the effect of calling once.
    public var idempotent: Bool
    public var description: String?
    /// The JSON Schema of the params (§3.1): the coordinator refuses params that do not match
    /// before the plugin sees them. Absent: the plugin checks its params alone.
    public var params: JSONSchema?
    /// The JSON Schema of the result (§3.1): what callers can rely on; checked by
    /// `itsm plugin check`, and by debug builds of the coordinator on every answer.
    public var result: JSONSchema?
    /// REST routes that call the method (§3.1), besides `POST /api/v1/rpc/<name>`.
    public var routes: [HTTPRoute]?

    public init(name: String, permission: String, idempotent: Bool, description: String? = nil, params: JSONSchema? = nil,
                result: JSONSchema? = nil, routes: [HTTPRoute]? = nil) {
        self.name = name
        self.permission = permission
        self.idempotent = idempotent
        self.description = description
        self.params = params
        self.result = result
        self.routes = routes
    }
}

/// A method name or a pattern of one: each dot-separated segment is a name or `*` (any one
/// segment); a trailing `.*` covers everything in the process (`incident.*`).
public enum MethodPattern {
    public static func matches(_ pattern: String, _ method: String) -> Bool {
        if pattern == method { return true }
        if pattern.hasSuffix(".*"), !pattern.dropLast(2).contains("*") {
            return method.hasPrefix(pattern.dropLast(1))
        }
        let wanted = pattern.split(separator: ".", omittingEmptySubsequences: false)
        let parts = method.split(separator: ".", omittingEmptySubsequences: false)
        return wanted.count == parts.count && zip(wanted, parts).allSatisfy { $0 == "*" || $0 == $1 }
    }

    static func isValid(_ pattern: String) -> Bool {
        let parts = pattern.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count >= 2 && parts.allSatisfy { part in
            part == "*" || (!part.isEmpty && part.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 || $0 == 45 })
        }
    }
}
