import ArgumentParser
import Foundation
import ITSMCoordinator
import ITSMProtocol

/// `itsm report evidence` and `itsm report verify`: what an ISO/IEC 20000 auditor asks for, for
/// a period, and a check later that it is what was exported.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reports assembled from the running processes.",
        subcommands: [Evidence.self, Verify.self])

    struct Evidence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the evidence pack for a period: records with their full histories, figures, reviews, audits, the audit log.",
            discussion: """
                The coordinator assembles the pack (GET /api/v1/evidence) with your permissions. Give --output a name \
                ending in .zip to keep the archive as it came, or a new folder to unpack it there; either way each \
                file is checked against the pack's SHA256SUMS. Open index.html: clause by clause, it links the \
                records of the period (those created before its end and changed during it, each with its whole \
                history, as JSON, CSV and a page), the figures, the management review pack and the reviews held, \
                the internal audits and the programme, supplier scorecards, the capacity plan and the audit log. \
                docs/iso20000.md maps the clauses.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var client: ClientOptions

        @Option(help: "The first day of the period (YYYY-MM-DD, or an ISO 8601 instant).") var from: String
        @Option(help: "The day after the period (YYYY-MM-DD, or an ISO 8601 instant).") var to: String
        @Option(help: "A new folder, or a file name ending in .zip.") var output: String
        @Option(help: "Only these clauses (repeatable), e.g. --clause 8.6.1.") var clause: [String] = []

        func run() async throws {
            let (start, end) = (try Self.instant(from, "--from"), try Self.instant(to, "--to"))
            guard start < end else { throw ValidationError("--to must be after --from") }
            let target = URL(fileURLWithPath: output).standardizedFileURL
            let asZip = target.pathExtension == "zip"
            if asZip ? FileManager.default.fileExists(atPath: target.path)
                     : !((try? FileManager.default.contentsOfDirectory(atPath: target.path))?.isEmpty ?? true) {
                throw ValidationError("\(target.path) exists; give a new \(asZip ? "file" : "folder")")
            }
            let api = try APIClient(options: client, configuration: try global.loadConfiguration())
            let archive = asZip ? target : target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).zip.part")
            defer { if !asZip { try? FileManager.default.removeItem(at: archive) } }
            let query = [URLQueryItem(name: "from", value: start.formatted(.iso8601)), URLQueryItem(name: "to", value: end.formatted(.iso8601))]
                + clause.map { URLQueryItem(name: "clause", value: $0) }
            let showProgress = isatty(STDERR_FILENO) == 1
            var shown = Date.distantPast
            do {
                try await api.download(path: "api/v1/evidence", query: query, to: archive) { bytes in
                    guard showProgress, Date().timeIntervalSince(shown) > 0.2 else { return }
                    shown = Date()
                    FileHandle.standardError.write(Data("\rassembling the pack: \(Self.size(bytes)) received ".utf8))
                }
            } catch let error as ResponseError {
                throw report(error)
            }
            if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }

            let zip = try ZipReader(contentsOf: archive)
            let names = zip.entries.map(\.name)
            let check = try EvidenceManifest.check(names: names) { name in try zip.contents(of: zip.entries.first { $0.name == name }!) }
            guard check.problems.isEmpty else {
                throw ValidationError("the pack does not match its manifest: \(check.problems.joined(separator: "; "))")
            }
            var written = target.path
            if !asZip {
                try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                for entry in zip.entries {
                    guard EvidenceManifest.isSafeName(entry.name) else { throw ValidationError("the pack holds an unsafe file name '\(entry.name)'") }
                    try Data(try zip.contents(of: entry)).write(to: target.appendingPathComponent(entry.name))
                }
                written += "/index.html"
            }
            print("evidence for \(start.formatted(.iso8601)) to \(end.formatted(.iso8601)) written to \(written): "
                  + "\(check.matching) files, each matching SHA256SUMS (its SHA-256: \(check.manifestSha256))")
        }

        static func instant(_ text: String, _ option: String) throws -> Date {
            if let date = try? Date(text, strategy: .iso8601) { return date }
            if let day = try? Date(text + "T00:00:00Z", strategy: .iso8601) { return day }
            throw ValidationError("\(option): a day (2026-10-01) or an ISO 8601 instant, not '\(text)'")
        }

        static func size(_ bytes: Int) -> String {
            bytes < 1 << 20 ? "\(bytes / 1024) KiB" : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check an evidence pack (a folder or a .zip) against its SHA256SUMS.",
            discussion: """
                Names every file changed, missing or added since the pack was exported, and prints the SHA-256 of \
                SHA256SUMS: the audit log's evidence.export entry for the export holds the same value \
                (itsm audit --action evidence.export).
                """)

        @Argument(help: "The pack: a folder or a .zip archive.") var pack: String

        func run() async throws {
            let url = URL(fileURLWithPath: pack).standardizedFileURL
            let check: EvidenceManifest.Check
            if url.pathExtension == "zip" {
                let zip = try ZipReader(contentsOf: url)
                check = try EvidenceManifest.check(names: zip.entries.map(\.name)) { name in
                    try zip.contents(of: zip.entries.first { $0.name == name }!)
                }
            } else {
                let names = try FileManager.default.contentsOfDirectory(atPath: url.path)
                check = try EvidenceManifest.check(names: names) { name in Array(try Data(contentsOf: url.appendingPathComponent(name))) }
            }
            guard check.problems.isEmpty else {
                for problem in check.problems { print("✘ \(problem)") }
                print("\(check.problems.count) \(check.problems.count == 1 ? "difference" : "differences") from SHA256SUMS (its SHA-256: \(check.manifestSha256))")
                throw ExitStatus.refused
            }
            print("\(check.matching) files match SHA256SUMS; its SHA-256 is \(check.manifestSha256)")
        }
    }
}
