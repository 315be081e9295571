/// The answer to `$/metrics`: a plugin's own figures, which the coordinator serves at `/metrics`
/// with the labels `plugin` and `instance` added (docs/protocol.md, section 3.2).
public struct MetricsResult: Sendable, Hashable, Codable {
    public var metrics: [MetricFamily]

    public init(metrics: [MetricFamily]) {
        self.metrics = metrics
    }
}

/// One metric with its samples, as Prometheus names them.
public struct MetricFamily: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case counter, gauge
    }

    public struct Sample: Sendable, Hashable, Codable {
        public var labels: [String: String]
        public var value: Double

        public init(labels: [String: String] = [:], value: Double) {
            self.labels = labels
            self.value = value
        }
    }

    /// `itsm_plugin_…` or `<plugin>_…`; the coordinator drops others, so no plugin can pass
    /// its figures off as the coordinator's.
    public var name: String
    public var help: String
    public var type: Kind
    public var samples: [Sample]

    public init(name: String, help: String, type: Kind, samples: [Sample]) {
        self.name = name
        self.help = help
        self.type = type
        self.samples = samples
    }
}
