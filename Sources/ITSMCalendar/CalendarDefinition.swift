import Foundation
import ITSMProtocol
import Synchronization

/// A calendar as it is written in requests and stored: `{"timeZone": "Europe/Berlin",
/// "hours": {"monday": ["09:00-17:00"], ...}, "holidays": ["2026-12-25"]}`.
public struct CalendarDefinition: Sendable, Hashable, Codable {
    public var timeZone: String
    public var hours: [String: [String]]
    public var holidays: [String]?

    public init(timeZone: String, hours: [String: [String]], holidays: [String]? = nil) {
        self.timeZone = timeZone
        self.hours = hours
        self.holidays = holidays
    }

    /// Every hour of every day, in UTC.
    public static let always = CalendarDefinition(
        timeZone: "UTC", hours: Dictionary(uniqueKeysWithValues: BusinessCalendar.Weekday.allCases.map { ($0.rawValue, ["00:00-24:00"]) }))

    public func make() throws -> BusinessCalendar {
        var parsed: [BusinessCalendar.Weekday: [String]] = [:]
        for (day, spans) in hours {
            guard let weekday = BusinessCalendar.Weekday(rawValue: day.lowercased()) else {
                throw ResponseError.invalidParams("calendar.hours: '\(day)' is not a weekday (monday ... sunday)")
            }
            parsed[weekday] = spans
        }
        do {
            return try BusinessCalendar(timeZone: timeZone, hours: parsed, holidays: holidays ?? [])
        } catch let error as CalendarError {
            throw ResponseError.invalidParams("calendar: \(error.description)")
        }
    }
}

extension CalendarDefinition {
    /// The calendar of a stored definition's JSON, made once and kept: a definition's calendar is
    /// read in every change to a record it measures, and decoding and expanding it cost more than
    /// the clock arithmetic (a profile of creates). At most `kept` calendars; then it starts over.
    public static func calendar(storedJSON json: String) throws -> BusinessCalendar {
        if let known = made.withLock({ $0[json] }) { return known }
        let calendar = try JSONDecoder().decode(CalendarDefinition.self, from: Data(json.utf8)).make()
        made.withLock { made in
            if made.count >= kept { made.removeAll(keepingCapacity: true) }
            made[json] = calendar
        }
        return calendar
    }

    private static let kept = 256
    private static let made = Mutex<[String: BusinessCalendar]>([:])
}
