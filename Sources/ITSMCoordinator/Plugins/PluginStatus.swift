import ITSMProtocol

/// What `itsm plugins` and `GET /api/v1/plugins` show for one plugin.
public struct PluginStatus: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        /// Spawned; handshake not finished.
        case starting
        case running
        /// Exited; waiting before the next start.
        case restarting
        /// Crashed too often; not restarted until the coordinator restarts.
        case failed
        case stopped
        /// Known (a built-in, or listed with `enabled: false`) but not run.
        case disabled
    }

    public var name: String
    public var state: State
    public var pid: Int32?
    public var restarts: Int
    public var version: String?
    public var methods: [String]
    public var subscribes: [String]
    /// Why it last stopped or failed, for the operator.
    public var lastError: String?
}

extension PluginStatus {
    static func disabled(_ name: String) -> PluginStatus {
        PluginStatus(name: name, state: .disabled, pid: nil, restarts: 0, version: nil, methods: [], subscribes: [], lastError: nil)
    }
}
