import Foundation
import ITSMProtocol
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
}
