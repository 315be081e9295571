/// The method names the protocol itself reserves. Process methods are `<process>.<verb>`;
/// names starting with `$/` belong to the protocol.
public enum ProtocolMethod {
    /// Coordinator -> plugin request: the handshake's first step.
    public static let initialize = "initialize"
    /// Coordinator -> plugin notification: the handshake is complete.
    public static let initialized = "initialized"
    /// Coordinator -> plugin request: stop taking work and finish what is in flight.
    public static let shutdown = "shutdown"
    /// Coordinator -> plugin notification: exit now.
    public static let exit = "exit"
    /// Either direction, request: a heartbeat; the answer is `{}`.
    public static let ping = "$/ping"
    /// Either direction, notification: stop working on request `{id}`.
    public static let cancelRequest = "$/cancelRequest"
    /// Coordinator -> plugin request: deliver one event to a subscriber; answer `{}` once handled.
    public static let event = "$/event"
    /// Coordinator -> plugin request, optional: the plugin's own figures (`MetricsResult`) for
    /// the coordinator's `/metrics`; a plugin without any answers -32601.
    public static let metrics = "$/metrics"
    /// Remote plugin -> coordinator request, the first line on a new TCP connection: who is
    /// dialing in and its token. The coordinator answers, then starts with `initialize`.
    public static let attach = "$/attach"
}

/// The protocol's version numbers. Independent of release numbers; bumped only for changes
/// an existing peer would misread.
public enum ProtocolVersion {
    public static let current = 1
    public static let supported: [Int] = [1]
}
