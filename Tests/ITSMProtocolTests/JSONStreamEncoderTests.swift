import Foundation
import ITSMProtocol
import Testing

/// A typed result written straight to text must read back as the tree the tree encoder
/// builds, and whatever cannot be written in order must go through the tree.
@Suite struct JSONStreamEncoderTests {
    private func streamed(_ value: some Encodable) throws -> String { String(decoding: try RawJSON(encoding: value).bytes, as: UTF8.self) }

    @Test func writesWhatTheTreeHoldsInTheOrderItIsEncoded() throws {
        let sample = JSONValueCodingTests.sample
        #expect(try RawJSON(encoding: sample).parsed() == JSONValue(encoding: sample))
        struct Ordered: Encodable { var zebra = 1; var apple = "a"; var middle: [Int?] = [nil, 2]; var none: String? = nil }
        #expect(try streamed(Ordered()) == #"{"zebra":1,"apple":"a","middle":[null,2]}"#)
        // Scalars, empty values and nesting at the top.
        #expect(try streamed(5) == "5" && streamed("x\n") == #""x\n""# && streamed([[String]]()) == "[]")
        struct Nothing: Encodable { func encode(to encoder: any Encoder) throws {} }
        #expect(try streamed(Nothing()) == "{}" && streamed([Nothing(), Nothing()]) == "[{},{}]")
        #expect(try streamed(["k": JSONValue.object(["b": 1, "a": [true]])]) == #"{"k":{"a":[true],"b":1}}"#)
    }

    @Test func nestedContainersFilledInOrderAreWritten() throws {
        struct Nested: Encodable {
            enum Keys: String, CodingKey { case a, inner, list, b }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(1, forKey: .a)
                var inner = container.nestedContainer(keyedBy: Keys.self, forKey: .inner)
                try inner.encode("x", forKey: .a)
                var list = container.nestedUnkeyedContainer(forKey: .list)
                try list.encode(2)
                var deeper = list.nestedContainer(keyedBy: Keys.self)
                try deeper.encodeNil(forKey: .b)
                try container.encode(false, forKey: .b)
            }
        }
        #expect(try streamed(Nested()) == #"{"a":1,"inner":{"a":"x"},"list":[2,{"b":null}],"b":false}"#)
        #expect(try RawJSON(encoding: Nested()).parsed() == JSONValue(encoding: Nested()))
    }

    @Test func whatCannotBeWrittenInOrderGoesThroughTheTree() throws {
        // A nested container filled after its parent wrote on.
        struct Late: Encodable {
            enum Keys: String, CodingKey { case inner, after, value }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                var inner = container.nestedContainer(keyedBy: Keys.self, forKey: .inner)
                try container.encode(1, forKey: .after)
                try inner.encode(2, forKey: .value)
            }
        }
        // A class and its superclass, through a super encoder.
        class Base: Encodable { var base = 1 }
        final class Derived: Base {
            enum Keys: String, CodingKey { case own }
            override func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(2, forKey: .own)
                try super.encode(to: container.superEncoder())
            }
        }
        // Two scalars for one value.
        struct Twice: Encodable {
            func encode(to encoder: any Encoder) throws {
                var single = encoder.singleValueContainer()
                try single.encode(1)
                try single.encode(2)
            }
        }
        #expect(try RawJSON(encoding: Late()).parsed() == ["inner": ["value": 2], "after": 1])
        #expect(try RawJSON(encoding: Derived()).parsed() == ["own": 2, "super": ["base": 1]])
        #expect(try RawJSON(encoding: Twice()).parsed() == JSONValue(encoding: Twice()))
        // The same, with the refusal swallowed by the value itself.
        struct TwiceQuietly: Encodable {
            func encode(to encoder: any Encoder) throws {
                var single = encoder.singleValueContainer()
                try single.encode(1)
                try? single.encode(2)
            }
        }
        #expect(try RawJSON(encoding: [TwiceQuietly()]).parsed() == JSONValue(encoding: [TwiceQuietly()]))
    }

    @Test func refusesNumbersJSONCannotHoldAsTheTreeDoes() {
        #expect(throws: EncodingError.self) { try RawJSON(encoding: ["x": Double.nan]) }
        #expect(throws: EncodingError.self) { try RawJSON(encoding: [Double.infinity]) }
    }
}
