import Foundation
import ITSMProtocol
import Testing

@Suite struct JSONValueBytesTests {
    private func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(#" {"s":"a\"b\\c\/d\n\t\u00e9\ud83d\ude00","i":-42,"z":0,"d":1.5,"e":1e3,"neg":-0.25,"t":true,"f":false,"n":null,"a":[1,[],{}],"o":{"k":"v"}} "#)
        #expect(value["s"] == .string("a\"b\\c/d\n\té😀"))
        #expect(value["i"] == .int(-42) && value["z"] == .int(0))
        #expect(value["d"] == .double(1.5) && value["e"] == .double(1000) && value["neg"] == .double(-0.25))
        #expect(value["t"] == .bool(true) && value["f"] == .bool(false) && value["n"] == .null)
        #expect(value["a"] == [1, [], [:]] && value["o"] == ["k": "v"])
        #expect(try parse("12345678901234567890") == .double(12_345_678_901_234_567_890)) // past Int64
    }

    @Test func serializesCompactSortedAndEscaped() throws {
        let value: JSONValue = ["b": [1, 2.5, nil, true], "a": "line\nbreak \"quoted\" tab\t \u{01} é/"]
        let text = String(decoding: value.serialized(), as: UTF8.self)
        #expect(text == #"{"a":"line\nbreak \"quoted\" tab\t \u0001 é/","b":[1,2.5,null,true]}"#)
        #expect(try parse(text) == value)
        #expect(String(decoding: JSONValue.double(.nan).serialized(), as: UTF8.self) == "null")
        #expect(try parse(String(decoding: JSONValue.double(3).serialized(), as: UTF8.self)) == .double(3))
    }

    @Test func agreesWithFoundationOnRoundTrips() throws {
        let documents = [
            #"{"jsonrpc":"2.0","id":7,"method":"incident.get","params":{"number":"INC-000001","history":true}}"#,
            #"[{"title":"Ünïcödé ✓","n":[0,-1,2.25e-3]},"\u2028",{"deep":{"deeper":{"deepest":[null]}}}]"#,
        ]
        for document in documents {
            let ours = try parse(document)
            let foundations = try JSONDecoder().decode(JSONValue.self, from: Data(document.utf8))
            #expect(ours == foundations)
            #expect(try JSONDecoder().decode(JSONValue.self, from: Data(ours.serialized())) == ours)
        }
    }

    @Test(arguments: [
        "", "   ", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "// no\n1", "01", "1.", ".5", "-", "1e", "+1", "tru", "nul",
        "\"unterminated", "\"tab\there\"", "\"bad \\x escape\"", "\"\\ud83d alone\"", "\"\\ude00 low\"", "[1] [2]",
        "{\"a\" 1}", "{1:2}", "NaN", "Infinity", "1e310", "-1e999", // found by Tests/Fuzz: infinity does not round-trip
    ])
    func rejectsWhatIsNotJSON(text: String) {
        #expect(throws: JSONValue.ParseError.self) { _ = try JSONValue.parse(Array(text.utf8)) }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONValue.ParseError.self) { _ = try JSONValue.parse(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? JSONValue.parse(Array(fine.utf8))) != nil)
    }
}
