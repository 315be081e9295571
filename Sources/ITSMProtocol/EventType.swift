import Foundation

/// An event type with the Swift type of its payload. The publishing plugin declares it
/// (`Plugin.publishes(_:)` in the kit, which puts the payload's JSON Schema in the manifest) and
/// publishes with it (`PluginTransaction.publish(_:subject:data:)`), so what is sent is what is
/// declared; a subscriber decodes the payload with it (`decode(_:)`), from the publisher's
/// contract module (`IncidentProtocol`, ...), never from its implementation:
///
/// ```swift
/// enum FacilitiesEvents {
///     static let created = EventType<Request>("facilities.created")
/// }
/// plugin.publishes(FacilitiesEvents.created)
/// try await transaction.publish(FacilitiesEvents.created, subject: id, data: request)
/// ```
public struct EventType<Payload: Codable & Sendable>: Sendable, Hashable {
    public let name: String
    /// When it is published, for the event catalog.
    public let description: String?

    public init(_ name: String, _ description: String? = nil) {
        self.name = name
        self.description = description
    }

    /// The payload's schema, read from its `Decodable` side (nil when it may be anything),
    /// with the event's description.
    public var payloadSchema: JSONSchema? {
        guard var schema = SchemaInference.resultSchema(of: Payload.self) else { return nil }
        schema.description = description
        return schema
    }

    /// An event's payload (its `data`) as this type.
    public func decode(_ data: JSONValue) throws -> Payload {
        try data.decode(Payload.self)
    }
}
