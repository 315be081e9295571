import Foundation
import ITSMCalendar
import IncidentProcess
import Testing

/// Cases computed by hand. Berlin is UTC+1 in winter and UTC+2 in summer; summer time ends
/// 2026-10-25 (03:00 → 02:00) and starts 2026-03-29 (02:00 → 03:00).
@Suite struct BusinessCalendarTests {
    static let berlin = try! BusinessCalendar(timeZone: "Europe/Berlin", hours: .weekdays("09:00-17:00"),
                                              holidays: ["2026-12-25"])
    static let berlinAlways = try! BusinessCalendar(
        timeZone: "Europe/Berlin", hours: Dictionary(uniqueKeysWithValues: BusinessCalendar.Weekday.allCases.map { ($0, ["00:00-24:00"]) }))
    static let newYork = try! BusinessCalendar(timeZone: "America/New_York", hours: .weekdays("09:00-12:00", "13:00-17:00"))

    static func utc(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }
    static let hour: TimeInterval = 3600

    @Test(arguments: [
        // Same day: Mon 10:00 Berlin + 4h = Mon 14:00 Berlin.
        ("2026-11-23T09:00:00Z", 4.0, "2026-11-23T13:00:00Z"),
        // Across the night: Mon 16:00 + 4h = 1h Monday + 3h Tuesday = Tue 12:00.
        ("2026-11-23T15:00:00Z", 4.0, "2026-11-24T11:00:00Z"),
        // Across the weekend: Fri 15:00 + 4h = 2h Friday + 2h Monday = Mon 11:00.
        ("2026-11-27T14:00:00Z", 4.0, "2026-11-30T10:00:00Z"),
        // Opened on Saturday: the clock starts Monday 09:00.
        ("2026-11-28T09:00:00Z", 1.0, "2026-11-30T09:00:00Z"),
        // Opened in the evening: counts from 09:00 the next morning.
        ("2026-11-23T19:00:00Z", 2.0, "2026-11-24T10:00:00Z"),
        // Holiday: Thu 24 Dec 16:00 + 2h = 1h Thursday, Friday 25th is a holiday, then Mon 28 Dec 10:00.
        ("2026-12-24T15:00:00Z", 2.0, "2026-12-28T09:00:00Z"),
        // Daylight saving ends on the weekend: Fri 16:00 (UTC+2) + 2h = Mon 10:00 (UTC+1).
        ("2026-10-23T14:00:00Z", 2.0, "2026-10-26T09:00:00Z"),
        // Exactly at the end of the day: the remaining time starts the next working day.
        ("2026-11-23T08:00:00Z", 8.0, "2026-11-23T16:00:00Z"),
        ("2026-11-23T08:00:00Z", 9.0, "2026-11-24T09:00:00Z"),
    ])
    func dueTimesInBerlin(start: String, hours: Double, due: String) {
        let computed = Self.berlin.date(addingBusinessSeconds: hours * Self.hour, to: Self.utc(start))
        #expect(computed == Self.utc(due))
        // And the other way round: the business time between them is the target.
        #expect(Self.berlin.businessSeconds(from: Self.utc(start), to: Self.utc(due)) == hours * Self.hour)
    }

    @Test func anotherTimeZoneWithALunchBreak() {
        // Mon 08:00 New York (13:00Z, UTC-5) + 4h = 09:00-12:00 (3h), lunch, 13:00-14:00 = 14:00 New York.
        #expect(Self.newYork.date(addingBusinessSeconds: 4 * Self.hour, to: Self.utc("2026-11-23T13:00:00Z"))
            == Self.utc("2026-11-23T19:00:00Z"))
    }

    @Test func roundTheClockCalendarCountsDaylightSavingDaysAsTheyAre() {
        // Autumn: noon Saturday to noon Sunday is 25 hours.
        #expect(Self.berlinAlways.businessSeconds(from: Self.utc("2026-10-24T10:00:00Z"), to: Self.utc("2026-10-25T11:00:00Z"))
            == 25 * Self.hour)
        // Spring: noon to noon is 23 hours.
        #expect(Self.berlinAlways.businessSeconds(from: Self.utc("2026-03-28T11:00:00Z"), to: Self.utc("2026-03-29T10:00:00Z"))
            == 23 * Self.hour)
        #expect(BusinessCalendar.always.date(addingBusinessSeconds: 30 * Self.hour, to: Self.utc("2026-11-23T09:00:00Z"))
            == Self.utc("2026-11-24T15:00:00Z"))
    }

    @Test func holdsPauseTheClock() {
        let start = Self.utc("2026-11-23T09:00:00Z") // Mon 10:00 Berlin
        // On hold 11:00-13:00 Berlin: a 4h target is due at 16:00 instead of 14:00.
        let lunchHold = DateInterval(start: Self.utc("2026-11-23T10:00:00Z"), end: Self.utc("2026-11-23T12:00:00Z"))
        #expect(Self.berlin.date(addingBusinessSeconds: 4 * Self.hour, to: start, excluding: [lunchHold]) == Self.utc("2026-11-23T15:00:00Z"))
        #expect(Self.berlin.businessSeconds(from: start, to: Self.utc("2026-11-23T15:00:00Z"), excluding: [lunchHold]) == 4 * Self.hour)

        // Opened Mon 16:00, on hold 16:30 until Tue 10:00: 0.5h Monday, 1.5h from Tuesday 10:00 = Tue 11:30.
        let overnight = DateInterval(start: Self.utc("2026-11-23T15:30:00Z"), end: Self.utc("2026-11-24T09:00:00Z"))
        #expect(Self.berlin.date(addingBusinessSeconds: 2 * Self.hour, to: Self.utc("2026-11-23T15:00:00Z"), excluding: [overnight])
            == Self.utc("2026-11-24T10:30:00Z"))

        // Overlapping holds count once.
        let first = DateInterval(start: Self.utc("2026-11-23T10:00:00Z"), end: Self.utc("2026-11-23T11:00:00Z"))
        let second = DateInterval(start: Self.utc("2026-11-23T10:30:00Z"), end: Self.utc("2026-11-23T12:00:00Z"))
        #expect(Self.berlin.businessSeconds(from: start, to: Self.utc("2026-11-23T16:00:00Z"), excluding: [first, second]) == 5 * Self.hour)

        // A hold with no end yet: the target is never reached while it lasts.
        let open = DateInterval(start: Self.utc("2026-11-23T10:00:00Z"), end: .distantFuture)
        #expect(Self.berlin.date(addingBusinessSeconds: 4 * Self.hour, to: start, excluding: [open]) == nil)
    }

    @Test func rejectsNonsense() {
        #expect(throws: CalendarError.self) { try BusinessCalendar(timeZone: "Mars/Olympus", hours: [:]) }
        #expect(throws: CalendarError.self) { try BusinessCalendar(timeZone: "UTC", hours: .weekdays("17:00-09:00")) }
        #expect(throws: CalendarError.self) { try BusinessCalendar(timeZone: "UTC", hours: .weekdays("09:00-13:00", "12:00-17:00")) }
        #expect(throws: CalendarError.self) { try BusinessCalendar(timeZone: "UTC", hours: .weekdays("9-17")) }
        #expect(throws: CalendarError.self) { try BusinessCalendar(timeZone: "UTC", hours: [:], holidays: ["25.12.2026"]) }
        let never = try! BusinessCalendar(timeZone: "UTC", hours: [:])
        #expect(never.date(addingBusinessSeconds: 60, to: Self.utc("2026-11-23T09:00:00Z")) == nil)
    }

    @Test func aStoredCalendarIsMadeFromItsJSONAndTheSameOneIsReturnedAgain() throws {
        let stored = #"{"timeZone": "Europe/Berlin", "hours": {"monday": ["09:00-17:00"]}, "holidays": ["2026-12-25"]}"#
        let calendar = try CalendarDefinition.calendar(storedJSON: stored)
        #expect(calendar == (try BusinessCalendar(timeZone: "Europe/Berlin", hours: [.monday: ["09:00-17:00"]], holidays: ["2026-12-25"])))
        #expect(try CalendarDefinition.calendar(storedJSON: stored) == calendar)
        let other = #"{"timeZone": "UTC", "hours": {"monday": ["09:00-17:00"]}}"#
        #expect(try CalendarDefinition.calendar(storedJSON: other) != calendar)
        #expect(throws: (any Error).self) { try CalendarDefinition.calendar(storedJSON: #"{"timeZone": "Nowhere/City", "hours": {}}"#) }
        #expect(throws: (any Error).self) { try CalendarDefinition.calendar(storedJSON: "not json") }
    }
}
