import Crypto
import Foundation
import ITSMProtocol

/// What an ISO/IEC 20000 auditor asks for, for a period, in one archive: an index clause by
/// clause (docs/iso20000.md maps the clauses); for each process the records created before the
/// end of the period and changed during it, each with its whole history (JSON, CSV, and a page
/// to read); the figures of the period, the management review pack, supplier scorecards, the
/// capacity plan, the audit programme, the audit log of the period with the state of its hash
/// chain; and `SHA256SUMS`, the SHA-256 of every file, so the pack can be shown unaltered later.
///
/// Everything is read through the methods the processes declare, for the person asking, with
/// their permissions: what they may not read is named in the index as not included.
struct EvidencePack {
    var from: Date
    var to: Date
    /// Only these clauses; all of them when empty.
    var clauses: [String] = []

    /// The clauses a pack covers, in the order docs/iso20000.md has them.
    static let allClauses = ["7.5", "8.3.3", "8.3.4", "8.4.3", "8.6.1", "8.6.2", "8.6.3", "9.1", "9.2", "9.3", "10.1", "10.2"]

    /// Where the pack's content comes from: the processes' methods, as the requester may call
    /// them, and the audit log when they may read it.
    struct Source: Sendable {
        var call: @Sendable (String, JSONValue) async throws(ResponseError) -> JSONValue
        var listParams: @Sendable (String) -> Set<String>
        var audit: AuditLog?
    }

    /// A process's records: how to list them and read each one whole.
    struct Records {
        var name: String
        var clauses: [String]
        var list: String
        var get: String
        /// The member of a list item that identifies it to `get`, and the param it fills.
        var key: (member: String, param: String)
        var extra: [String: JSONValue] = [:]

        /// `1 incident`, `2 incidents`, `3 management reviews`: how many, as the index says it.
        func counted(_ count: Int) -> String {
            let plural = name.replacingOccurrences(of: "-", with: " ")
            guard count == 1 else { return "\(count) \(plural)" }
            return "1 " + (plural.hasSuffix("ies") ? plural.dropLast(3) + "y" : String(plural.dropLast()))
        }
    }

    static let records = [
        Records(name: "incidents", clauses: ["8.6.1", "8.6.2", "8.3.3"], list: "incident.list", get: "incident.get",
                key: ("number", "number"), extra: ["history": true, "comments": true]),
        Records(name: "problems", clauses: ["8.6.3"], list: "problem.list", get: "problem.get", key: ("number", "number"),
                extra: ["history": true]),
        Records(name: "suppliers", clauses: ["8.3.4"], list: "supplier.list", get: "supplier.get", key: ("number", "supplier"),
                extra: ["history": true]),
        Records(name: "improvements", clauses: ["10.2"], list: "improvement.list", get: "improvement.get", key: ("number", "number")),
        Records(name: "nonconformities", clauses: ["10.1"], list: "nonconformity.list", get: "nonconformity.get", key: ("number", "number")),
        Records(name: "internal-audits", clauses: ["9.2"], list: "internal_audit.list", get: "internal_audit.get", key: ("number", "number")),
        Records(name: "management-reviews", clauses: ["9.3"], list: "management_review.list", get: "management_review.get",
                key: ("number", "number"), extra: ["pack": true]),
        Records(name: "requests", clauses: ["8.6.2"], list: "request.list", get: "request.get", key: ("number", "number"),
                extra: ["history": true]),
    ]

    /// A document: its file, clauses, title, method and params; the result member that is the
    /// document (nil: the result as JSON); whether the method takes the period.
    struct Document {
        var file: String
        var clauses: [String]
        var title: String
        var method: String
        var params: [String: JSONValue] = [:]
        var member: String?
        var forPeriod: Bool
    }

    static let documents = [
        Document(file: "management-review-pack.html", clauses: ["9.3", "9.1"], title: "Management review pack for the period",
                 method: "improvement.review_pack", params: ["format": "html"], member: "document", forPeriod: true),
        Document(file: "supplier-scorecards.json", clauses: ["8.3.4"], title: "Supplier scorecards", method: "supplier.scorecard", forPeriod: true),
        Document(file: "capacity-plan.md", clauses: ["8.4.3"], title: "Capacity plan, as of now", method: "capacity.plan",
                 params: ["format": "markdown"], member: "document", forPeriod: false),
        Document(file: "service-catalogue.json", clauses: ["8.3.3", "8.6.2"], title: "Service catalogue, as of now", method: "service.list",
                 forPeriod: false),
        Document(file: "request-catalogue.json", clauses: ["8.6.2"], title: "Request catalogue, as of now", method: "request_item.list",
                 params: ["includeInactive": true], forPeriod: false),
        Document(file: "customers.json", clauses: ["8.3.3"], title: "Customers and their contacts, as of now", method: "customer.list",
                 forPeriod: false),
        Document(file: "agreements.json", clauses: ["8.3.3"], title: "Service level agreements, as of now", method: "agreement.list",
                 forPeriod: false),
        Document(file: "service-reviews.json", clauses: ["8.3.3"], title: "Service reviews and their actions", method: "service_review.list",
                 forPeriod: false),
    ]

    /// The processes whose `<process>.stats` make the figures of the period.
    static let figures = ["incident", "problem", "supplier", "capacity", "improvement"]

    /// A line of the index under the clauses it shows.
    private struct Section {
        var clauses: [String]
        var html: String
    }

    /// Writes the pack into `zip`; returns the files and their SHA-256, the manifest last.
    func write<Sink: ByteSink>(into zip: inout ZipWriter<Sink>, from source: Source) async throws -> [(file: String, sha256: String)] {
        var files = HashingWriter(zip: zip)
        defer { zip = files.zip }
        let wanted = { (clauses: [String]) in self.clauses.isEmpty || !Set(clauses).isDisjoint(with: self.clauses) }
        var sections: [Section] = []
        let period: [String: JSONValue] = ["from": .string(from.formatted(.iso8601)), "to": .string(to.formatted(.iso8601))]

        for records in Self.records where wanted(records.clauses) {
            do {
                sections.append(Section(clauses: records.clauses, html: try await write(records, source: source, into: &files)))
            } catch let error as ResponseError {
                sections.append(Section(clauses: records.clauses, html: "\(records.name): not included (\(HTMLText.escaped(error.message)))"))
            }
        }
        for document in Self.documents where wanted(document.clauses) {
            var params = document.params
            if document.forPeriod { params.merge(period) { _, range in range } }
            do {
                let result = try await source.call(document.method, .object(params))
                let text = document.member.flatMap { result[$0]?.stringValue } ?? String(decoding: result.serialized(), as: UTF8.self)
                try await files.file(document.file, Array(text.utf8))
                sections.append(Section(clauses: document.clauses, html: "<a href=\"\(document.file)\">\(document.title)</a>"))
            } catch let error as ResponseError {
                sections.append(Section(clauses: document.clauses, html: "\(document.title): not included (\(HTMLText.escaped(error.message)))"))
            }
        }
        if wanted(["9.2"]) { sections.append(try await writeProgrammes(source: source, into: &files)) }
        if wanted(["8.3.3"]) { sections.append(try await writeServiceReports(period: period, source: source, into: &files)) }
        if wanted(["9.1"]) { sections.append(try await writeFigures(period: period, source: source, into: &files)) }
        if wanted(["7.5"]) { sections.append(try await writeAuditLog(source.audit, into: &files)) }

        try await files.file("index.html", Array(index(sections).utf8))
        let manifest = files.sums.map { "\($0.sha256)  \($0.file)\n" }.joined()
        try await files.file("SHA256SUMS", Array(manifest.utf8))
        return files.sums
    }

    /// Lists the records alive in the period page by page, reads each whole, and writes them as
    /// JSON (streamed, one record at a time), CSV, a CSV of their changes and a page to read.
    /// A record's management review pack, as it was presented, gets its own page.
    private func write<Sink: ByteSink>(_ source: Records, source calls: Source, into files: inout HashingWriter<Sink>) async throws -> String {
        let takes = calls.listParams(source.list)
        var keys: [String] = []
        var items: [JSONValue] = []
        var offset = 0
        var cursor: String?
        while true {
            var params: [String: JSONValue] = ["createdTo": .string(to.formatted(.iso8601)), "updatedFrom": .string(from.formatted(.iso8601))]
            if takes.contains("limit") { params["limit"] = 500 } // the most every list takes at once
            if let cursor {
                params["after"] = .string(cursor)
            } else if takes.contains("offset") {
                params["offset"] = .int(Int64(offset))
            }
            if takes.contains("all") { params["all"] = true }
            let page = try await calls.call(source.list, .object(params))
            let found = page["items"]?.arrayValue ?? []
            for item in found {
                guard let key = item[source.key.member]?.stringValue ?? item[source.key.member]?.intValue.map(String.init) else { continue }
                keys.append(key)
                items.append(item)
            }
            offset += found.count
            // A list that pages by cursor says there is more by handing one out (its total may
            // be an estimate); others by their total, or by `more`.
            if takes.contains("after") {
                guard !found.isEmpty, let next = page["nextCursor"]?.stringValue else { break }
                cursor = next
                continue
            }
            guard !found.isEmpty, page["more"]?.boolValue == true || page["total"]?.intValue.map({ offset < $0 }) == true else { break }
        }

        var historyRows: [[String]] = [["record", "at", "actor", "field", "old value", "new value"]]
        var rows: [String] = []
        var packs: [(file: String, html: String)] = []
        try await files.begin("\(source.name).json")
        try await files.write(Array("[".utf8))
        for (index, key) in keys.enumerated() {
            var params = source.extra
            params[source.key.param] = .string(key)
            var record = try await calls.call(source.get, .object(params))
            // A kept pack is a page of its own, not a string inside the JSON.
            if case .object(var members) = record, let html = members.removeValue(forKey: "packHtml")?.stringValue {
                packs.append(("\(key)-pack.html", html))
                record = .object(members)
            }
            try await files.write(Array(((index == 0 ? "\n" : ",\n") + String(decoding: record.serialized(), as: UTF8.self)).utf8))
            let history = record["history"]?.arrayValue ?? []
            for change in history {
                historyRows.append([key] + ["at", "actor", "field", "oldValue", "newValue"].map { Self.cell(change[$0]) })
            }
            let title = record["title"] ?? record["name"] ?? items[index]["title"] ?? items[index]["name"]
            let status = record["status"] ?? record["state"] ?? items[index]["status"] ?? items[index]["state"]
            let pack = packs.last?.file.hasPrefix("\(key)-") == true ? " <a href=\"\(key)-pack.html\">pack as presented</a>" : ""
            rows.append("<tr><td>\(HTMLText.escaped(key))</td><td>\(HTMLText.escaped(Self.cell(title)))</td><td>\(HTMLText.escaped(Self.cell(status)))</td>"
                        + "<td>\(history.count)</td><td>\(pack)</td></tr>")
        }
        try await files.write(Array("\n]\n".utf8))
        try await files.end()

        let columns = (items.first?.objectValue ?? [:]).filter { $0.value.plainText != nil }.keys.sorted()
        try await files.file("\(source.name).csv", Array(Self.csv([columns] + items.map { item in columns.map { Self.cell(item[$0]) } }).utf8))
        try await files.file("\(source.name)-history.csv", Array(Self.csv(historyRows).utf8))
        try await files.file("\(source.name).html", Array(page(title: source.counted(keys.count), body: """
            <p>Created before \(Self.day(to)) and changed on or after \(Self.day(from)); each with its whole history in \
            <a href="\(source.name).json">\(source.name).json</a> and <a href="\(source.name)-history.csv">\(source.name)-history.csv</a>.</p>
            <table><tr><th>record</th><th>title</th><th>status</th><th>changes</th><th></th></tr>
            \(rows.joined(separator: "\n"))
            </table>
            """).utf8))
        for pack in packs { try await files.file(pack.file, Array(pack.html.utf8)) }
        return "<a href=\"\(source.name).html\">\(source.counted(keys.count))</a> with their histories: "
            + "<a href=\"\(source.name).json\">JSON</a>, <a href=\"\(source.name).csv\">CSV</a>, "
            + "<a href=\"\(source.name)-history.csv\">changes</a>"
    }

    /// The audit programme of each year the period touches.
    private func writeProgrammes<Sink: ByteSink>(source: Source, into files: inout HashingWriter<Sink>) async throws -> Section {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let years = calendar.component(.year, from: from)...calendar.component(.year, from: to.addingTimeInterval(-1))
        var links: [String] = []
        for year in years {
            do {
                let programme = try await source.call("internal_audit.programme", ["year": .int(Int64(year))])
                try await files.file("audit-programme-\(year).json", programme.serialized())
                let gaps = programme["uncovered"]?.arrayValue?.compactMap(\.stringValue) ?? []
                links.append("<a href=\"audit-programme-\(year).json\">Audit programme \(year)</a>"
                             + (gaps.isEmpty ? ": every clause is covered" : ": no audit covers \(gaps.joined(separator: ", "))"))
            } catch let error as ResponseError {
                links.append("Audit programme \(year): not included (\(HTMLText.escaped(error.message)))")
            }
        }
        return Section(clauses: ["9.2"], html: links.joined(separator: "<br>"))
    }

    /// Each customer's service report for the period, as the page a customer is shown.
    private func writeServiceReports<Sink: ByteSink>(period: [String: JSONValue], source: Source,
                                                     into files: inout HashingWriter<Sink>) async throws -> Section {
        let listed: JSONValue
        do {
            listed = try await source.call("customer.list", [:])
        } catch {
            return Section(clauses: ["8.3.3"], html: "Service reports: not included (\(HTMLText.escaped(error.message)))")
        }
        let customers = (listed["items"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        var links: [String] = []
        for (index, customer) in customers.enumerated() {
            let file = "service-report-\(index + 1).html"
            do {
                var params = period
                params["customer"] = .string(customer)
                params["format"] = "html"
                let report = try await source.call("service.report", .object(params))
                try await files.file(file, Array((report["document"]?.stringValue ?? "").utf8))
                links.append("<a href=\"\(file)\">Service report: \(HTMLText.escaped(customer))</a>")
            } catch let error as ResponseError {
                links.append("Service report for \(HTMLText.escaped(customer)): not included (\(HTMLText.escaped(error.message)))")
            }
        }
        return Section(clauses: ["8.3.3"], html: links.isEmpty ? "No customers are recorded." : links.joined(separator: "<br>"))
    }

    /// Each process's figures for the period, in one file and as a table in the index.
    private func writeFigures<Sink: ByteSink>(period: [String: JSONValue], source: Source, into files: inout HashingWriter<Sink>) async throws -> Section {
        var figures: [String: JSONValue] = [:]
        var rows: [String] = []
        for process in Self.figures {
            let method = "\(process).stats"
            do {
                let takesPeriod = source.listParams(method).contains("from")
                let result = try await source.call(method, .object(takesPeriod ? period : [:]))
                figures[process] = result
                let scalars = (result.objectValue ?? [:]).filter { $0.value.plainText != nil && $0.key != "from" && $0.key != "to" }
                let shown = scalars.keys.sorted().map { "\(HTMLText.escaped($0)) \(HTMLText.escaped(Self.cell(scalars[$0])))" }.joined(separator: ", ")
                rows.append("<tr><td>\(process)</td><td>\(takesPeriod ? "the period" : "now")</td><td>\(shown)</td></tr>")
            } catch {
                rows.append("<tr><td>\(process)</td><td></td><td>not included (\(HTMLText.escaped(error.message)))</td></tr>")
            }
        }
        try await files.file("figures.json", JSONValue.object(figures).serialized())
        return Section(clauses: ["9.1"], html: """
            <a href="figures.json">Figures</a> of each process:
            <table><tr><th>process</th><th>for</th><th>figures</th></tr>
            \(rows.joined(separator: "\n"))
            </table>
            """)
    }

    /// The audit log's entries of the period, and whether its whole hash chain holds.
    private func writeAuditLog<Sink: ByteSink>(_ audit: AuditLog?, into files: inout HashingWriter<Sink>) async throws -> Section {
        guard let audit else {
            return Section(clauses: ["7.5"], html: "Audit log: not included (reading it needs the permission 'audit.read')")
        }
        var rows: [[String]] = [["seq", "at", "actor", "action", "target", "outcome", "client address", "request id", "details", "hash"]]
        var after: Int64 = 0
        var count = 0
        try await files.begin("audit-log.json")
        try await files.write(Array("[".utf8))
        while true {
            let entries = try await audit.entries(from: from, to: to, after: after, limit: 1000)
            for entry in entries {
                try await files.write(Array(((count == 0 ? "\n" : ",\n") + String(decoding: try JSONValue(encoding: entry).serialized(), as: UTF8.self)).utf8))
                rows.append([String(entry.seq), entry.at.formatted(.iso8601), entry.actor, entry.action, entry.target ?? "", entry.outcome,
                             entry.clientAddress ?? "", entry.requestId ?? "", String(decoding: entry.details.serialized(), as: UTF8.self), entry.hash])
                count += 1
            }
            guard let last = entries.last else { break }
            after = last.seq
        }
        try await files.write(Array("\n]\n".utf8))
        try await files.end()
        try await files.file("audit-log.csv", Array(Self.csv(rows).utf8))
        let chain = try await audit.verify()
        let state = chain.broken.map { "<strong>the chain is broken at entry \($0.seq)</strong>: \(HTMLText.escaped($0.reason))" }
            ?? "the chain of all \(chain.entries) entries holds (head \(chain.head ?? "none"))"
        return Section(clauses: ["7.5"], html: "Audit log of the period: \(count) entries, <a href=\"audit-log.csv\">CSV</a>, "
                                               + "<a href=\"audit-log.json\">JSON</a>; \(state)")
    }

    private func index(_ sections: [Section]) -> String {
        let titles = ["7.5": "Documented information", "8.3.3": "Service level management", "8.3.4": "Supplier management",
                      "8.4.3": "Capacity management", "8.6.1": "Incident management", "8.6.2": "Service request management",
                      "8.6.3": "Problem management", "9.1": "Monitoring, measurement, analysis and evaluation", "9.2": "Internal audit",
                      "9.3": "Management review", "10.1": "Nonconformity and corrective action", "10.2": "Continual improvement"]
        var body = """
            <p>Generated \(Date().formatted(.iso8601)). Records are those created before the end of the period and changed \
            during it, each with its whole history. docs/iso20000.md says which requirement each clause covers and which \
            tests show it. <code>SHA256SUMS</code> holds the SHA-256 of every file: <code>sha256sum -c SHA256SUMS</code> \
            shows the pack unaltered, and the audit log entry <code>evidence.export</code> holds the SHA-256 of \
            <code>SHA256SUMS</code> itself.</p>

            """
        for clause in Self.allClauses where clauses.isEmpty || clauses.contains(clause) {
            let lines = sections.filter { $0.clauses.contains(clause) }.map(\.html)
            body += "<h2 id=\"clause-\(clause)\">\(clause) \(titles[clause] ?? "")</h2>\n<ul>\n"
            body += lines.isEmpty ? "<li>No records in this pack for this clause.</li>\n" : lines.map { "<li>\($0)</li>\n" }.joined()
            body += "</ul>\n"
        }
        return page(title: "Evidence for \(Self.day(from)) to \(Self.day(to))", body: body)
    }

    private func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>\(HTMLText.escaped(title))</title>
        <style>body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;line-height:1.4}
        table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}th{background:#f3f3f3}</style>
        </head><body>
        <h1>\(HTMLText.escaped(title))</h1>
        \(body)
        </body></html>

        """
    }

    static func day(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day()) }

    /// A member as a CSV field: a scalar as text, a list or record as JSON.
    static func cell(_ value: JSONValue?) -> String {
        value.map { $0.plainText ?? String(decoding: $0.serialized(), as: UTF8.self) } ?? ""
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
}

/// Writes files into the archive and keeps each one's SHA-256 for the manifest.
private struct HashingWriter<Sink: ByteSink> {
    var zip: ZipWriter<Sink>
    var sums: [(file: String, sha256: String)] = []
    private var current: (file: String, hasher: SHA256)?

    init(zip: ZipWriter<Sink>) { self.zip = zip }

    mutating func begin(_ file: String) async throws {
        try await zip.begin(file)
        current = (file, SHA256())
    }

    mutating func write(_ bytes: [UInt8]) async throws {
        current?.hasher.update(data: bytes)
        try await zip.write(bytes)
    }

    mutating func end() async throws {
        try await zip.end()
        if let (file, hasher) = current { sums.append((file, hasher.finalize().hex)) }
        current = nil
    }

    mutating func file(_ name: String, _ bytes: [UInt8]) async throws {
        try await begin(name)
        try await write(bytes)
        try await end()
    }
}
