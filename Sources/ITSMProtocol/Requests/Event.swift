/// `$/event` params: one event from the outbox, delivered at least once. Subscribers dedupe
/// on `id`.
public struct EventParams: Sendable, Hashable, Codable {
    /// Unique per event; the same on every redelivery.
    public var id: String
    /// The outbox position: increases with commit order within one publisher, mostly.
    public var sequence: Int64
    /// e.g. `incident.created`.
    public var type: String
    /// The plugin that published it.
    public var source: String
    /// The record it is about, e.g. an incident id.
    public var subject: String?
    /// ISO 8601.
    public var occurredAt: String
    public var data: JSONValue
    /// The id of the request that led to it (through any number of events), when there was one.
    public var requestId: String?

    public init(id: String, sequence: Int64, type: String, source: String, subject: String?, occurredAt: String, data: JSONValue,
                requestId: String? = nil) {
        self.requestId = requestId
        self.id = id
        self.sequence = sequence
        self.type = type
        self.source = source
        self.subject = subject
        self.occurredAt = occurredAt
        self.data = data
    }
}
