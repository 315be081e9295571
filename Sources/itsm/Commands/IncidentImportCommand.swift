import ArgumentParser
import Foundation
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
            var options: [String: JSONValue] = ["skipInvalid": .bool(skipInvalid)]
            if let mapping {
                guard let value = try? JSONValue.parse(mapping.utf8), value.objectValue != nil else {
                    throw ValidationError("--mapping must be a JSON object")
                }
                options["mapping"] = value
            }
            options["scale"] = scale.map(JSONValue.string)
            options["timeZone"] = timeZone.map(JSONValue.string)

            let started = ContinuousClock.now
            let begun = try await connection.call("incident.import.begin", ["columns": .array(header.map(JSONValue.string)),
                                                                             "options": .object(options)])
            guard let importID = begun["importId"]?.stringValue else { throw ValidationError("the coordinator did not start an import") }
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
                let batch = rows[next..<end].map { JSONValue.array($0.map(JSONValue.string)) }
                _ = try await connection.call("incident.import.rows", [
                    "importId": .string(importID), "firstRow": .int(Int64(next + 2)), "rows": .array(batch),
                ])
                next = end
                progress.update(next)
            }
            progress.finish()
            FileHandle.standardError.write(Data("validating and importing \(rows.count) rows...\n".utf8))
            let report = try await connection.call("incident.import.commit", ["importId": .string(importID)])
            let elapsed = ContinuousClock.now - started
            let seconds = elapsed.inSeconds
            if connection.client.json { return print(compact(report)) }

            let imported = report["imported"]?.intValue ?? 0
            let rejectedCount = report["rejectedCount"]?.intValue ?? 0
            for rejection in (report["rejected"]?.arrayValue ?? []).prefix(20) {
                print("row \(rejection["row"]?.intValue ?? 0): \(rejection["reason"]?.stringValue ?? "")")
            }
            if rejectedCount > 20 { print("... and \(rejectedCount - 20) more rejected rows (--json lists the first 1000)") }
            if report["status"]?.stringValue == "rejected" {
                print("nothing imported: \(rejectedCount) of \(rows.count) rows are invalid; fix them, or pass --skip-invalid")
                throw ExitStatus.refused
            }
            let range = [report["firstNumber"]?.stringValue, report["lastNumber"]?.stringValue].compactMap { $0 }.joined(separator: " … ")
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
