import Foundation
import ITSMCalendar
import ITSMProtocol

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
