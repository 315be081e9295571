import Foundation

/// What `itsm agent` runs on a plugin host: which plugins, which coordinators they dial, the
/// token they attach with, and the database they use.
///
/// ```yaml
/// coordinators: [coord-a.example.com:7411, coord-b.example.com:7411]   # or one name with both addresses
/// tokenFile: /etc/itsm/agent.token        # a token holding attach.<plugin> for each plugin below
/// database:
///   url: postgresql://itsm@db.example.com/itsm
/// name: plugin-host-b                     # default: the host name
/// coordinatorLookupSeconds: 30            # how often each coordinator name is looked up again
/// statusFile: /run/itsm/agent.json         # for a liveness probe: itsm agent --probe --status-file …
/// tls:
///   ca: /etc/itsm/tls/ca.pem                # the deployment's CA (itsm tls init)
///   certificate: /etc/itsm/tls/host-b.pem   # for mutual TLS, when the coordinators ask for it
///   key: /etc/itsm/tls/host-b.key
/// plugins:
///   - name: incident
///     instances: 2
///   - name: change
///     command: [python3, /opt/itsm/change/plugin.py]
/// ```
///
/// Each instance of each plugin connects to every coordinator listed, so any coordinator can
/// route to it.
public struct AgentConfiguration: Sendable, Hashable {
    public var coordinators: [Configuration.HTTPAddress] = []
    public var tokenFile: String = ""
    /// Given to the plugins as `ITSM_DATABASE_URL`; the coordinator never sends its own to a remote plugin.
    public var databaseURL: String?
    /// The first part of each instance's name, e.g. `plugin-host-b/incident-1`.
    public var name: String = ProcessInfo.processInfo.hostName
    public var plugins: [PluginSpec] = []
    public var maxLineBytes = 1 << 20
    /// `tls: {ca, certificate, key}` or `plaintext: true`; nil until set (then `validate` says so).
    public var security: PluginLinkSecurity?
    /// How often each coordinator's name is looked up again, so coordinators added or removed
    /// behind one name (a headless Service) are followed.
    public var coordinatorLookup: Duration = .seconds(30)
    /// Where the agent keeps its status for a liveness probe (`AgentStatus`); none when nil.
    public var statusFile: String?

    public init() {}

    /// Reads a file that `itsm agent`'s options may complete (coordinators, token file):
    /// the caller validates the result.
    public static func load(path: String) throws -> AgentConfiguration {
        try Configuration.loadFile(path, parse: parseIncomplete(yaml:))
    }

    /// A whole configuration, checked.
    public static func parse(yaml: String) throws -> AgentConfiguration {
        let configuration = try parseIncomplete(yaml: yaml)
        try configuration.validate()
        return configuration
    }

    static func parseIncomplete(yaml: String) throws -> AgentConfiguration {
        let root = try Configuration.mapping(yaml: yaml, known: ["coordinators", "tokenFile", "database", "name", "plugins", "maxLineBytes", "tls", "plaintext",
                                                                   "coordinatorLookupSeconds", "statusFile"]) ?? [:]
        var configuration = AgentConfiguration()
        let coordinators: [Any] = (root["coordinators"] as? [Any]) ?? (root["coordinators"].map { [$0] } ?? [])
        configuration.coordinators = try coordinators.map { try Configuration.HTTPAddress(parsing: try Configuration.string($0, "coordinators")) }
        if let tokenFile = root["tokenFile"] { configuration.tokenFile = try Configuration.string(tokenFile, "tokenFile") }
        if let database = root["database"] {
            guard let database = database as? [String: Any], let url = database["url"] else {
                throw CoordinatorError("database: must be a mapping with url")
            }
            configuration.databaseURL = try Configuration.string(url, "database.url")
        }
        if let name = root["name"] { configuration.name = try Configuration.string(name, "name") }
        if let seconds = root["coordinatorLookupSeconds"] {
            configuration.coordinatorLookup = .seconds(try Configuration.int(seconds, "coordinatorLookupSeconds", min: 1))
        }
        if let statusFile = root["statusFile"] { configuration.statusFile = try Configuration.string(statusFile, "statusFile") }
        if let maxLine = root["maxLineBytes"] { configuration.maxLineBytes = try Configuration.int(maxLine, "maxLineBytes", min: 1024) }
        if root["tls"] != nil || root["plaintext"] != nil {
            configuration.security = try PluginLinkSecurity.parse(tls: root["tls"], plaintext: root["plaintext"], section: "", role: .client)
        }
        if let plugins = root["plugins"] {
            guard let list = plugins as? [Any] else { throw CoordinatorError("plugins: must be a list") }
            configuration.plugins = try list.enumerated().map { try PluginSpec(yaml: $1, index: $0) }
        }
        return configuration
    }

    /// Says what is missing before anything starts.
    public func validate() throws {
        guard !coordinators.isEmpty else { throw CoordinatorError("coordinators: name at least one HOST:PORT to dial") }
        guard !tokenFile.isEmpty else { throw CoordinatorError("tokenFile: the file holding the agent's token is required") }
        guard !plugins.isEmpty else { throw CoordinatorError("plugins: list at least one plugin to run") }
        guard security != nil else {
            throw CoordinatorError("tls: the link to the coordinators carries the attach token, so it needs TLS (tls.ca, or --tls-ca); "
                                   + "set plaintext: true (or --plaintext) only on a network you trust completely")
        }
    }
}
