import AsyncHTTPClient
import Foundation
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// A series: a metric name and its labels, as Prometheus writes them.
public struct SeriesSelector: Sendable, Hashable {
    public var name: String
    public var labels: [String: String]

    /// Reads `name` or `name{label="value",...}`; `nil` when it is neither. A defined metric
    /// named this way selects every series of that name carrying at least these labels.
    public init?(_ text: String) {
        var reader = PrometheusText.LineReader(Substring(text))
        guard let series = reader.series(), reader.atEnd else { return nil }
        self = series
    }

    init(name: String, labels: [String: String]) {
        self.name = name
        self.labels = labels
    }

    /// Whether `series` has this name and at least these labels, in any order.
    public func selects(_ series: SeriesSelector) -> Bool {
        name == series.name && labels.allSatisfy { series.labels[$0.key] == $0.value }
    }
}

/// The Prometheus text exposition format (version 0.0.4), line by line:
/// `name{label="value",...} value [timestamp_ms]`, blanks and tabs between tokens, `#` comments,
/// label values with `\\`, `\"` and `\n` escapes, values in decimal or `NaN`, `+Inf`, `-Inf`.
/// A series feeds the defined metric whose selector it matches (see `SeriesSelector`); series
/// nobody defined are counted and skipped, as an exporter exposes far more than a plan needs.
public enum PrometheusText {
    public struct Parsed: Sendable {
        public struct Line: Sendable, Hashable {
            /// From 1.
            public var number: Int
            public var reason: String
        }

        public var samples: [Sample]
        /// The line each sample came from.
        public var lines: [Int]
        /// Well-formed series no defined metric selects.
        public var skipped: Int
        /// Lines that are not samples, and samples that cannot be kept (not a number to store,
        /// or one metric selected by several series), each with its line number.
        public var rejected: [Line]
    }

    public static func parse(_ body: String, resource: String, metrics: Set<String>, now: Date = Date()) -> Parsed {
        let selectors = metrics.compactMap { name in SeriesSelector(name).map { (name, $0) } }
        var parsed = Parsed(samples: [], lines: [], skipped: 0, rejected: [])
        var matchedBy: [String: Int] = [:] // metric -> the line of the series that fed it
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        for (offset, raw) in body.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            var reader = LineReader(raw.hasSuffix("\r") ? raw.dropLast() : raw)
            reader.skipBlanks()
            if reader.atEnd || reader.peek == UInt8(ascii: "#") { continue }
            guard let series = reader.series(), reader.skipBlanks() > 0, let value = reader.value() else {
                parsed.rejected.append(.init(number: number, reason: "not a sample line: \(raw.prefix(120))"))
                continue
            }
            var timestamp: Int64?
            if reader.skipBlanks() > 0, !reader.atEnd {
                guard let milliseconds = reader.integer() else {
                    parsed.rejected.append(.init(number: number, reason: "timestamp: not whole milliseconds: \(raw.prefix(120))"))
                    continue
                }
                timestamp = milliseconds
                reader.skipBlanks()
            }
            guard reader.atEnd else {
                parsed.rejected.append(.init(number: number, reason: "not a sample line (more after the timestamp): \(raw.prefix(120))"))
                continue
            }
            let selecting = selectors.filter { $0.1.selects(series) }
            guard !selecting.isEmpty else {
                parsed.skipped += 1
                continue
            }
            guard value.isFinite else {
                parsed.rejected.append(.init(number: number, reason: "value \(value): not a measurement to store"))
                continue
            }
            let at = timestamp.map { Date(timeIntervalSince1970: Double($0) / 1000) } ?? now
            for (name, _) in selecting {
                if let first = matchedBy[name] {
                    parsed.rejected.append(.init(number: number, reason: "'\(name)' is already fed by the series on line \(first): "
                                                 + "name more labels to tell them apart"))
                    continue
                }
                matchedBy[name] = number
                parsed.samples.append(Sample(resource: resource, metric: name, at: at.formatted(style), value: value))
                parsed.lines.append(number)
            }
        }
        return parsed
    }

    /// Reads the tokens of one line, by the exposition format's grammar.
    struct LineReader {
        private let bytes: [UInt8]
        private var index = 0

        init(_ line: Substring) { bytes = Array(line.utf8) }

        var atEnd: Bool { index == bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[index] }

        /// Skips spaces and tabs; returns how many.
        @discardableResult
        mutating func skipBlanks() -> Int {
            let start = index
            while let byte = peek, byte == 0x20 || byte == 0x09 { index += 1 }
            return index - start
        }

        private static func isNameStart(_ byte: UInt8, colon: Bool) -> Bool {
            (65...90).contains(byte) || (97...122).contains(byte) || byte == 95 || (colon && byte == 58)
        }

        private mutating func name(colon: Bool) -> String? {
            guard let first = peek, Self.isNameStart(first, colon: colon) else { return nil }
            let start = index
            while let byte = peek, Self.isNameStart(byte, colon: colon) || (48...57).contains(byte) { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        /// `name` or `name{label="value",...}` (a trailing comma is allowed).
        mutating func series() -> SeriesSelector? {
            guard let metric = name(colon: true) else { return nil }
            var labels: [String: String] = [:]
            guard peek == UInt8(ascii: "{") else { return SeriesSelector(name: metric, labels: labels) }
            index += 1
            while true {
                skipBlanks()
                if peek == UInt8(ascii: "}") { index += 1; break }
                guard let label = name(colon: false), labels[label] == nil else { return nil }
                skipBlanks()
                guard peek == UInt8(ascii: "=") else { return nil }
                index += 1
                skipBlanks()
                guard let value = quoted() else { return nil }
                labels[label] = value
                skipBlanks()
                if peek == UInt8(ascii: ",") { index += 1; continue }
                guard peek == UInt8(ascii: "}") else { return nil }
                index += 1
                break
            }
            return SeriesSelector(name: metric, labels: labels)
        }

        private mutating func quoted() -> String? {
            guard peek == UInt8(ascii: "\"") else { return nil }
            index += 1
            var value: [UInt8] = []
            while let byte = peek {
                index += 1
                switch byte {
                case UInt8(ascii: "\""): return String(decoding: value, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = peek else { return nil }
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "n"): value.append(0x0A)
                    case UInt8(ascii: "\\"), UInt8(ascii: "\""): value.append(escaped)
                    default: return nil
                    }
                default: value.append(byte)
                }
            }
            return nil
        }

        private mutating func token() -> String {
            let start = index
            while let byte = peek, byte != 0x20, byte != 0x09 { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        /// A decimal float, `NaN`, `+Inf` or `-Inf` (no hexadecimal, no `_`).
        mutating func value() -> Double? {
            let text = token()
            switch text.lowercased() {
            case "nan": return .nan
            case "+inf", "inf": return .infinity
            case "-inf": return -.infinity
            default: break
            }
            var rest = Substring(text)
            if rest.first == "+" || rest.first == "-" { rest = rest.dropFirst() }
            let mantissa = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard mantissa.contains(where: \.isNumber), mantissa.filter({ $0 == "." }).count <= 1 else { return nil }
            rest = rest.dropFirst(mantissa.count)
            if let e = rest.first, e == "e" || e == "E" {
                rest = rest.dropFirst()
                if rest.first == "+" || rest.first == "-" { rest = rest.dropFirst() }
                guard !rest.isEmpty, rest.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
                rest = ""
            }
            guard rest.isEmpty else { return nil }
            return Double(text)
        }

        /// A whole number of milliseconds, optionally negative.
        mutating func integer() -> Int64? {
            let text = token()
            let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int64(text)
        }
    }
}

extension CapacityStore {
    /// Ingests a Prometheus exposition body for one resource. Rejections carry the body's line.
    public func ingestPrometheus(resource: String, body: String, now: Date = Date()) async throws -> IngestResult {
        let names = Set(try await metrics().filter { $0.resource == resource }.map(\.name))
        guard !names.isEmpty else { throw ResponseError.business(kind: "capacity.not_found", message: "no resource '\(resource)' with metrics") }
        let parsed = PrometheusText.parse(body, resource: resource, metrics: names, now: now)
        var result = try await ingest(parsed.samples, now: now)
        result.rejected = result.rejected.map { .init(index: $0.index, line: $0.index.map { parsed.lines[$0] }, reason: $0.reason) }
            + parsed.rejected.map { .init(index: nil, line: $0.number, reason: $0.reason) }
        result.rejected.sort { ($0.line ?? 0) < ($1.line ?? 0) }
        result.skippedSeries = parsed.skipped
        return result
    }

    /// An exporter's page is some hundred KiB; more than this is not an exporter.
    static let maximumScrapeBytes = 16 << 20

    /// Pulls each configured scrape target once.
    public func scrape() async -> [String] {
        var report: [String] = []
        for target in settings.scrapes {
            do {
                let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: target.url), timeout: .seconds(10))
                guard response.status == .ok else { throw ResponseError.unavailable("HTTP \(response.status.code)", kind: "capacity.scrape_failed") }
                let body = try await response.body.collect(upTo: Self.maximumScrapeBytes)
                let result = try await ingestPrometheus(resource: target.resource, body: String(buffer: body))
                report.append("\(target.resource): \(result.accepted) samples, \(result.rejected.count) rejected, "
                              + "\(result.skippedSeries ?? 0) series no metric selects")
            } catch {
                report.append("\(target.resource): scrape of \(target.url) failed: \(error)")
            }
        }
        return report
    }

    // MARK: - Human capacity

    /// Keeps the open incidents per assignment group from incident events; older versions of an
    /// incident than the newest seen are ignored.
    public func observe(_ tx: PluginTransaction, incident: JSONValue) async throws {
        guard let id = incident["id"]?.stringValue.flatMap(UUID.init(uuidString:)),
              let updated = (incident["updatedAt"] ?? incident["createdAt"])?.stringValue.flatMap(JSONCoding.date(from:))
        else { return }
        let open = !["resolved", "closed", "cancelled"].contains(incident["status"]?.stringValue ?? "new")
        try await tx.query("""
            INSERT INTO capacity.group_workload (incident_id, assignment_group, open, updated_at)
            VALUES (\(id), \(incident["assignmentGroup"]?.stringValue), \(open), \(updated))
            ON CONFLICT (incident_id) DO UPDATE SET assignment_group = excluded.assignment_group, open = excluded.open,
                updated_at = excluded.updated_at
                WHERE capacity.group_workload.updated_at <= excluded.updated_at
            """)
    }

    /// Samples each human resource's `workload` metric: its group's open incidents times the
    /// configured hours each takes, against the staff hours the metric's limit gives.
    @discardableResult
    public func sampleWorkload(now: Date = Date()) async throws -> IngestResult {
        let rows = try await database.query("""
            SELECT r.name, count(w.incident_id) AS open FROM capacity.resource r
            JOIN capacity.metric m ON m.resource_id = r.id AND m.name = 'workload'
            LEFT JOIN capacity.group_workload w ON w.assignment_group = r.name AND w.open
            WHERE r.kind = 'human' GROUP BY r.name
            """)
        let stamp = now.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        let samples = try rows.map { row in
            Sample(resource: try row.decode(String.self, "name"), metric: "workload", at: stamp,
                   value: Double(try row.decode(Int.self, "open")) * settings.hoursPerIncident)
        }
        return try await ingest(samples)
    }
}

/// The capacity process's `config:` in itsm.yaml.
///
/// ```yaml
/// - name: capacity
///   config:
///     hysteresisPercent: 5        # of the limit, below a threshold, before it clears
///     rawRetentionDays: 30        # rollups are kept
///     horizonDays: 90             # exhaustion forecasts within this raise capacity.exhaustion_forecast
///     hoursPerIncident: 4         # workload of an open incident, for service desk groups
///     futureSkewSeconds: 300      # how far ahead of this host's clock a sample may lie
///     staleAfterHours: 48         # a metric with no newer sample is stale: no forecast is announced
///     scrape: [{url: "http://db1:9100/metrics", resource: db1}]
/// ```
public struct CapacitySettings: Sendable, Hashable {
    public struct Scrape: Sendable, Hashable {
        public var url: String
        public var resource: String
    }

    public var hysteresisPercent = 5.0
    public var rawRetentionDays = 30
    public var horizonDays = 90
    public var hoursPerIncident = 4.0
    public var futureSkewSeconds = 300.0
    public var staleAfterHours = 48.0
    public var scrapes: [Scrape] = []

    public init() {}

    public init(config: JSONValue) throws {
        if let value = config["hysteresisPercent"]?.doubleValue {
            guard (0..<50).contains(value) else { throw ResponseError.invalidParams("config.hysteresisPercent: 0 to 50") }
            hysteresisPercent = value
        }
        if let value = config["rawRetentionDays"]?.intValue {
            guard value >= 1 else { throw ResponseError.invalidParams("config.rawRetentionDays: 1 or more") }
            rawRetentionDays = Int(value)
        }
        if let value = config["horizonDays"]?.intValue {
            guard (1...3650).contains(value) else { throw ResponseError.invalidParams("config.horizonDays: 1 to 3650") }
            horizonDays = Int(value)
        }
        if let value = config["hoursPerIncident"]?.doubleValue { hoursPerIncident = value }
        if let value = config["futureSkewSeconds"]?.doubleValue {
            guard (0...86_400).contains(value) else { throw ResponseError.invalidParams("config.futureSkewSeconds: 0 to 86400") }
            futureSkewSeconds = value
        }
        if let value = config["staleAfterHours"]?.doubleValue {
            guard value > 0 else { throw ResponseError.invalidParams("config.staleAfterHours: more than 0") }
            staleAfterHours = value
        }
        if let list = config["scrape"]?.arrayValue {
            scrapes = try list.map { item in
                guard let url = item["url"]?.stringValue, let resource = item["resource"]?.stringValue else {
                    throw ResponseError.invalidParams("config.scrape: each needs url and resource")
                }
                return Scrape(url: url, resource: resource)
            }
        }
    }
}
