/// One measurement of a resource's metric: `at` is an ISO 8601 time.
public struct Sample: Sendable, Hashable, Codable {
    public var resource: String
    public var metric: String
    public var at: String
    public var value: Double
    public init(resource: String, metric: String, at: String, value: Double) {
        self.resource = resource
        self.metric = metric
        self.at = at
        self.value = value
    }
}
