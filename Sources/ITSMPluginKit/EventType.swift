import Foundation
import ITSMProtocol

/// An event type with the Swift type of its payload. The publishing plugin declares it
/// (`Plugin.publishes(_:)`, which puts the payload's JSON Schema in the manifest) and publishes
/// with it (`PluginTransaction.publish(_:subject:data:)`), so what is sent is what is declared:
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
}

extension PluginTransaction {
    /// Writes an event of a declared type to `itsm.outbox` (see `publish(_:subject:data:)`).
    @discardableResult
    public func publish<Payload>(_ event: EventType<Payload>, subject: String? = nil, data: Payload) async throws -> UUID {
        try await publish(event.name, subject: subject, data: data)
    }
}
