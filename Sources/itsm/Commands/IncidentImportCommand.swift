import ArgumentParser
import Foundation
import IncidentProtocol
import ITSMProtocol
import ITSMSystem

extension IncidentCommand {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import records from a CSV export (ServiceNow, GLPI, or any with a mapping).",
            discussion: """
                Rows are staged in batches, then committed at once: if any row is invalid nothing is \
                imported and every bad row is listed with its reason, unless --skip-invalid. \
                Example: itsm incident import export.csv --mapping '{"title": "Subject"}' --scale glpi
                """)

        @OptionGroup var connection: APIConnection
        @Argument(help: "The CSV file; its first line names the columns.") var file: String
        @Option(help: "Our field to CSV column, as JSON, e.g. '{\"title\": \"Subject\", \"caller\": \"Requester\"}'.")
        var mapping: String?
        @Option(help: "servicenow (1 = high; default) or glpi (5 = very high) for numeric impact, urgency and status.")
        var scale: String?
        @Option(help: "The time zone of dates without an offset (default UTC).") var timeZone: String?
        @Flag(help: "Import the valid rows and report the invalid ones.") var skipInvalid = false
        @Option(help: "Rows per request while staging.") var batchRows = 2000

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            let records: [[String]]
            do {
                records = try CSVReader.records(Array(data))
            } catch {
                throw ValidationError("\(file): \(error)")
            }
            guard let header = records.first, records.count > 1 else { throw ValidationError("\(file) has no rows after its header") }
            var options = ImportOptions(scale: try scale.map { try choice(ImportOptions.Scale.self, $0, "--scale") }, timeZone: timeZone,
                                        skipInvalid: skipInvalid)
            if let mapping {
                guard let fields = try? JSONDecoder().decode([String: String].self, from: Data(mapping.utf8)) else {
                    throw ValidationError("--mapping must be a JSON object of our field names to CSV column names")
                }
                options.mapping = fields
            }

            let started = ContinuousClock.now
            let importID = try await connection.call(IncidentMethods.beginImport, BeginImport(columns: header, options: options)).value.importId
            let rows = Array(records.dropFirst())
            let progress = ProgressBar(total: rows.count, label: "staging")
            var next = 0
            while next < rows.count {
                // Batches stay well under the protocol's line limit, however long the rows.
                var end = next
                var bytes = 0
                while end < rows.count, end - next < batchRows, bytes < 600_000 {
                    bytes += rows[end].reduce(16) { $0 + $1.utf8.count + 4 }
                    end += 1
                }
                _ = try await connection.call(IncidentMethods.stageImportRows,
                                              StageImportRows(importId: importID, firstRow: next + 2, rows: Array(rows[next..<end])))
                next = end
                progress.update(next)
            }
            progress.finish()
            FileHandle.standardError.write(Data("validating and importing \(rows.count) rows...\n".utf8))
            let answer = try await connection.call(IncidentMethods.commitImport, CommitImport(importId: importID))
            let seconds = (ContinuousClock.now - started).inSeconds
            if connection.client.json { return print(compact(answer.json)) }

            let report = answer.value
            let (imported, rejectedCount) = (report.imported, report.rejectedCount)
            for rejection in report.rejected.prefix(20) { print("row \(rejection.row): \(rejection.reason)") }
            if rejectedCount > 20 { print("... and \(rejectedCount - 20) more rejected rows (--json lists the first 1000)") }
            if report.status == "rejected" {
                print("nothing imported: \(rejectedCount) of \(rows.count) rows are invalid; fix them, or pass --skip-invalid")
                throw ExitStatus.refused
            }
            let range = [report.firstNumber, report.lastNumber].compactMap { $0 }.joined(separator: " … ")
            print("imported \(imported) records\(range.isEmpty ? "" : " (\(range))")"
                  + (rejectedCount > 0 ? ", skipped \(rejectedCount) invalid rows" : "")
                  + String(format: " in %.1f s: %.0f rows/s", seconds, Double(rows.count) / max(seconds, 0.001)))
        }
    }
}

/// A progress bar on stderr when it is a terminal, a line per tenth otherwise.
final class ProgressBar {
    private let total: Int
    private let label: String
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var lastTenth = -1

    init(total: Int, label: String) {
        self.total = max(total, 1)
        self.label = label
    }

    func update(_ done: Int) {
        let fraction = Double(done) / Double(total)
        if isTerminal {
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
            FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(Int(fraction * 100))% \(done)/\(total)".utf8))
        } else if Int(fraction * 10) > lastTenth {
            lastTenth = Int(fraction * 10)
            FileHandle.standardError.write(Data("\(label): \(done)/\(total)\n".utf8))
        }
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
