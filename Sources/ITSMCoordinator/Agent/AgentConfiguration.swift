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
        let root = try Configuration.mapping(yaml: yaml, known: ["coordinators", "tokenFile", "database", "name", "plugins", "maxLineBytes", "tls", "plaintext"]) ?? [:]
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
