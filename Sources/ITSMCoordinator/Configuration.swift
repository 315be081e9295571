import Foundation
import ITSMProtocol
import Yams

/// `itsm.yaml`: which processes run, where the data and the database are, where HTTP listens.
///
/// ```yaml
/// dataDir: .itsm
/// http: 127.0.0.1:8080
/// database:
///   url: postgresql://itsm@db.example.com/itsm   # omit for the embedded cluster
/// remotePlugins:
///   listen: 0.0.0.0:7411                         # plugins on other hosts dial in here
///   tls:                                         # itsm tls init makes these
///     certificate: /etc/itsm/tls/coordinator.pem
///     key: /etc/itsm/tls/coordinator.key
///     clientCA: /etc/itsm/tls/ca.pem             # optional: plugin hosts must present a certificate (mutual TLS)
///   attachTimeoutSeconds: 10                     # a connection that has not attached by then is closed
/// directory:                                     # people sign in with their directory password
///   url: ldaps://ldap.example.com
///   bindDN: cn=itsm,ou=services,dc=example,dc=com
///   bindPasswordFile: /etc/itsm/ldap.password
///   userBase: ou=people,dc=example,dc=com
///   groupBase: ou=groups,dc=example,dc=com
///   groupRoles: {service-desk: [agent], itsm-admins: [administrator]}
/// plugins:
///   - incident                                   # a built-in process
///   - name: problem
///     remote: true                               # run by `itsm agent` on other hosts
///   - name: change                               # any executable that speaks the protocol
///     command: [python3, Examples/change/plugin.py]
///     config: {approvers: [cab]}
/// ```
public struct Configuration: Sendable, Hashable {
    public var dataDirectory: String = ".itsm"
    public var http = HTTPAddress(host: "127.0.0.1", port: 8080)
    /// `nil` runs the embedded cluster.
    public var databaseURL: String?
    /// Where remote plugin instances dial in (`remotePlugins.listen`); nil: no listener.
    public var remotePluginAddress: HTTPAddress?
    /// `remotePlugins.tokenFile`: a token (shared with the plugin hosts, e.g. one Kubernetes
    /// Secret) that this coordinator records as `remote-plugins` with `attach.*` at start.
    public var remotePluginTokenFile: String?
    /// `remotePlugins.tls` or `remotePlugins.plaintext: true`: required with `listen`.
    public var remotePluginSecurity: PluginLinkSecurity = .plaintext
    /// `remotePlugins.attachTimeoutSeconds`: how long a connection may take to send `$/attach`
    /// (the TLS handshake included) before it is closed.
    public var remotePluginAttachTimeout: Duration = .seconds(10)
    /// Every listed process, enabled or not; `enabled: false` keeps an entry's settings for later.
    public var plugins: [PluginSpec] = [PluginSpec(name: "incident")]
    public var heartbeat: Duration = .seconds(5)
    public var requestTimeout: Duration = .seconds(30)
    /// How long a plugin that crashed too often waits before it is tried again (`failedCooldownSeconds`).
    public var failedCooldown: Duration = .seconds(300)
    public var maxLineBytes = 1 << 20
    /// Timeouts, connection cap and body size of the HTTP API (`httpLimits`).
    public var httpLimits = HTTPLimits()
    /// Reverse proxies whose `X-Forwarded-For` names the client (`trustedProxies`).
    public var trustedProxies = TrustedProxies()
    /// How long delivered events are kept (`eventRetentionDays`).
    public var eventRetention: Duration = .seconds(30 * 24 * 3600)
    /// Where people with directory accounts sign in (`directory`); nil: local accounts only.
    public var directory: DirectorySettings?
    /// How long a signed-in person's session lasts without a request, and at most (`sessions`).
    public var sessionIdleTimeout: Duration = .seconds(30 * 60)
    public var sessionAbsoluteTimeout: Duration = .seconds(12 * 3600)

    public init() {}

    /// The processes to run.
    public var enabledPlugins: [PluginSpec] { plugins.filter(\.enabled) }

    /// Processes this installation knows of but does not run: the built-ins not listed, and the
    /// entries marked `enabled: false`. A call to one of them gets an error saying how to enable it.
    public var disabledPlugins: [String] {
        let enabled = Set(enabledPlugins.map(\.name))
        return Set(plugins.map(\.name)).union(PluginSpec.builtInNames).subtracting(enabled).sorted()
    }

    public struct HTTPAddress: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// Parses `host:port`.
        public init(parsing text: String) throws {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                  (0...65535).contains(port) else {
                throw CoordinatorError("'\(text)' is not an address of the form HOST:PORT")
            }
            self.init(host: String(text[..<colon]), port: port)
        }

        public var description: String { "\(host):\(port)" }
    }

    /// Reads a configuration file; unknown keys are errors, so a typo is not silently ignored.
    public static func load(path: String) throws -> Configuration {
        try loadFile(path, parse: parse(yaml:))
    }

    public static func parse(yaml: String) throws -> Configuration {
        var configuration = Configuration()
        guard let root = try mapping(yaml: yaml, known: [
            "dataDir", "http", "database", "plugins", "heartbeatMs", "requestTimeoutMs", "maxLineBytes",
            "eventRetentionDays", "remotePlugins", "httpLimits", "failedCooldownSeconds", "directory", "sessions", "trustedProxies",
        ]) else { return configuration }
        if let proxies = root["trustedProxies"] {
            guard let list = proxies as? [Any], let entries = list.map({ $0 as? String }) as? [String] else {
                throw CoordinatorError("trustedProxies: a list of addresses or CIDR ranges, such as [127.0.0.1, 10.0.0.0/8]")
            }
            configuration.trustedProxies = try TrustedProxies(entries)
        }
        if let directory = root["directory"] { configuration.directory = try DirectorySettings(yaml: directory) }
        if let sessions = root["sessions"] {
            guard let sessions = sessions as? [String: Any], Set(sessions.keys).isSubset(of: ["idleMinutes", "absoluteHours"]) else {
                throw CoordinatorError("sessions: a mapping of idleMinutes, absoluteHours")
            }
            if let idle = sessions["idleMinutes"] { configuration.sessionIdleTimeout = .seconds(try int(idle, "sessions.idleMinutes", min: 1) * 60) }
            if let absolute = sessions["absoluteHours"] {
                configuration.sessionAbsoluteTimeout = .seconds(try int(absolute, "sessions.absoluteHours", min: 1) * 3600)
            }
        }
        if let dataDir = root["dataDir"] { configuration.dataDirectory = try string(dataDir, "dataDir") }
        if let http = root["http"] { configuration.http = try HTTPAddress(parsing: try string(http, "http")) }
        if let database = root["database"] {
            guard let database = database as? [String: Any] else { throw CoordinatorError("database: must be a mapping with url") }
            if let url = database["url"] { configuration.databaseURL = try string(url, "database.url") }
        }
        if let remote = root["remotePlugins"] {
            guard let remote = remote as? [String: Any], let listen = remote["listen"],
                  Set(remote.keys).isSubset(of: ["listen", "tokenFile", "tls", "plaintext", "attachTimeoutSeconds"]) else {
                throw CoordinatorError("remotePlugins: must be a mapping with listen: HOST:PORT, tls (or plaintext: true) and optionally tokenFile, attachTimeoutSeconds")
            }
            configuration.remotePluginAddress = try HTTPAddress(parsing: try string(listen, "remotePlugins.listen"))
            if let file = remote["tokenFile"] { configuration.remotePluginTokenFile = try string(file, "remotePlugins.tokenFile") }
            if let timeout = remote["attachTimeoutSeconds"] {
                configuration.remotePluginAttachTimeout = .seconds(try int(timeout, "remotePlugins.attachTimeoutSeconds", min: 1))
            }
            configuration.remotePluginSecurity = try PluginLinkSecurity.parse(
                tls: remote["tls"], plaintext: remote["plaintext"], section: "remotePlugins.", role: .server)
        }
        if let heartbeat = root["heartbeatMs"] { configuration.heartbeat = .milliseconds(try int(heartbeat, "heartbeatMs", min: 100)) }
        if let timeout = root["requestTimeoutMs"] { configuration.requestTimeout = .milliseconds(try int(timeout, "requestTimeoutMs", min: 100)) }
        if let cooldown = root["failedCooldownSeconds"] {
            configuration.failedCooldown = .seconds(try int(cooldown, "failedCooldownSeconds", min: 1))
        }
        if let days = root["eventRetentionDays"] {
            configuration.eventRetention = .seconds(try int(days, "eventRetentionDays", min: 1) * 24 * 3600)
        }
        if let maxLine = root["maxLineBytes"] { configuration.maxLineBytes = try int(maxLine, "maxLineBytes", min: 1024) }
        if let limits = root["httpLimits"] {
            let keys = ["headTimeoutSeconds", "bodyTimeoutSeconds", "idleTimeoutSeconds", "maxConnections", "maxBodyBytes"]
            guard let limits = limits as? [String: Any], Set(limits.keys).isSubset(of: keys) else {
                throw CoordinatorError("httpLimits: a mapping of \(keys.joined(separator: ", "))")
            }
            if let value = limits["headTimeoutSeconds"] { configuration.httpLimits.headTimeout = .seconds(try int(value, "httpLimits.headTimeoutSeconds", min: 1)) }
            if let value = limits["bodyTimeoutSeconds"] { configuration.httpLimits.bodyTimeout = .seconds(try int(value, "httpLimits.bodyTimeoutSeconds", min: 1)) }
            if let value = limits["idleTimeoutSeconds"] { configuration.httpLimits.idleTimeout = .seconds(try int(value, "httpLimits.idleTimeoutSeconds", min: 1)) }
            if let value = limits["maxConnections"] { configuration.httpLimits.maximumConnections = try int(value, "httpLimits.maxConnections", min: 1) }
            if let value = limits["maxBodyBytes"] { configuration.httpLimits.maximumBodyBytes = try int(value, "httpLimits.maxBodyBytes", min: 1024) }
        }
        if let plugins = root["plugins"] {
            guard let list = plugins as? [Any] else { throw CoordinatorError("plugins: must be a list") }
            configuration.plugins = try list.enumerated().map { try PluginSpec(yaml: $1, index: $0) }
            var seen = Set<String>()
            for plugin in configuration.plugins where !seen.insert(plugin.name).inserted {
                throw CoordinatorError("plugins: '\(plugin.name)' is listed twice")
            }
        }
        return configuration
    }

    /// Reads `path` and parses it, naming the file in any error.
    static func loadFile<Result>(_ path: String, parse: (String) throws -> Result) throws -> Result {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CoordinatorError("cannot read \(path): \(error.localizedDescription)")
        }
        do {
            return try parse(text)
        } catch let error as CoordinatorError {
            throw CoordinatorError("\(path): \(error.description)")
        }
    }

    /// The document's top-level mapping (nil for an empty document), refusing keys not in `known`.
    static func mapping(yaml: String, known: Set<String>) throws -> [String: Any]? {
        let loaded: Any?
        do {
            loaded = try Yams.load(yaml: yaml)
        } catch {
            throw CoordinatorError("not valid YAML: \(error)")
        }
        guard let loaded else { return nil }
        guard let root = loaded as? [String: Any] else { throw CoordinatorError("the top level must be a mapping") }
        if let unknown = root.keys.first(where: { !known.contains($0) }) {
            throw CoordinatorError("unknown key '\(unknown)'; known keys: \(known.sorted().joined(separator: ", "))")
        }
        return root
    }

    static func string(_ value: Any, _ key: String) throws -> String {
        if let text = value as? String { return text }
        if let number = value as? Int { return String(number) }
        throw CoordinatorError("\(key): must be a string")
    }

    static func bool(_ value: Any, _ key: String) throws -> Bool {
        guard let flag = value as? Bool else { throw CoordinatorError("\(key): must be true or false") }
        return flag
    }

    static func int(_ value: Any, _ key: String, min: Int) throws -> Int {
        guard let number = value as? Int, number >= min else { throw CoordinatorError("\(key): must be a whole number >= \(min)") }
        return number
    }
}

/// One enabled process: a built-in by name, or any executable with arguments.
public struct PluginSpec: Sendable, Hashable {
    public static let builtInNames: Set = ["incident", "problem", "capacity", "supplier", "improvement", "notification", "service"]

    public var name: String
    /// `nil` for a built-in: `itsm-<name>` next to the `itsm` executable, else on `PATH`.
    public var command: [String]?
    /// Passed to the plugin as `initialize.config`.
    public var config: JSONValue?
    public var environment: [String: String] = [:]
    /// `false` keeps the entry (command, config) without running it.
    public var enabled = true
    /// How many instances this coordinator starts itself; they share the load.
    public var instances = 1
    /// `true`: this coordinator starts none; instances on other hosts dial in (`itsm agent`).
    public var remote = false
    /// `false`: the coordinator is ready (`/readyz`) without it, so an optional process that is
    /// down does not take every coordinator out of its load balancer.
    public var required = true
    /// Permissions the plugin holds itself (`grants`), for work it starts on its own (events,
    /// scheduled jobs, `callAsPlugin`); calls made for a caller use the caller's. A built-in
    /// gets what its own reactions need unless `grants` says otherwise; others get nothing.
    public var grants: [String]?

    /// What the built-in processes do on their own through other processes.
    static let builtInGrants: [String: [String]] = [
        "capacity": ["incident.write"],   // a breach opens or raises an incident
        "supplier": ["incident.read"],    // is there incident data at all
        // Alerts and mail open and resolve incidents; people are told at their address.
        "notification": ["incident.read", "incident.write", "people.read"],
        "service": ["incident.read"],     // a service report reads a customer's incident figures
    ]

    /// The permissions the plugin acts with on its own.
    public var effectiveGrants: [String] { grants ?? Self.builtInGrants[name] ?? [] }

    /// The local processes to start: none for a remote plugin.
    public var localInstances: Int { remote ? 0 : instances }

    public init(name: String, command: [String]? = nil, config: JSONValue? = nil, enabled: Bool = true) {
        self.name = name
        self.command = command
        self.config = config
        self.enabled = enabled
    }

    init(yaml: Any, index: Int) throws {
        let place = "plugins[\(index)]"
        if let name = yaml as? String {
            self.init(name: name)
        } else if let mapping = yaml as? [String: Any] {
            let known: Set = ["name", "command", "config", "env", "enabled", "instances", "remote", "grants", "required"]
            if let unknown = mapping.keys.first(where: { !known.contains($0) }) {
                throw CoordinatorError("\(place): unknown key '\(unknown)'; known keys: \(known.sorted().joined(separator: ", "))")
            }
            guard let name = mapping["name"] as? String else { throw CoordinatorError("\(place): needs a name") }
            self.init(name: name)
            if let command = mapping["command"] {
                if let text = command as? String {
                    self.command = text.split(separator: " ").map(String.init)
                } else if let list = command as? [Any] {
                    self.command = try list.map { try Configuration.string($0, "\(place).command") }
                } else {
                    throw CoordinatorError("\(place).command: must be a list of strings")
                }
                if self.command?.isEmpty == true { throw CoordinatorError("\(place).command: must not be empty") }
            }
            if let config = mapping["config"] { self.config = try JSONValue(yaml: config) }
            if let enabled = mapping["enabled"] {
                guard let flag = enabled as? Bool else { throw CoordinatorError("\(place).enabled: must be true or false") }
                self.enabled = flag
            }
            if let instances = mapping["instances"] { self.instances = try Configuration.int(instances, "\(place).instances", min: 1) }
            if let remote = mapping["remote"] {
                guard let flag = remote as? Bool else { throw CoordinatorError("\(place).remote: must be true or false") }
                self.remote = flag
            }
            if let required = mapping["required"] {
                guard let flag = required as? Bool else { throw CoordinatorError("\(place).required: must be true or false") }
                self.required = flag
            }
            if let grants = mapping["grants"] {
                guard let list = grants as? [Any] else { throw CoordinatorError("\(place).grants: must be a list of permissions") }
                self.grants = try list.map { try Configuration.string($0, "\(place).grants") }
            }
            if let env = mapping["env"] {
                guard let env = env as? [String: Any] else { throw CoordinatorError("\(place).env: must be a mapping") }
                environment = try env.mapValues { try Configuration.string($0, "\(place).env") }
            }
        } else {
            throw CoordinatorError("\(place): must be a name or a mapping")
        }
        guard InitializeResult(plugin: PeerInfo(name: name, version: ""), methods: []).validationProblems().isEmpty else {
            throw CoordinatorError("\(place): name '\(name)' must be lowercase letters, digits, '-' or '_'")
        }
        if command == nil && !remote && !Self.builtInNames.contains(name) {
            throw CoordinatorError("\(place): '\(name)' is not a built-in process (\(Self.builtInNames.sorted().joined(separator: ", "))); give a command")
        }
    }

    /// The program and arguments to start, looking built-ins up next to `itsm` itself.
    public func resolvedCommand(builtInDirectory: String?) -> [String] {
        if let command { return command }
        let executable = "itsm-\(name)"
        if let directory = builtInDirectory, FileManager.default.isExecutableFile(atPath: directory + "/" + executable) {
            return [directory + "/" + executable]
        }
        return [executable]
    }
}

extension JSONValue {
    /// Converts what Yams loads (dictionaries, arrays, scalars) into JSON.
    init(yaml value: Any) throws {
        switch value {
        case let text as String: self = .string(text)
        case let flag as Bool: self = .bool(flag)
        case let number as Int: self = .int(Int64(number))
        case let number as Double: self = .double(number)
        case let list as [Any]: self = .array(try list.map(JSONValue.init(yaml:)))
        case let mapping as [String: Any]: self = .object(try mapping.mapValues(JSONValue.init(yaml:)))
        case is NSNull: self = .null
        default: throw CoordinatorError("config: unsupported YAML value \(value)")
        }
    }
}

extension DirectorySettings {
    /// The `directory:` section; unknown keys are errors.
    init(yaml: Any) throws {
        let keys = ["url", "startTLS", "caFile", "bindDN", "bindPasswordFile", "userBase", "userFilter", "groupBase", "groupFilter",
                    "displayNameAttribute", "emailAttribute", "groupRoles", "defaultRoles", "timeoutSeconds"]
        guard let map = yaml as? [String: Any] else { throw CoordinatorError("directory: must be a mapping of \(keys.joined(separator: ", "))") }
        if let unknown = map.keys.sorted().first(where: { !keys.contains($0) }) {
            throw CoordinatorError("directory: unknown key '\(unknown)'; known keys: \(keys.joined(separator: ", "))")
        }
        func text(_ key: String) throws -> String? { try map[key].map { try Configuration.string($0, "directory.\(key)") } }
        func names(_ value: Any, _ key: String) throws -> [String] {
            guard let list = value as? [Any], let names = list.map({ $0 as? String }) as? [String] else {
                throw CoordinatorError("\(key): must be a list of role names")
            }
            return names
        }
        guard let url = try text("url"), url.hasPrefix("ldap://") || url.hasPrefix("ldaps://") else {
            throw CoordinatorError("directory.url: required, ldap://HOST[:PORT] or ldaps://HOST[:PORT]")
        }
        guard let userBase = try text("userBase") else { throw CoordinatorError("directory.userBase: required, e.g. ou=people,dc=example,dc=com") }
        self.init(url: url, userBase: userBase)
        if let value = map["startTLS"] { startTLS = try Configuration.bool(value, "directory.startTLS") }
        caFile = try text("caFile")
        bindDN = try text("bindDN")
        if let file = try text("bindPasswordFile") {
            do {
                bindPassword = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .newlines)
            } catch {
                throw CoordinatorError("directory.bindPasswordFile: cannot read \(file): \(error.localizedDescription)")
            }
        }
        if bindDN != nil && bindPassword == nil { throw CoordinatorError("directory.bindPasswordFile: required with bindDN") }
        if let filter = try text("userFilter") {
            guard filter.contains("{name}") else { throw CoordinatorError("directory.userFilter: must contain {name}, e.g. (uid={name})") }
            userFilter = filter
        }
        groupBase = try text("groupBase")
        if let filter = try text("groupFilter") {
            guard filter.contains("{dn}") else { throw CoordinatorError("directory.groupFilter: must contain {dn}, e.g. (member={dn})") }
            groupFilter = filter
        }
        if let attribute = try text("displayNameAttribute") { displayNameAttribute = attribute }
        if let attribute = try text("emailAttribute") { emailAttribute = attribute }
        if let roles = map["groupRoles"] {
            guard let mapping = roles as? [String: Any] else { throw CoordinatorError("directory.groupRoles: a mapping of group (cn or DN) to a list of roles") }
            groupRoles = try mapping.mapValues { try names($0, "directory.groupRoles") }
        }
        if let roles = map["defaultRoles"] { defaultRoles = try names(roles, "directory.defaultRoles") }
        if let seconds = map["timeoutSeconds"] { timeout = .seconds(try Configuration.int(seconds, "directory.timeoutSeconds", min: 1)) }
    }
}
