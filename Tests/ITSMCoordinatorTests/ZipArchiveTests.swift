import Crypto
import Foundation
@testable import ITSMCoordinator
import Testing

/// The evidence pack's archive: what `ZipWriter` streams, `ZipReader` (and, in
/// EvidencePackEndToEndTests, Python's zipfile) reads back byte for byte.
@Suite struct ZipArchiveTests {
    struct Collected: ByteSink {
        var bytes: [UInt8] = []
        mutating func write(_ bytes: [UInt8]) async throws { self.bytes += bytes }
    }

    @Test func filesWrittenInPiecesReadBackWholeAndDamageIsFound() async throws {
        var random = SystemRandomNumberGenerator()
        let noise = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        let text = Array(String(repeating: "INC-000042,Mail down,resolved\n", count: 20_000).utf8)
        var zip = ZipWriter(sink: Collected())
        for (name, content) in [("noise.bin", noise), ("records.csv", text), ("empty.txt", [])] {
            try await zip.begin(name)
            // In uneven pieces, as a pack writes a file record by record.
            var start = 0
            while start < content.count {
                let end = min(content.count, start + 70_001)
                try await zip.write(Array(content[start..<end]))
                start = end
            }
            try await zip.end()
        }
        try await zip.finish()
        let bytes = zip.sink.bytes
        #expect(bytes.count < noise.count + text.count / 10) // the text deflates well

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("itsm-zip-\(UUID().uuidString).zip")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(bytes).write(to: file)
        let reader = try ZipReader(contentsOf: file)
        #expect(reader.entries.map(\.name) == ["noise.bin", "records.csv", "empty.txt"])
        #expect(try reader.contents(of: reader.entries[0]) == noise)
        #expect(try reader.contents(of: reader.entries[1]) == text)
        #expect(try reader.contents(of: reader.entries[2]).isEmpty)

        // One bit changed inside the first file's data is found, not returned; the others still read.
        var damaged = bytes
        damaged[bytes.count / 2] ^= 0x01
        try Data(damaged).write(to: file)
        let broken = try ZipReader(contentsOf: file)
        #expect(throws: ZipError.self) { _ = try broken.contents(of: broken.entries[0]) }
        #expect(try broken.contents(of: broken.entries[1]) == text)
        try Data(bytes.prefix(100)).write(to: file)
        #expect(throws: ZipError.self) { _ = try ZipReader(contentsOf: file) }
    }

    @Test func theIndexCountsRecordsInWords() {
        let sets = Dictionary(uniqueKeysWithValues: EvidencePack.records.map { ($0.name, $0) })
        #expect(sets["incidents"]?.counted(1) == "1 incident" && sets["incidents"]?.counted(2) == "2 incidents")
        #expect(sets["nonconformities"]?.counted(1) == "1 nonconformity")
        #expect(sets["management-reviews"]?.counted(1) == "1 management review" && sets["management-reviews"]?.counted(0) == "0 management reviews")
        #expect(EvidencePack.records.allSatisfy { !$0.counted(1).hasSuffix("s") })
    }

    @Test func theManifestNamesChangedMissingAndAddedFiles() throws {
        let files: [String: [UInt8]] = ["index.html": Array("<h1>Evidence</h1>".utf8), "incidents.csv": Array("\"number\"\r\n".utf8)]
        let manifest = files.keys.sorted().map { "\(SHA256.hex(files[$0]!))  \($0)\n" }.joined()
        var pack = files
        pack[EvidenceManifest.file] = Array(manifest.utf8)
        let intact = try EvidenceManifest.check(names: Array(pack.keys)) { pack[$0]! }
        #expect(intact.matching == 2 && intact.problems.isEmpty && intact.manifestSha256 == SHA256.hex(Array(manifest.utf8)))

        pack["incidents.csv"] = Array("\"number\"\r\n\"INC-1\"\r\n".utf8)
        pack["notes.txt"] = [1]
        pack["index.html"] = nil
        let changed = try EvidenceManifest.check(names: Array(pack.keys)) { pack[$0]! }
        #expect(changed.problems == ["incidents.csv: changed", "index.html: missing", "notes.txt: not in SHA256SUMS (added)"])
        #expect(!EvidenceManifest.isSafeName("../x") && !EvidenceManifest.isSafeName(".hidden") && EvidenceManifest.isSafeName("MR-0001-pack.html"))
    }
}
