import CZlib
import Foundation

/// Where a zip archive's bytes go as they are produced: an HTTP response, a file.
public protocol ByteSink {
    mutating func write(_ bytes: [UInt8]) async throws
}

public struct ZipError: Error, CustomStringConvertible {
    public var description: String
}

/// A zip archive (PKWARE APPNOTE 6.3.x) written front to back: each file deflated as it comes,
/// its CRC-32 and sizes in a data descriptor after its data, the central directory at the end.
/// Nothing is sought back to, so an archive streams into an HTTP response. Files are flat
/// (no folders) and under 4 GiB each; names are UTF-8.
public struct ZipWriter<Sink: ByteSink> {
    public private(set) var sink: Sink
    private var offset: UInt64 = 0
    private var written: [Entry] = []
    private var current: (entry: Entry, deflater: Deflater)?
    private let (dosTime, dosDate): (UInt16, UInt16)

    struct Entry {
        var name: [UInt8]
        var offset: UInt64
        var crc: UInt32 = 0
        var size: UInt64 = 0
        var compressed: UInt64 = 0
    }

    public init(sink: Sink, modified: Date = Date()) {
        self.sink = sink
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: modified)
        dosTime = UInt16(parts.hour! << 11 | parts.minute! << 5 | parts.second! / 2)
        dosDate = UInt16(max(0, parts.year! - 1980) << 9 | parts.month! << 5 | parts.day!)
    }

    public mutating func begin(_ name: String) async throws {
        precondition(current == nil, "end the file before beginning another")
        let entry = Entry(name: Array(name.utf8), offset: offset)
        var header = Bytes()
        header.u32(0x0403_4b50)
        header.u16(20) // version needed: deflate
        header.u16(Self.flags)
        header.u16(8) // deflate
        header.u16(dosTime)
        header.u16(dosDate)
        header.u32(0)
        header.u32(0)
        header.u32(0) // CRC and sizes follow the data
        header.u16(UInt16(entry.name.count))
        header.u16(0)
        header.bytes += entry.name
        try await emit(header.bytes)
        current = (entry, try Deflater())
    }

    public mutating func write(_ bytes: [UInt8]) async throws {
        guard case (var entry, let deflater)? = current else { preconditionFailure("begin a file first") }
        entry.crc = bytes.withUnsafeBufferPointer { UInt32(crc32(UInt(entry.crc), $0.baseAddress, UInt32($0.count))) }
        entry.size += UInt64(bytes.count)
        let compressed = try deflater.deflate(bytes, finish: false)
        entry.compressed += UInt64(compressed.count)
        current = (entry, deflater)
        guard entry.size < UInt64(UInt32.max) else { throw ZipError(description: "a file over 4 GiB does not fit a zip archive without zip64") }
        try await emit(compressed)
    }

    public mutating func end() async throws {
        guard case (var entry, let deflater)? = current else { preconditionFailure("begin a file first") }
        let rest = try deflater.deflate([], finish: true)
        entry.compressed += UInt64(rest.count)
        try await emit(rest)
        var descriptor = Bytes()
        descriptor.u32(0x0807_4b50)
        descriptor.u32(entry.crc)
        descriptor.u32(UInt32(entry.compressed))
        descriptor.u32(UInt32(entry.size))
        try await emit(descriptor.bytes)
        written.append(entry)
        current = nil
    }

    /// Writes the central directory; the archive is complete.
    public mutating func finish() async throws {
        precondition(current == nil, "end the file before finishing")
        let start = offset
        var directory = Bytes()
        for entry in written {
            directory.u32(0x0201_4b50)
            directory.u16(0x031e) // made by: Unix, zip 3.0 (so the mode below is read)
            directory.u16(20)
            directory.u16(Self.flags)
            directory.u16(8)
            directory.u16(dosTime)
            directory.u16(dosDate)
            directory.u32(entry.crc)
            directory.u32(UInt32(entry.compressed))
            directory.u32(UInt32(entry.size))
            directory.u16(UInt16(entry.name.count))
            directory.u16(0)
            directory.u16(0)
            directory.u16(0)
            directory.u16(0)
            directory.u32(0o100644 << 16) // a regular file, rw-r--r--
            directory.u32(UInt32(entry.offset))
            directory.bytes += entry.name
        }
        let size = directory.bytes.count
        directory.u32(0x0605_4b50)
        directory.u16(0)
        directory.u16(0)
        directory.u16(UInt16(written.count))
        directory.u16(UInt16(written.count))
        directory.u32(UInt32(size))
        directory.u32(UInt32(start))
        directory.u16(0)
        guard start < UInt64(UInt32.max), written.count < Int(UInt16.max) else {
            throw ZipError(description: "the archive is over 4 GiB or 65,535 files, which needs zip64")
        }
        try await emit(directory.bytes)
    }

    /// Bit 3: sizes and CRC in a data descriptor; bit 11: UTF-8 names.
    private static var flags: UInt16 { 1 << 3 | 1 << 11 }

    private mutating func emit(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        offset += UInt64(bytes.count)
        try await sink.write(bytes)
    }
}

/// Reads the archives `ZipWriter` writes (and other plain ones): the central directory, then
/// each file inflated and checked against its CRC-32.
public struct ZipReader {
    public struct Entry {
        public var name: String
        var method: UInt16
        var crc: UInt32
        var compressed: UInt64
        var size: UInt64
        var offset: UInt64
    }

    public let entries: [Entry]
    private let data: Data

    public init(contentsOf url: URL) throws {
        data = try Data(contentsOf: url, options: .alwaysMapped)
        // The end record is in the last 22 bytes plus at most a 64 KiB comment.
        var end = data.count - 22
        while end >= max(0, data.count - 22 - 65_535), Self.u32(data, end) != 0x0605_4b50 { end -= 1 }
        guard end >= 0, data.count >= 22 else { throw ZipError(description: "not a zip archive (no end of central directory)") }
        let count = Int(Self.u16(data, end + 10))
        var position = Int(Self.u32(data, end + 16))
        var entries: [Entry] = []
        for _ in 0..<count {
            guard position + 46 <= data.count, Self.u32(data, position) == 0x0201_4b50 else {
                throw ZipError(description: "the central directory is damaged")
            }
            let nameLength = Int(Self.u16(data, position + 28))
            let skip = nameLength + Int(Self.u16(data, position + 30)) + Int(Self.u16(data, position + 32))
            guard position + 46 + nameLength <= data.count else { throw ZipError(description: "the central directory is damaged") }
            entries.append(Entry(name: String(decoding: data[(position + 46)..<(position + 46 + nameLength)], as: UTF8.self),
                                 method: Self.u16(data, position + 10), crc: Self.u32(data, position + 16),
                                 compressed: UInt64(Self.u32(data, position + 20)), size: UInt64(Self.u32(data, position + 24)),
                                 offset: UInt64(Self.u32(data, position + 42))))
            position += 46 + skip
        }
        self.entries = entries
    }

    /// The file's content, inflated and checked against its CRC-32.
    public func contents(of entry: Entry) throws -> [UInt8] {
        let header = Int(entry.offset)
        guard header + 30 <= data.count, Self.u32(data, header) == 0x0403_4b50 else {
            throw ZipError(description: "\(entry.name): its local header is damaged")
        }
        let start = header + 30 + Int(Self.u16(data, header + 26)) + Int(Self.u16(data, header + 28))
        guard start + Int(entry.compressed) <= data.count else { throw ZipError(description: "\(entry.name): the archive is cut short") }
        // An evidence pack's files are far smaller; a claim beyond this is a damaged or hostile archive.
        guard entry.size <= 1 << 30 else { throw ZipError(description: "\(entry.name): over 1 GiB, more than a pack holds") }
        let stored = Array(data[start..<(start + Int(entry.compressed))])
        let bytes: [UInt8]
        switch entry.method {
        case 0: bytes = stored
        case 8: bytes = try Inflater().inflate(stored, expected: Int(entry.size))
        default: throw ZipError(description: "\(entry.name): compression method \(entry.method) is not supported")
        }
        let crc = bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        guard bytes.count == Int(entry.size), crc == entry.crc else {
            throw ZipError(description: "\(entry.name): its content does not match its CRC-32 (the archive is damaged)")
        }
        return bytes
    }

    private static func u16(_ data: Data, _ at: Int) -> UInt16 {
        UInt16(data[data.startIndex + at]) | UInt16(data[data.startIndex + at + 1]) << 8
    }

    private static func u32(_ data: Data, _ at: Int) -> UInt32 {
        UInt32(u16(data, at)) | UInt32(u16(data, at + 2)) << 16
    }
}

/// Little-endian fields, as zip records are laid out.
private struct Bytes {
    var bytes: [UInt8] = []
    mutating func u16(_ value: UInt16) { bytes += [UInt8(value & 0xff), UInt8(value >> 8)] }
    mutating func u32(_ value: UInt32) { u16(UInt16(value & 0xffff)); u16(UInt16(value >> 16)) }
}

/// A raw deflate stream (no zlib header, as zip stores it). The stream lives at a fixed
/// address: zlib keeps a pointer back to it.
private final class Deflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)

    init() throws {
        stream.initialize(to: z_stream())
        guard deflateInit2_(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                            Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            throw ZipError(description: "zlib could not start deflating")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    func deflate(_ input: [UInt8], finish: Bool) throws -> [UInt8] {
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var input = input
        try input.withUnsafeMutableBufferPointer { source in
            stream.pointee.next_in = source.baseAddress
            stream.pointee.avail_in = UInt32(source.count)
            while true {
                let status = buffer.withUnsafeMutableBufferPointer { target in
                    stream.pointee.next_out = target.baseAddress
                    stream.pointee.avail_out = UInt32(target.count)
                    return CZlib.deflate(stream, finish ? Z_FINISH : Z_NO_FLUSH)
                }
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    throw ZipError(description: "zlib could not deflate (status \(status))")
                }
                output += buffer[..<(buffer.count - Int(stream.pointee.avail_out))]
                // Done when the input is taken and the output had room left (or, finishing, at the end).
                if finish ? status == Z_STREAM_END : stream.pointee.avail_out != 0 { break }
            }
        }
        return output
    }
}

private final class Inflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)

    init() throws {
        stream.initialize(to: z_stream())
        guard inflateInit2_(stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            throw ZipError(description: "zlib could not start inflating")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    func inflate(_ input: [UInt8], expected: Int) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: max(expected, 1))
        var input = input
        let (status, produced) = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.pointee.next_in = source.baseAddress
                stream.pointee.avail_in = UInt32(source.count)
                stream.pointee.next_out = target.baseAddress
                stream.pointee.avail_out = UInt32(target.count)
                let status = CZlib.inflate(stream, Z_FINISH)
                return (status, target.count - Int(stream.pointee.avail_out))
            }
        }
        guard status == Z_STREAM_END else { throw ZipError(description: "the compressed data is damaged (zlib status \(status))") }
        return Array(output[..<produced])
    }
}
