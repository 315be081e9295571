import ITSMProtocol

/// What `itsm plugins` and `GET /api/v1/plugins` show for one instance of a plugin.
public struct PluginStatus: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        /// Spawned; handshake not finished.
        case starting
        case running
        /// Running a version that is not the process's active one: no requests, no events,
        /// until `itsm plugins upgrade` switches to it.
        case standby
        /// Exited; waiting before the next start.
        case restarting
        /// Crashed too often; started again after a cool-down, a reload or `itsm plugins restart`.
        case failed
        case stopped
        /// Known (a built-in, or listed with `enabled: false`) but not run.
        case disabled
        /// Enabled for remote instances only, and none is connected now.
        case waiting
        /// A remote instance whose link ended, with why; shown until it connects again.
        case disconnected
    }

    public var name: String
    /// Tells instances of one plugin apart: `local-1`, or what a remote instance called itself.
    public var instance: String?
    /// For a remote instance, the address it connected from.
    public var remoteAddress: String?
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

    static func waiting(_ name: String) -> PluginStatus {
        PluginStatus(name: name, state: .waiting, pid: nil, restarts: 0, version: nil, methods: [], subscribes: [],
                     lastError: "no instance connected; start 'itsm agent' on a plugin host")
    }
}
