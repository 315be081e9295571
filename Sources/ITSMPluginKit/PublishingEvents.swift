import Foundation
import ITSMProtocol

extension PluginTransaction {
    /// Writes an event of a declared type to `itsm.outbox` (see `publish(_:subject:data:)`).
    @discardableResult
    public func publish<Payload>(_ event: EventType<Payload>, subject: String? = nil, data: Payload) async throws -> UUID {
        try await publish(event.name, subject: subject, data: data)
    }
}
