import Foundation

/// Working time: hours per weekday in a time zone, minus holidays.
///
/// Service level targets are measured in this time ("8 business hours"). Days are walked in
/// local time, so the working hours stay at 09:00 local across daylight saving changes, and a
/// 24-hour calendar counts the 23- and 25-hour days as they are.
///
/// ```swift
/// let calendar = try BusinessCalendar(timeZone: "Europe/Berlin", hours: .weekdays("09:00-17:00"), holidays: ["2026-12-25"])
/// let due = calendar.date(addingBusinessSeconds: 8 * 3600, to: openedAt, excluding: holds)
/// ```
public struct BusinessCalendar: Sendable, Hashable {
    public enum Weekday: String, Sendable, Hashable, Codable, CaseIterable {
        case monday, tuesday, wednesday, thursday, friday, saturday, sunday

        /// From Foundation's numbering, 1 = Sunday.
        init(gregorian weekday: Int) {
            self = [.sunday, .monday, .tuesday, .wednesday, .thursday, .friday, .saturday][(weekday - 1) % 7]
        }
    }

    /// A span of a day, in minutes after local midnight; `end` may be 1440 (24:00).
    public struct Span: Sendable, Hashable, Comparable {
        public var start: Int
        public var end: Int

        /// Parses `HH:MM-HH:MM`.
        public init(parsing text: String) throws {
            let parts = text.split(separator: "-").map { $0.trimmingCharacters(in: .whitespaces) }
            func minutes(_ clock: String) -> Int? {
                let pieces = clock.split(separator: ":")
                guard pieces.count == 2, let hours = Int(pieces[0]), let minutes = Int(pieces[1]),
                      (0...24).contains(hours), (0..<60).contains(minutes), hours * 60 + minutes <= 1440 else { return nil }
                return hours * 60 + minutes
            }
            guard parts.count == 2, let start = minutes(parts[0]), let end = minutes(parts[1]), start < end else {
                throw CalendarError("'\(text)' is not a span like 09:00-17:00")
            }
            self.start = start
            self.end = end
        }

        public static func < (lhs: Span, rhs: Span) -> Bool { lhs.start < rhs.start }
    }

    public let timeZone: TimeZone
    public let hours: [Weekday: [Span]]
    /// Local dates, `yyyy-MM-dd`, with no working time.
    public let holidays: Set<String>
    private let calendar: Calendar

    public init(timeZone identifier: String, hours: [Weekday: [String]], holidays: [String] = []) throws {
        guard let timeZone = TimeZone(identifier: identifier) else {
            throw CalendarError("unknown time zone '\(identifier)'")
        }
        var parsed: [Weekday: [Span]] = [:]
        for (day, spans) in hours {
            let sorted = try spans.map(Span.init(parsing:)).sorted()
            for (earlier, later) in zip(sorted, sorted.dropFirst()) where earlier.end > later.start {
                throw CalendarError("\(day.rawValue): spans overlap")
            }
            parsed[day] = sorted
        }
        for holiday in holidays where Self.parseLocalDate(holiday) == nil {
            throw CalendarError("holiday '\(holiday)' is not a date like 2026-12-25")
        }
        self.timeZone = timeZone
        self.hours = parsed
        self.holidays = Set(holidays)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
    }

    /// Every hour of every day, in UTC.
    public static let always = try! BusinessCalendar(
        timeZone: "UTC", hours: Dictionary(uniqueKeysWithValues: Weekday.allCases.map { ($0, ["00:00-24:00"]) }))

    /// Business seconds in `[start, end)`, not counting `excluded` periods (holds).
    public func businessSeconds(from start: Date, to end: Date, excluding excluded: [DateInterval] = []) -> TimeInterval {
        guard end > start else { return 0 }
        var total: TimeInterval = 0
        let excluded = Self.merged(excluded)
        for interval in workingIntervals(from: start) {
            if interval.start >= end { break }
            let clipped = DateInterval(start: max(interval.start, start), end: min(interval.end, end))
            for piece in Self.subtract(excluded, from: clipped) { total += piece.duration }
        }
        return total
    }

    /// When `seconds` of business time will have passed after `start`, not counting
    /// `excluded` periods; `nil` if never (no working time, or an open-ended exclusion).
    public func date(addingBusinessSeconds seconds: TimeInterval, to start: Date, excluding excluded: [DateInterval] = []) -> Date? {
        var remaining = seconds
        let excluded = Self.merged(excluded)
        for interval in workingIntervals(from: start) {
            let clipped = DateInterval(start: max(interval.start, start), end: interval.end)
            for piece in Self.subtract(excluded, from: clipped) {
                if piece.duration >= remaining { return piece.start.addingTimeInterval(remaining) }
                remaining -= piece.duration
            }
        }
        return nil
    }

    /// Working intervals in order, starting with the day `start` falls on (local time), for at
    /// most ten years: a calendar with no working time ends the walk instead of looping forever.
    func workingIntervals(from start: Date) -> some Sequence<DateInterval> {
        let firstDay = calendar.startOfDay(for: start)
        return (0..<3653).lazy.flatMap { offset -> [DateInterval] in
            guard let day = calendar.date(byAdding: .day, value: offset, to: firstDay) else { return [] }
            return intervals(on: day)
        }.filter { $0.end > start }
    }

    private func intervals(on day: Date) -> [DateInterval] {
        let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
        guard let year = parts.year, let month = parts.month, let dayOfMonth = parts.day, let weekday = parts.weekday else { return [] }
        if holidays.contains(String(format: "%04d-%02d-%02d", year, month, dayOfMonth)) { return [] }
        return (hours[Weekday(gregorian: weekday)] ?? []).compactMap { span in
            guard let start = localTime(year, month, dayOfMonth, minutes: span.start, dayStart: day),
                  let end = localTime(year, month, dayOfMonth, minutes: span.end, dayStart: day), end > start
            else { return nil }
            return DateInterval(start: start, end: end)
        }
    }

    private func localTime(_ year: Int, _ month: Int, _ day: Int, minutes: Int, dayStart: Date) -> Date? {
        if minutes == 1440 { return calendar.date(byAdding: .day, value: 1, to: dayStart) }
        if minutes == 0 { return dayStart }
        return calendar.date(from: DateComponents(year: year, month: month, day: day, hour: minutes / 60, minute: minutes % 60))
    }

    static func parseLocalDate(_ text: String) -> (Int, Int, Int)? {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard text.count == 10, parts.count == 3, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else { return nil }
        return (parts[0], parts[1], parts[2])
    }

    /// Sorted, overlapping intervals joined.
    static func merged(_ intervals: [DateInterval]) -> [DateInterval] {
        var result: [DateInterval] = []
        for interval in intervals.sorted(by: { $0.start < $1.start }) {
            if let last = result.last, interval.start <= last.end {
                result[result.count - 1] = DateInterval(start: last.start, end: max(last.end, interval.end))
            } else {
                result.append(interval)
            }
        }
        return result
    }

    /// `interval` minus the (merged, sorted) `excluded` intervals.
    static func subtract(_ excluded: [DateInterval], from interval: DateInterval) -> [DateInterval] {
        var pieces: [DateInterval] = []
        var cursor = interval.start
        for cut in excluded where cut.end > cursor && cut.start < interval.end {
            if cut.start > cursor { pieces.append(DateInterval(start: cursor, end: cut.start)) }
            cursor = max(cursor, cut.end)
        }
        if cursor < interval.end { pieces.append(DateInterval(start: cursor, end: interval.end)) }
        return pieces
    }
}

extension Dictionary where Key == BusinessCalendar.Weekday, Value == [String] {
    /// The same spans Monday to Friday.
    public static func weekdays(_ spans: String...) -> Self {
        Dictionary(uniqueKeysWithValues: [BusinessCalendar.Weekday.monday, .tuesday, .wednesday, .thursday, .friday].map { ($0, spans) })
    }
}

public struct CalendarError: Error, CustomStringConvertible, Hashable {
    public var description: String
    init(_ description: String) { self.description = description }
}
