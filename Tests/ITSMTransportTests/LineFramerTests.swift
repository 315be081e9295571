import ITSMTransport
import Testing

@Suite struct LineFramerTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func splitsLinesAcrossChunks() {
        var framer = LineFramer(maxLineBytes: 100)
        #expect(framer.append(bytes("{\"a\":")) == [])
        #expect(framer.append(bytes("1}\n{\"b\":2}\n{\"c\"")) == [.line(bytes("{\"a\":1}")), .line(bytes("{\"b\":2}"))])
        #expect(framer.append(bytes(":3}\r\n")) == [.line(bytes("{\"c\":3}"))])
        #expect(framer.finish() == [])
    }

    @Test func dropsAnOversizedLineAndKeepsGoing() {
        var framer = LineFramer(maxLineBytes: 8)
        #expect(framer.append(bytes("12345678\n")) == [.line(bytes("12345678"))])
        #expect(framer.append(bytes("123456789")) == [])
        #expect(framer.append(bytes("0123456789")) == [])
        #expect(framer.append(bytes("end\nok\n")) == [.oversized(byteCount: 22), .line(bytes("ok"))])
    }

    @Test func oversizedInOneChunk() {
        var framer = LineFramer(maxLineBytes: 4)
        #expect(framer.append(bytes("abcdefgh\nxy\n")) == [.oversized(byteCount: 8), .line(bytes("xy"))])
    }

    @Test func lastLineWithoutNewlineCountsAtEnd() {
        var framer = LineFramer(maxLineBytes: 10)
        #expect(framer.append(bytes("a\nb")) == [.line(bytes("a"))])
        #expect(framer.finish() == [.line(bytes("b"))])
    }
}
