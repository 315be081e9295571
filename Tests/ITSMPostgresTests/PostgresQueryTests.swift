import Foundation
import Testing
@testable import ITSMPostgres

@Suite struct PostgresQueryTests {
    @Test func interpolatedValuesBecomeNumberedBinds() {
        let number = "INC-000001'; DROP TABLE incident; --"
        let limit = 10
        let query: PostgresQuery = "SELECT * FROM incident.incident WHERE number = \(number) LIMIT \(limit)"
        #expect(query.sql == "SELECT * FROM incident.incident WHERE number = $1 LIMIT $2")
        #expect(query.binds == [number, "10"])
        #expect(query.bindTypes == [.unspecified, .int8])
    }

    @Test func nilOptionalBindsNull() {
        let assignee: String? = nil
        let query: PostgresQuery = "UPDATE t SET assignee = \(assignee)"
        #expect(query.sql == "UPDATE t SET assignee = $1")
        #expect(query.binds == [nil])
    }

    @Test func unsafeSQLIsWrittenAsIs() {
        let schema = "incident"
        let query: PostgresQuery = "SELECT 1 FROM \(unsafeSQL: schema).incident WHERE id = \(UUID(uuidString: "6F9619FF-8B86-D011-B42D-00C04FC964FF")!)"
        #expect(query.sql == "SELECT 1 FROM incident.incident WHERE id = $1")
        #expect(query.binds == ["6f9619ff-8b86-d011-b42d-00c04fc964ff"])
        #expect(query.bindTypes == [.uuid])
    }

    @Test func appendRenumbersParameters() {
        var query: PostgresQuery = "SELECT * FROM t WHERE a = \(1)"
        let extra: PostgresQuery = " AND b = \("x") AND c = \(true)"
        query.append(extra)
        #expect(query.sql == "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3")
        #expect(query.binds == ["1", "x", "t"])
    }

    @Test func arraysUseTheTextArrayLiteral() {
        let tags = ["a", "b c", "quote\"d", "back\\slash"]
        let query: PostgresQuery = "SELECT \(tags)"
        #expect(query.binds == [#"{"a","b c","quote\"d","back\\slash"}"#])
        #expect(PostgresArrayLiteral.parse(query.binds[0]!) == tags)
        let written = ["Störung \"🖨️\"", "e\u{301}\\"]
        #expect(PostgresArrayLiteral.format(written) == #"{"Störung \"🖨️\"","é\\"}"#)
        #expect(PostgresArrayLiteral.parse(PostgresArrayLiteral.format(written)) == written)
        #expect(PostgresArrayLiteral.parse("{}") == [])
        #expect(PostgresArrayLiteral.parse("{1,NULL,3}") == ["1", nil, "3"])
        #expect(PostgresArrayLiteral.parse("{{1}}") == nil)
        #expect(PostgresArrayLiteral.parse("nope") == nil)
    }
}

@Suite struct PostgresTimestampTests {
    @Test(arguments: [
        ("2026-11-23 17:22:09.123456+00", 1_795_454_529.123456),
        ("2026-11-23 17:22:09+00", 1_795_454_529.0),
        ("2026-11-23 18:22:09.5+01", 1_795_454_529.5),
        ("2026-11-23 11:52:09-05:30", 1_795_454_529.0),
        ("1970-01-01 00:00:00+00", 0.0),
        ("1969-12-31 23:59:59+00", -1.0),
        ("2000-02-29 12:00:00Z", 951_825_600.0),
    ])
    func parsesServerFormat(text: String, epoch: Double) throws {
        let date = try #require(PostgresTimestamp.parse(text))
        #expect(abs(date.timeIntervalSince1970 - epoch) < 0.000_001)
    }

    @Test(arguments: ["", "2026-13-01 00:00:00+00", "2026-11-23", "2026-11-23 17:22:09+0x", "infinity"])
    func rejectsOtherText(text: String) {
        #expect(PostgresTimestamp.parse(text) == nil)
    }

    @Test func formatRoundTripsWithMicroseconds() throws {
        let date = Date(timeIntervalSince1970: 1_795_454_529.123456)
        let text = PostgresTimestamp.format(date)
        #expect(text == "2026-11-23T17:22:09.123456Z")
        let back = try #require(PostgresTimestamp.parse(text))
        #expect(abs(back.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_001)
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: -1.5)) == "1969-12-31T23:59:58.500000Z")
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: 253_402_300_799.5)) == "9999-12-31T23:59:59.500000Z")
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: -62_135_596_800)) == "0001-01-01T00:00:00.000000Z")
        // Years of more than four places, and before year 1 (the proleptic calendar's 0 and -1).
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: 253_402_300_800)) == "10000-01-01T00:00:00.000000Z")
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: -62_167_219_200)) == "0000-01-01T00:00:00.000000Z")
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: -62_198_755_200)) == "-0001-01-01T00:00:00.000000Z")
    }
}
