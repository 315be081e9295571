import ArgumentParser
import Foundation
import ITSMProtocol

/// `itsm report evidence`: what an ISO/IEC 20000 auditor asks for, for a period, in one folder.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reports assembled from the running processes.",
        subcommands: [Evidence.self])

    struct Evidence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the evidence pack for a period: records with their full histories, the review pack, scorecards, the capacity plan.",
            discussion: """
                The folder gets index.html (clause by clause, linking what shows each clause met; docs/iso20000.md maps \
                the clauses), and for each process the records created before the end of the period and changed during \
                it: <process>.json (each record as 'get' answers it, history included), <process>.csv (one row per \
                record) and <process>-history.csv (one row per recorded change). A process that is not running is \
                named in the index instead. Needs a token that reads every process.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var client: ClientOptions

        @Option(help: "The first day of the period (YYYY-MM-DD, or an ISO 8601 instant).") var from: String
        @Option(help: "The day after the period (YYYY-MM-DD, or an ISO 8601 instant).") var to: String
        @Option(help: "The folder to create.") var output: String
        @Option(help: "Only these clauses (repeatable), e.g. --clause 8.6.1.") var clause: [String] = []

        /// A process's records: how to list them and read each one whole.
        struct Records {
            var name: String
            var clauses: [String]
            var list: String
            var get: String
            /// The member of a list item that identifies it to `get`, and the param it fills.
            var key: (member: String, param: String)
            var extra: [String: JSONValue] = [:]
        }

        static let records = [
            Records(name: "incidents", clauses: ["8.6.1", "8.6.2", "8.3.3"], list: "incident.list", get: "incident.get",
                    key: ("number", "number"), extra: ["history": true, "comments": true]),
            Records(name: "problems", clauses: ["8.6.3"], list: "problem.list", get: "problem.get", key: ("number", "number"),
                    extra: ["history": true]),
            Records(name: "suppliers", clauses: ["8.3.4"], list: "supplier.list", get: "supplier.get", key: ("number", "supplier"),
                    extra: ["history": true]),
            Records(name: "improvements", clauses: ["10.2"], list: "improvement.list", get: "improvement.get", key: ("number", "number")),
            Records(name: "nonconformities", clauses: ["10.1"], list: "nonconformity.list", get: "nonconformity.get",
                    key: ("number", "number"), extra: [:]),
        ]

        /// Documents: file, clauses, method, params, the result member that is the document (nil:
        /// the result as JSON), and whether the method takes the period (the capacity plan is of now).
        static let documents: [(file: String, clauses: [String], title: String, method: String, params: [String: JSONValue],
                                member: String?, forPeriod: Bool)] = [
            ("management-review.html", ["9.3", "9.1"], "Management review pack", "improvement.review_pack", ["format": "html"], "document", true),
            ("supplier-scorecards.json", ["8.3.4"], "Supplier scorecards", "supplier.scorecard", [:], nil, true),
            ("capacity-plan.md", ["8.4.3"], "Capacity plan, as of now", "capacity.plan", ["format": "markdown"], "document", false),
        ]

        func run() async throws {
            let (start, end) = (try Self.instant(from, "--from"), try Self.instant(to, "--to"))
            guard start < end else { throw ValidationError("--to must be after --from") }
            let folder = URL(fileURLWithPath: output).standardizedFileURL.path
            if let existing = try? FileManager.default.contentsOfDirectory(atPath: folder), !existing.isEmpty {
                throw ValidationError("\(folder) is not empty; give a new folder")
            }
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let api = try APIClient(options: client, configuration: try global.loadConfiguration())
            let period: [String: JSONValue] = ["from": .string(start.formatted(.iso8601)), "to": .string(end.formatted(.iso8601))]
            let wanted = { (clauses: [String]) in clause.isEmpty || !Set(clauses).isDisjoint(with: clause) }
            var sections: [(clauses: [String], line: String)] = []

            let methods = (try? await api.send("GET", path: "api/v1/methods").decode([MethodDescriptor].self)) ?? []
            for source in Self.records where wanted(source.clauses) {
                do {
                    let takes = Set(methods.first { $0.name == source.list }?.params?.properties?.keys.map { $0 } ?? [])
                    let written = try await write(source, takes: takes, api: api, start: start, end: end, into: folder)
                    sections.append((source.clauses, "\(written) \(source.name) with their histories: "
                        + "<a href=\"\(source.name).json\">JSON</a>, <a href=\"\(source.name).csv\">CSV</a>, "
                        + "<a href=\"\(source.name)-history.csv\">changes</a>"))
                } catch let error as ResponseError {
                    sections.append((source.clauses, "\(source.name): not included (\(Self.escape(error.message)))"))
                }
            }
            for document in Self.documents where wanted(document.clauses) {
                var params = document.params
                if document.forPeriod { params.merge(period) { _, range in range } }
                do {
                    let result = try await api.send("POST", path: "api/v1/rpc/\(document.method)", body: .object(params))
                    let text = document.member.flatMap { result[$0]?.stringValue } ?? String(decoding: result.serialized(), as: UTF8.self)
                    try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/" + document.file))
                    sections.append((document.clauses, "<a href=\"\(document.file)\">\(document.title)</a>"))
                } catch let error as ResponseError {
                    sections.append((document.clauses, "\(document.title): not included (\(Self.escape(error.message)))"))
                }
            }
            try Data(index(sections, start: start, end: end).utf8).write(to: URL(fileURLWithPath: folder + "/index.html"))
            print("evidence for \(start.formatted(.iso8601)) to \(end.formatted(.iso8601)) written to \(folder)/index.html")
        }

        /// Lists the records alive in the period (created before its end, changed during it),
        /// page by page when the list method takes `offset` (`takes`: its params), closed ones
        /// included when it takes `all`; reads each whole, and writes JSON and CSV. Returns how many.
        private func write(_ source: Records, takes: Set<String>, api: APIClient, start: Date, end: Date,
                           into folder: String) async throws -> Int {
            var items: [JSONValue] = []
            let filter: [String: JSONValue] = ["createdTo": .string(end.formatted(.iso8601)), "updatedFrom": .string(start.formatted(.iso8601))]
            var offset = 0
            while true {
                var params = filter
                if takes.contains("limit") { params["limit"] = 500 } // the most every list takes at once
                if takes.contains("offset") { params["offset"] = .int(Int64(offset)) }
                if takes.contains("all") { params["all"] = true }
                let page = try await api.send("POST", path: "api/v1/rpc/\(source.list)", body: .object(params))
                let found = page["items"]?.arrayValue ?? []
                items += found
                offset += found.count
                guard let total = page["total"]?.intValue, offset < total, !found.isEmpty else { break }
            }
            var records: [JSONValue] = []
            var historyRows: [[String]] = [["record", "at", "actor", "field", "old value", "new value"]]
            for item in items {
                guard let key = item[source.key.member]?.stringValue else { continue }
                var params = source.extra
                params[source.key.param] = .string(key)
                let record = try await api.send("POST", path: "api/v1/rpc/\(source.get)", body: .object(params))
                records.append(record)
                for change in record["history"]?.arrayValue ?? [] {
                    historyRows.append([key] + ["at", "actor", "field", "oldValue", "newValue"].map { member in
                        Self.cell(change[member] ?? change[Self.snakeCase(member)])
                    })
                }
            }
            let columns = (items.first?.objectValue ?? [:]).filter { plainText($0.value) != nil }.keys.sorted()
            let recordRows = [columns] + items.map { item in columns.map { Self.cell(item[$0]) } }
            try Data(JSONValue.array(records).serialized()).write(to: URL(fileURLWithPath: "\(folder)/\(source.name).json"))
            try Data(Self.csv(recordRows).utf8).write(to: URL(fileURLWithPath: "\(folder)/\(source.name).csv"))
            try Data(Self.csv(historyRows).utf8).write(to: URL(fileURLWithPath: "\(folder)/\(source.name)-history.csv"))
            return records.count
        }

        private func index(_ sections: [(clauses: [String], line: String)], start: Date, end: Date) -> String {
            let clauses = ["7.5", "8.3.3", "8.3.4", "8.4.3", "8.6.1", "8.6.2", "8.6.3", "9.1", "9.2", "9.3", "10.1", "10.2"]
                .filter { clause.isEmpty || clause.contains($0) }
            var html = """
                <!doctype html><html lang="en"><meta charset="utf-8"><title>Evidence \(start.formatted(.iso8601)) to \(end.formatted(.iso8601))</title>
                <h1>Evidence for \(start.formatted(.iso8601)) to \(end.formatted(.iso8601))</h1>
                <p>Generated \(Date().formatted(.iso8601)). Records are those created before the end of the period and changed during it, \
                each with its full history. docs/iso20000.md says which requirement each clause covers and which tests show it.</p>

                """
            for clause in clauses {
                let lines = sections.filter { $0.clauses.contains(clause) }.map(\.line)
                html += "<h2>\(clause)</h2>\n<ul>\n"
                html += lines.isEmpty ? "<li>No records in this pack for this clause.</li>\n" : lines.map { "<li>\($0)</li>\n" }.joined()
                html += "</ul>\n"
            }
            return html + "</html>\n"
        }

        static func instant(_ text: String, _ option: String) throws -> Date {
            if let date = try? Date(text, strategy: .iso8601) { return date }
            if let day = try? Date(text + "T00:00:00Z", strategy: .iso8601) { return day }
            throw ValidationError("\(option): a day (2026-10-01) or an ISO 8601 instant, not '\(text)'")
        }

        /// A member as a CSV field: a scalar as text, a list or record as JSON.
        static func cell(_ value: JSONValue?) -> String {
            value.map { plainText($0) ?? String(decoding: $0.serialized(), as: UTF8.self) } ?? ""
        }

        /// RFC 4180: every field quoted, quotes doubled; a leading formula character is
        /// neutralised so a spreadsheet shows the text instead of running it.
        static func csv(_ rows: [[String]]) -> String {
            rows.map { row in
                row.map { field in
                    let safe = field.first.map { "=+-@".contains($0) } == true ? "'" + field : field
                    return "\"" + safe.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                }.joined(separator: ",")
            }.joined(separator: "\r\n") + "\r\n"
        }

        static func snakeCase(_ name: String) -> String {
            name.reduce(into: "") { $0 += $1.isUppercase ? "_" + $1.lowercased() : String($1) }
        }

        static func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
    }
}
