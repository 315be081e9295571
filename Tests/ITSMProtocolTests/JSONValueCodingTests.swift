import Foundation
import ITSMProtocol
import Testing

/// The tree coder must read and write exactly what JSONCoding's text coder does, so a plugin
/// sees the same values whichever way they came.
@Suite struct JSONValueCodingTests {
    enum Impact: String, Codable { case high, low }
    enum Change: Codable, Equatable {
        case assign(group: String)
        case close(code: Int, notes: String?)
    }
    struct Note: Codable, Equatable {
        var text: String
        var at: Date
    }
    struct Everything: Codable, Equatable {
        var title: String
        var impact: Impact
        var count: Int
        var small: Int8
        var big: UInt64
        var ratio: Double
        var flag: Bool
        var missing: String?
        var present: String?
        var when: Date
        var link: URL
        var id: UUID
        var blob: Data
        var amount: Decimal
        var notes: [Note]
        var tags: [String: Int]
        var byNumber: [Int: String]
        var changes: [Change]
        var extra: JSONValue
        var nested: [[Int?]]
    }

    static let sample = Everything(
        title: "Mail down \"again\"\n", impact: .high, count: -3, small: 7, big: 18_000_000_000_000_000_000, ratio: 0.25, flag: true,
        missing: nil, present: "yes", when: Date(timeIntervalSince1970: 1_767_225_600.5), link: URL(string: "https://example.com/a?b=c")!,
        id: UUID(uuidString: "5C1F5D28-1E9A-4B0E-9C7B-3E4A7F0B2D11")!, blob: Data([0, 1, 2, 250]), amount: Decimal(string: "12.5")!,
        notes: [Note(text: "first", at: Date(timeIntervalSince1970: 0))], tags: ["a": 1, "b": 2], byNumber: [1: "one", 20: "twenty"],
        changes: [.assign(group: "network"), .close(code: 2, notes: nil)], extra: ["k": [1, "x", nil]], nested: [[1, nil], []])

    @Test func encodesWhatTheTextEncoderWrites() throws {
        let viaText = try JSONValue.parse(JSONCoding.encoder.encode(Self.sample))
        #expect(try JSONValue(encoding: Self.sample) == viaText)
    }

    @Test func decodesWhatTheTextDecoderReads() throws {
        let tree = try JSONValue(encoding: Self.sample)
        let viaText = try JSONCoding.decoder.decode(Everything.self, from: Data(tree.serialized()))
        #expect(try tree.decode(Everything.self) == viaText)
        #expect(viaText == Self.sample)
    }

    @Test func refusalsNameThePathAsTheTextDecoderDoes() throws {
        var tree = try #require(try JSONValue(encoding: Self.sample).objectValue)
        func failure(_ change: (inout [String: JSONValue]) -> Void) -> String {
            var copy = tree
            change(&copy)
            do {
                _ = try JSONValue.object(copy).decode(Everything.self)
                return "decoded"
            } catch let error as DecodingError {
                switch error {
                case .keyNotFound(let key, let context): return (context.codingPath + [key]).map(\.stringValue).joined(separator: ".") + " missing"
                case .typeMismatch(_, let context): return context.codingPath.map(\.stringValue).joined(separator: ".") + " mismatch"
                case .valueNotFound(_, let context): return context.codingPath.map(\.stringValue).joined(separator: ".") + " null"
                case .dataCorrupted(let context): return context.codingPath.map(\.stringValue).joined(separator: ".") + " corrupted"
                @unknown default: return "?"
                }
            } catch {
                return "\(error)"
            }
        }
        #expect(failure { $0["title"] = nil } == "title missing")
        #expect(failure { $0["count"] = "three" } == "count mismatch")
        #expect(failure { $0["count"] = .double(1.5) } == "count corrupted")
        #expect(failure { $0["small"] = 300 } == "small corrupted")
        #expect(failure { $0["flag"] = .null } == "flag null")
        #expect(failure { $0["when"] = "2026-02-30T10:00:00Z" } == "when corrupted")
        #expect(failure { $0["impact"] = "huge" } == "impact corrupted")
        #expect(failure { $0["notes"] = [["text": "x"]] } == "notes.Index 0.at missing")
        tree["count"] = .double(4)
        #expect(try JSONValue.object(tree).decode(Everything.self).count == 4) // a whole number written as 4.0
    }

    @Test func refusesNumbersJSONCannotHold() {
        #expect(throws: EncodingError.self) { try JSONValue(encoding: ["x": Double.nan]) }
        #expect(throws: EncodingError.self) { try JSONValue(encoding: [Double.infinity]) }
    }
}
