import Crypto
import Foundation

/// Checks an evidence pack against its `SHA256SUMS`, the way `sha256sum -c` does, and also
/// names files added since: a pack shown later is the one exported, or the answer says how not.
public enum EvidenceManifest {
    public static let file = "SHA256SUMS"

    public struct Check: Sendable {
        /// Files whose SHA-256 matches the manifest.
        public var matching: Int
        /// The manifest's own SHA-256, as the audit log's `evidence.export` entry holds it.
        public var manifestSha256: String
        /// What does not match: a changed, missing or added file.
        public var problems: [String]
    }

    /// `names`: every file in the pack; `read`: a file's content.
    public static func check(names: [String], read: (String) throws -> [UInt8]) throws -> Check {
        guard names.contains(file) else { throw ZipError(description: "the pack has no \(file)") }
        let manifest = try read(file)
        var listed: [String: String] = [:]
        for line in String(decoding: manifest, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 64 else { throw ZipError(description: "\(file): '\(line.prefix(80))' is not '<sha256>  <file>'") }
            listed[String(parts[1].drop { $0 == " " || $0 == "*" })] = String(parts[0])
        }
        var check = Check(matching: 0, manifestSha256: SHA256.hex(manifest), problems: [])
        for name in listed.keys.sorted() {
            guard names.contains(name) else {
                check.problems.append("\(name): missing")
                continue
            }
            if SHA256.hex(try read(name)) == listed[name] { check.matching += 1 } else { check.problems.append("\(name): changed") }
        }
        for name in names.sorted() where name != file && listed[name] == nil { check.problems.append("\(name): not in \(file) (added)") }
        return check
    }

    /// A file name a pack may hold: flat, no hidden or parent names, so extracting it writes
    /// nowhere but the folder asked for.
    public static func isSafeName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && !name.contains("\\") && !name.hasPrefix(".") && !name.contains("\0")
    }
}
