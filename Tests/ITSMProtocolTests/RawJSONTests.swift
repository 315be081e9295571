import Foundation
import ITSMProtocol
import Testing

/// A response's result passed on as it came: read only where the full decoder reads the
/// same line to the same value, and every other line left to that decoder.
@Suite struct RawJSONTests {
    private func response(_ text: String) -> (id: RequestID, result: RawJSON)? { RawJSON.response(line: Array(text.utf8)) }

    /// What the full decoder makes of a line's result, if it is a successful response.
    private func decoded(_ text: String) -> (id: RequestID?, result: JSONValue)? {
        guard case .response(let response)? = try? Message.decode(Array(text.utf8)), case .success(let value) = response.result else { return nil }
        return (response.id, value)
    }

    @Test func aResultIsKeptAsItCameAndReadsAsTheDecoderReadsIt() throws {
        let lines = [
            #"{"jsonrpc":"2.0","id":7,"result":{"items":[{"number":"INC-1","title":"café \u00e9\n\ud83d\ude00","n":1.5e3,"m":-0}],"next":null}}"#,
            #" { "result" : [ 1 , true , false , null , "x" ] , "id" : "call-1" , "jsonrpc" : "2.0" } "#,
            #"{"id":-9223372036854775808,"jsonrpc":"2.0","result":12345678901234567890}"#,
            #"{"jsonrpc":"2.0","id":1,"result":{}}"#,
            #"{"jsonrpc":"2.0","id":1,"result":"\\\"\/"}"#,
        ]
        for line in lines {
            let raw = try #require(response(line), "\(line)")
            let full = try #require(decoded(line))
            #expect(raw.id == full.id)
            #expect(try raw.result.parsed() == full.result)
        }
        // The bytes are the process's own, not written again.
        let line = #"{"jsonrpc":"2.0","id":3,"result":{"z":1,  "a":[2.50]}}"#
        #expect(String(decoding: try #require(response(line)).result.bytes, as: UTF8.self) == #"{"z":1,  "a":[2.50]}"#)
    }

    @Test func aResultsLineIsWrittenAsTheEncoderWritesIt() throws {
        for (id, result) in [(RequestID.number(7), JSONValue.object(["b": [1, "x"], "a": nil])), (.string("c-1"), .string("é\n")), (nil, .array([]))] {
            let expected = try Message.response(JSONRPCResponse(id: id, result: .success(result))).encodedLine()
            #expect(Message.responseLine(id: id, result: RawJSON(result)) == expected)
        }
    }

    @Test func everyOtherLineIsLeftToTheDecoder() {
        let lines = [
            #"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}"#,   // an error
            #"{"jsonrpc":"2.0","id":1,"method":"x","params":{}}"#,                   // a request
            #"{"jsonrpc":"2.0","id":1,"result":1,"meta":{}}"#,                       // another member
            #"{"jsonrpc":"2.0","id":1,"result":1,"result":2}"#,                      // a member twice
            #"{"jsonrpc":"2.0","id":1.0,"result":1}"#,                               // an id the decoder rounds
            #"{"jsonrpc":"2.0","id":null,"result":1}"#,
            #"{"jsonrpc":"1.0","id":1,"result":1}"#,
            #"{"id":1,"result":1}"#,
            #"[{"jsonrpc":"2.0","id":1,"result":1}]"#,
        ]
        for line in lines { #expect(response(line) == nil, "\(line)") }
    }

    @Test func aResultTheParserWouldRefuseIsNotPassedOn() {
        let results = [
            "[1,]", "{\"a\":1,}", "01", "1.", "-", "1e400", "\"\u{01}\"", #""\x""#, #""\ud800""#, #""\u12g4""#, "tru", "nul",
            "{\"a\" 1}", "[1 2]", "\"open", "{1:2}",
            String(repeating: "[", count: JSONValue.maximumDepth) + String(repeating: "]", count: JSONValue.maximumDepth),
        ]
        for result in results {
            let line = #"{"jsonrpc":"2.0","id":1,"result":"# + result + "}"
            #expect(response(line) == nil, "\(result)")
            #expect(decoded(line) == nil, "\(result)")
        }
        // Text that is not UTF-8 is not passed on (the decoder reads it with replacement characters).
        var invalid = Array(#"{"jsonrpc":"2.0","id":1,"result":"a"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        #expect(RawJSON.response(line: invalid) == nil)
        invalid = Array(#"{"jsonrpc":"2.0","id":1,"result":{"k"#.utf8) + [0xFF] + Array(#"":1}}"#.utf8)
        #expect(RawJSON.response(line: invalid) == nil)
        // As deep as the parser goes, it is.
        let deepest = String(repeating: "[", count: JSONValue.maximumDepth - 1) + String(repeating: "]", count: JSONValue.maximumDepth - 1)
        #expect(response(#"{"jsonrpc":"2.0","id":1,"result":"# + deepest + "}") != nil)
    }

    @Test func agreesWithTheDecoderOnGeneratedResults() throws {
        var generator = SystemRandomNumberGenerator()
        func value(_ depth: Int) -> JSONValue {
            switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &generator) {
            case 0: return .null
            case 1: return .bool(Bool.random(using: &generator))
            case 2: return .int(Int64.random(in: .min ... .max, using: &generator))
            case 3: return .double(Double.random(in: -1e12...1e12, using: &generator))
            case 4: return .string(String((0..<Int.random(in: 0..<12, using: &generator)).map { _ in
                ["a", "é", "\"", "\\", "\n", "\u{01}", "😀", "/", " "].randomElement(using: &generator)! }))
            case 5: return .array((0..<Int.random(in: 0..<4, using: &generator)).map { _ in value(depth + 1) })
            default: return .object(Dictionary((0..<Int.random(in: 0..<4, using: &generator)).map { ("k\($0)\(["", "é", "\\n"].randomElement(using: &generator)!)", value(depth + 1)) }) { $1 })
            }
        }
        for _ in 0..<2_000 {
            let result = value(0)
            let line = #"{"jsonrpc":"2.0","id":5,"result":"# + String(decoding: result.serialized(), as: UTF8.self) + "}"
            let raw = try #require(response(line), "\(line)")
            #expect(try raw.result.parsed() == result)
        }
    }
}
