import Foundation
@testable import IncidentProcess
import Testing

/// Reading exported rows: a value either means what it says or is refused with a reason.
@Suite struct ImportReaderTests {
    let reader = try! ImportReader(options: ImportOptions(timeZone: "Europe/Berlin"), columns: ["short_description", "opened_at"],
                                   matrix: .itil, now: Date(timeIntervalSince1970: 0))

    @Test(arguments: [
        ("2026-11-23 17:22:09", "2026-11-23T16:22:09Z"),
        ("2026-11-23T17:22", "2026-11-23T16:22:00Z"),
        ("2026-11-23", "2026-11-22T23:00:00Z"),
        ("2026-11-23T17:22:09+00:00", "2026-11-23T17:22:09Z"),
        ("2024-02-29 12:00", "2024-02-29T11:00:00Z"),
    ])
    func readsDatesInTheImportsTimeZoneOrWithTheirOffset(text: String, expected: String) throws {
        #expect(reader.parseDate(text) == (try Date.ISO8601FormatStyle().parse(expected)))
    }

    /// Each of these was once read as another date, or accepted past what the database holds
    /// (found by fuzzing: `17:r2:09` became 17:09).
    @Test(arguments: ["2026-11-23 17:r2:09", "2026-02-30", "2025-02-29 10:00", "2026-11-23 24:00", "2026-11-23 17:60",
                      "2026-11-23 17:22:60", "202026-11-24T08:00:00.000Z", "0000-01-01", "10000-01-01", "2026-11-23 17:22:09:01",
                      "2026-11--23", "+2026-11-23", "2026-11-23  17:22", "26-11-23 1:2"])
    func refusesWhatIsNotADateItCanStore(text: String) {
        #expect(reader.parseDate(text) == nil, "\(text) was read as \(String(describing: reader.parseDate(text)))")
    }

    @Test func aBadDateRejectsTheRowWithTheField() {
        guard case .failure(let reason) = reader.read(["Mail down", "2026-11-23 17:r2:09"]) else {
            Issue.record("the row was read")
            return
        }
        #expect(reason.text == "createdAt: '2026-11-23 17:r2:09' is not a date like 2026-11-23 17:22:09")
    }
}
