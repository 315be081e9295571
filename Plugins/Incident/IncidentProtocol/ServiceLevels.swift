import Foundation
import ITSMCalendar
import ITSMProtocol

/// A service level: response and resolution targets for one priority of one service (or of
/// every service without its own), measured in business time on a calendar.
public struct ServiceLevelDefinition: Sendable, Hashable, Codable {
    /// `nil`: applies to every service that has no definition of its own for this priority.
    public var service: String?
    public var priority: Priority
    public var responseMinutes: Int
    public var resolutionMinutes: Int
    /// A warning is raised when this share of the target has passed (default 75).
    public var warningPercent: Int?
    public var calendar: CalendarDefinition

    public init(service: String? = nil, priority: Priority, responseMinutes: Int, resolutionMinutes: Int,
                warningPercent: Int? = nil, calendar: CalendarDefinition) {
        self.service = service
        self.priority = priority
        self.responseMinutes = responseMinutes
        self.resolutionMinutes = resolutionMinutes
        self.warningPercent = warningPercent
        self.calendar = calendar
    }

    public func validate() throws {
        guard responseMinutes > 0, resolutionMinutes > 0 else {
            throw ResponseError.invalidParams("responseMinutes and resolutionMinutes must be positive")
        }
        guard (1...99).contains(warningPercent ?? 75) else { throw ResponseError.invalidParams("warningPercent: 1 to 99") }
        _ = try calendar.make()
    }
}

/// Which clock: time to first response, or time to resolution.
public enum ClockKind: String, Sendable, Hashable, Codable, CaseIterable {
    case response
    case resolution
}

/// Where a clock stands.
public enum ClockState: String, Sendable, Hashable, Codable, CaseIterable {
    case within
    case warning
    case breached
    /// Stopped in time (responded or resolved before the target).
    case met
    /// On hold for the caller or a supplier: not counting.
    case paused
}

/// A record's clock as callers see it.
public struct ServiceLevelClock: Sendable, Hashable, Codable {
    public var kind: ClockKind
    public var targetMinutes: Int
    public var startedAt: Date
    public var stoppedAt: Date?
    public var warningAt: Date?
    public var dueAt: Date?
    /// Business minutes counted so far (or until it stopped), holds excluded.
    public var elapsedMinutes: Double
    public var state: ClockState

    public init(kind: ClockKind, targetMinutes: Int, startedAt: Date, stoppedAt: Date? = nil, warningAt: Date? = nil,
                dueAt: Date? = nil, elapsedMinutes: Double, state: ClockState) {
        self.kind = kind
        self.targetMinutes = targetMinutes
        self.startedAt = startedAt
        self.stoppedAt = stoppedAt
        self.warningAt = warningAt
        self.dueAt = dueAt
        self.elapsedMinutes = elapsedMinutes
        self.state = state
    }
}
