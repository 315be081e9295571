import AsyncHTTPClient
import Foundation
import IncidentProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

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
    public func observe(_ tx: PluginTransaction, incident: Incident, sequence: Int64? = nil) async throws {
        try await tx.query("""
            INSERT INTO capacity.group_workload AS w (incident_id, assignment_group, open, updated_at, sequence)
            VALUES (\(incident.id), \(incident.assignmentGroup), \(incident.status.isOpen), \(incident.updatedAt), \(sequence ?? 0))
            ON CONFLICT (incident_id) DO UPDATE SET assignment_group = excluded.assignment_group, open = excluded.open,
                updated_at = excluded.updated_at, sequence = excluded.sequence
                WHERE \(unsafeSQL: ProjectionVersion.newer(alias: "w", sequence: "sequence", time: "updated_at", sameReplaces: true))
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
    public var futureSkewSeconds = Sample.defaultFutureSkew
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
