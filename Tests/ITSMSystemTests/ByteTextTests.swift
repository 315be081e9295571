import Foundation
import ITSMSystem
import Testing

@Suite struct ByteTextTests {
    @Test func hexIsTwoLowercaseDigitsPerByte() {
        #expect(ByteText.hex([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(ByteText.hex([]) == "")
    }

    @Test func base64URLMatchesFoundationsAlphabetSwappedAndUnpadded() {
        var generator = SystemRandomNumberGenerator()
        for count in 0...40 {
            let bytes = (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let expected = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(ByteText.base64URL(bytes) == expected)
            #expect(ByteText.bytes(base64URL: expected) == bytes)
        }
        #expect(ByteText.base64URL([0xfb, 0xff]) == "-_8")
    }

    @Test func decodingRefusesOtherCharactersAndImpossibleLengths() {
        #expect(ByteText.bytes(base64URL: "ab+c") == nil)
        #expect(ByteText.bytes(base64URL: "abc=") == nil)
        #expect(ByteText.bytes(base64URL: "abcde") == nil)
        #expect(ByteText.bytes(base64URL: "é") == nil)
    }

    @Test func randomBytesHaveTheCountAskedFor() {
        #expect(ByteText.random(count: 13).count == 13)
        #expect(ByteText.random(count: 32) != ByteText.random(count: 32))
    }
}
