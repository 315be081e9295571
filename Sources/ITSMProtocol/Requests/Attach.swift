/// `$/attach` params: the first line a remote plugin sends after connecting over TCP.
public struct AttachParams: Sendable, Hashable, Codable {
    /// A token holding `attach.<plugin>` (or `attach.*`); checked against its hash, never logged.
    public var token: String
    /// The plugin this connection serves, as named in the coordinator's `itsm.yaml`.
    public var plugin: String
    /// Tells instances apart in listings and logs, e.g. `host-b/incident-1`.
    public var instance: String

    public init(token: String, plugin: String, instance: String) {
        self.token = token
        self.plugin = plugin
        self.instance = instance
    }
}

/// `$/attach` result.
public struct AttachResult: Sendable, Hashable, Codable {
    /// The coordinator pings at this interval; the dialing side treats three silent intervals
    /// as a dead link and reconnects.
    public var heartbeatMs: Int
    /// Requests longer than this are refused, either way.
    public var maxLineBytes: Int

    public init(heartbeatMs: Int, maxLineBytes: Int) {
        self.heartbeatMs = heartbeatMs
        self.maxLineBytes = maxLineBytes
    }
}
