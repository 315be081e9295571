extension Duration {
    /// Whole milliseconds, rounded down: for protocol fields and `poll` timeouts.
    public var inMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// Seconds with their fraction: for rates and SQL intervals.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
