import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// The Prometheus text exposition format: `name{label="value",...} value [timestamp_ms]`.
/// A series is matched to a metric of the resource by its full name with labels in order
/// (`node_filesystem_avail_bytes{mountpoint="/"}`), else by its bare name; series nobody
/// defined are skipped, as an exporter exposes far more than a plan needs.
public enum PrometheusText {
    public struct Parsed: Sendable {
        public var samples: [Sample]
        public var skipped: Int
        public var malformed: [String]
    }

    public static func parse(_ body: String, resource: String, metrics: Set<String>, now: Date = Date()) -> Parsed {
        var parsed = Parsed(samples: [], skipped: 0, malformed: [])
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        for raw in body.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            var series = line
            var rest = ""
            if let open = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}"), open < close {
                let labels = line[line.index(after: open)..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty }.sorted()
                series = String(line[..<open]) + "{" + labels.joined(separator: ",") + "}"
                rest = String(line[line.index(after: close)...]).trimmingCharacters(in: .whitespaces)
            } else {
                let parts = line.split(separator: " ", maxSplits: 1)
                series = String(parts[0])
                rest = parts.count > 1 ? String(parts[1]) : ""
            }
            let fields = rest.split(separator: " ")
            guard let valueText = fields.first, let value = Double(valueText), value.isFinite else {
                parsed.malformed.append(String(line.prefix(120)))
                continue
            }
            let bare = String(series.prefix { $0 != "{" })
            guard let name = metrics.contains(series) ? series : (metrics.contains(bare) ? bare : nil) else {
                parsed.skipped += 1
                continue
            }
            let at = fields.count > 1 ? Double(fields[1]).map { Date(timeIntervalSince1970: $0 / 1000) } ?? now : now
            parsed.samples.append(Sample(resource: resource, metric: name, at: at.formatted(style), value: value))
        }
        return parsed
    }
}

extension CapacityStore {
    /// Ingests a Prometheus exposition body for one resource.
    public func ingestPrometheus(resource: String, body: String) async throws -> IngestResult {
        let names = Set(try await metrics().filter { $0.resource == resource }.map(\.name))
        guard !names.isEmpty else { throw ResponseError.business(kind: "capacity.not_found", message: "no resource '\(resource)' with metrics") }
        let parsed = PrometheusText.parse(body, resource: resource, metrics: names)
        var result = try await ingest(parsed.samples)
        let offset = parsed.samples.count
        result.rejected += parsed.malformed.enumerated().map { .init(index: offset + $0.offset, reason: "not a sample line: \($0.element)") }
        return result
    }

    /// Pulls each configured scrape target once.
    public func scrape() async -> [String] {
        var report: [String] = []
        for target in settings.scrapes {
            do {
                guard let url = URL(string: target.url) else { throw ResponseError.invalidParams("bad URL \(target.url)") }
                var request = URLRequest(url: url)
                request.timeoutInterval = 10
                let (data, _) = try await URLSession.shared.data(for: request)
                let result = try await ingestPrometheus(resource: target.resource, body: String(decoding: data, as: UTF8.self))
                report.append("\(target.resource): \(result.accepted) samples")
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
