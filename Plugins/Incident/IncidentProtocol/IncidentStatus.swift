import Foundation

/// Where a record is in its life.
public enum IncidentStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case new
    case assigned
    case inProgress = "in_progress"
    case onHold = "on_hold"
    case resolved
    case closed
    case cancelled

    /// Still needs work: counts against service levels and in "open" lists.
    public var isOpen: Bool { ![.resolved, .closed, .cancelled].contains(self) }
}

/// Why a record waits. Waiting for the caller or a supplier pauses the SLA clock.
public enum HoldReason: String, Sendable, Hashable, Codable, CaseIterable {
    case awaitingCaller = "awaiting_caller"
    case awaitingSupplier = "awaiting_supplier"
    case awaitingChange = "awaiting_change"

    /// Whether time in this hold is excluded from the resolution target.
    public var pausesClock: Bool { self != .awaitingChange }
}
