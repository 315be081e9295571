/// Splits a byte stream into `\n`-terminated lines, with a hard cap on line length.
///
/// A line longer than `maxLineBytes` is never buffered whole: the framer reports it once as
/// `.oversized` and skips bytes up to its newline, so a misbehaving peer cannot make the
/// reader allocate without bound. A trailing `\r` is dropped.
public struct LineFramer: Sendable {
    public enum Frame: Sendable, Hashable {
        case line([UInt8])
        /// A line over the limit was dropped; `byteCount` counts what was seen of it.
        case oversized(byteCount: Int)
    }

    public let maxLineBytes: Int
    private var buffer: [UInt8] = []
    private var discardedBytes: Int? // non-nil while skipping an oversized line

    public init(maxLineBytes: Int) {
        precondition(maxLineBytes > 0)
        self.maxLineBytes = maxLineBytes
    }

    /// Feeds bytes and returns the frames they complete.
    public mutating func append(_ bytes: some Collection<UInt8>) -> [Frame] {
        var frames: [Frame] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            let newline = rest.firstIndex(of: UInt8(ascii: "\n"))
            let chunk = rest[..<(newline ?? rest.endIndex)]
            if let discarded = discardedBytes {
                discardedBytes = discarded + chunk.count
            } else if buffer.count + chunk.count > maxLineBytes + 1 { // +1 tolerates a trailing \r
                discardedBytes = buffer.count + chunk.count
                buffer.removeAll(keepingCapacity: false)
            } else {
                buffer.append(contentsOf: chunk)
            }
            guard let newline else { break }
            frames.append(finishLine())
            rest = rest[rest.index(after: newline)...]
        }
        return frames
    }

    /// At end of input: a last line without its newline still counts.
    public mutating func finish() -> [Frame] {
        guard !buffer.isEmpty || discardedBytes != nil else { return [] }
        return [finishLine()]
    }

    private mutating func finishLine() -> Frame {
        if let discarded = discardedBytes {
            discardedBytes = nil
            return .oversized(byteCount: discarded)
        }
        if buffer.last == UInt8(ascii: "\r") { buffer.removeLast() }
        if buffer.count > maxLineBytes {
            let count = buffer.count
            buffer.removeAll(keepingCapacity: false)
            return .oversized(byteCount: count)
        }
        defer { buffer.removeAll(keepingCapacity: true) }
        return .line(buffer)
    }
}
