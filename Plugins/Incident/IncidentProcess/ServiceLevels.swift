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

    func validate() throws {
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
}

/// The arithmetic of a clock, apart from storage: when it warns and falls due, and where it
/// stands at a moment.
public struct ClockPolicy: Sendable {
    public var calendar: BusinessCalendar
    public var targetMinutes: Int
    public var warningPercent: Int

    public init(calendar: BusinessCalendar, targetMinutes: Int, warningPercent: Int) {
        self.calendar = calendar
        self.targetMinutes = targetMinutes
        self.warningPercent = warningPercent
    }

    /// When the warning share and the whole target are reached; `nil` while paused by an
    /// open-ended hold.
    public func deadlines(startedAt: Date, pauses: [DateInterval]) -> (warningAt: Date?, dueAt: Date?) {
        let target = Double(targetMinutes) * 60
        let warning = calendar.date(addingBusinessSeconds: target * Double(warningPercent) / 100, to: startedAt, excluding: pauses)
        let due = calendar.date(addingBusinessSeconds: target, to: startedAt, excluding: pauses)
        return (warning, due)
    }

    /// Elapsed business time and state at `now`. A running clock is breached from its due
    /// moment on; a clock stopped at or before that moment met its target.
    public func standing(startedAt: Date, stoppedAt: Date?, pauses: [DateInterval], pausedNow: Bool, now: Date)
        -> (elapsedMinutes: Double, state: ClockState)
    {
        let end = stoppedAt ?? now
        let elapsed = calendar.businessSeconds(from: startedAt, to: end, excluding: pauses)
        let target = Double(targetMinutes) * 60
        let state: ClockState
        if stoppedAt != nil {
            // Stopped at the due moment itself is in time; the tolerance absorbs the
            // microsecond rounding of stored times.
            state = elapsed <= target + 0.001 ? .met : .breached
        } else if elapsed >= target {
            state = .breached
        } else if pausedNow {
            state = .paused
        } else if elapsed >= target * Double(warningPercent) / 100 {
            state = .warning
        } else {
            state = .within
        }
        return ((elapsed / 60 * 100).rounded() / 100, state)
    }
}
