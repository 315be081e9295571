import Foundation
@testable import ITSMProtocol
import ITSMSystem
import Testing

@Suite struct JSONCodingTests {
    @Test func datesAreRealDaysInTheYearsEveryLayerCanHold() throws {
        #expect(JSONCoding.date(from: "2026-11-30T10:00:00Z") != nil)
        #expect(JSONCoding.date(from: "2026-11-30T10:00:00.123Z") != nil)
        #expect(JSONCoding.date(from: "2024-02-29T00:00:00Z") != nil)
        #expect(JSONCoding.date(from: "9999-12-31T23:59:59Z") != nil)
        // Rolled over by the system parser before; out of range for the database and encoders.
        #expect(JSONCoding.date(from: "2026-02-30T10:00:00Z") == nil)
        #expect(JSONCoding.date(from: "2026-02-29T10:00:00Z") == nil)
        #expect(JSONCoding.date(from: "2026-13-01T10:00:00Z") == nil)
        #expect(JSONCoding.date(from: "0000-01-01T00:00:00Z") == nil)
        #expect(JSONCoding.date(from: "294277-01-01T00:00:00Z") == nil)
        #expect(JSONCoding.date(from: "yesterday") == nil)
        // Times of day too (found by schemathesis: 12:99 was read as 13:39).
        #expect(JSONCoding.date(from: "2024-01-01T12:99:00Z") == nil)
        #expect(JSONCoding.date(from: "2024-01-01T24:00:00Z") == nil)
        #expect(JSONCoding.date(from: "2024-01-01T12:00:61Z") == nil)
        #expect(JSONCoding.date(from: "2024-01-01T23:59:59+05:30") != nil)
        // Typed params go through the same check.
        struct Params: Decodable { var from: Date }
        #expect(throws: DecodingError.self) {
            try JSONCoding.decoder.decode(Params.self, from: Data(#"{"from": "294277-01-01T00:00:00Z"}"#.utf8))
        }
    }

    /// The fast reader of the usual shape gives the very `Date` Foundation's parser gives, to
    /// the last bit, and leaves every other shape to it.
    @Test func theUsualShapeIsReadToTheDateFoundationGives() throws {
        let foundation = { (text: String) -> Date? in
            (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text))
        }
        var generator = SeededGenerator(seed: 20_261_203)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        for _ in 0..<20_000 {
            let year = Int.random(in: 1583...9998, using: &generator), month = Int.random(in: 1...12, using: &generator)
            let day = Int.random(in: 1...(month == 2 ? 28 : 30), using: &generator)
            var text = "\(year)-\(two(month))-\(two(day))T\(two(Int.random(in: 0...23, using: &generator))):"
                + "\(two(Int.random(in: 0...59, using: &generator))):\(two(Int.random(in: 0...59, using: &generator)))"
            let fractionDigits = Int.random(in: 0...9, using: &generator)
            if fractionDigits > 0 { text += "." + (0..<fractionDigits).map { _ in "\(Int.random(in: 0...9, using: &generator))" }.joined() }
            switch Int.random(in: 0...2, using: &generator) {
            case 0: text += "Z"
            case let sign: text += (sign == 1 ? "+" : "-") + two(Int.random(in: 0...14, using: &generator)) + ":" + ["00", "30", "45"].randomElement(using: &generator)!
            }
            let fast = try #require(RFC3339.date(text), "\(text)")
            #expect(fast == foundation(text), "\(text): \(fast.timeIntervalSinceReferenceDate) against \(foundation(text)?.timeIntervalSinceReferenceDate ?? .nan)")
        }
        // The edges it still reads: leap days, the last instant of its years, offsets across midnight.
        for text in ["2024-02-29T12:00:00Z", "2000-02-29T00:00:00.5+01:00", "9998-12-31T23:59:59.999999999Z", "1583-01-01T00:00:00-14:00",
                     "2026-12-31T23:30:00-01:00"] {
            #expect(RFC3339.date(text) == foundation(text), "\(text)")
        }
        // What it leaves to Foundation (which reads some, refuses others; JSONCoding then checks).
        for text in ["1582-10-15T00:00:00Z", "9999-12-31T23:59:59Z", "2026-11-30T10:00:00", "2026-11-30T10:00Z", "2026-11-30 10:00:00Z",
                     "2026-11-30T10:00:00.Z", "2026-11-30T10:00:00.1234567890Z", "2026-11-30T10:00:00+0100", "2026-11-30T10:00:00+15:00",
                     "2026-02-29T10:00:00Z", "2026-11-30T24:00:00Z", "2026-11-30t10:00:00z", "+2026-11-30T10:00:00Z", "2026-11-30T10:00:00Z "] {
            #expect(RFC3339.date(text) == nil, "\(text)")
        }
        #expect(JSONCoding.date(from: "9999-12-31T23:59:59Z") == foundation("9999-12-31T23:59:59Z"))
    }
}
