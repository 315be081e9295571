import CapacityProtocol
import Foundation
import IncidentProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// Thresholds with hysteresis: a metric enters `warning` or `critical` when its newest sample
/// reaches the threshold (from below for `above` metrics, from above for `below` ones), and
/// leaves only when it moves `hysteresisPercent` back past it (of the limit for `above`, of the
/// warning threshold for `below`, whose limit is often 0), so a value hovering at the line does
/// not flap. Each change publishes `capacity.threshold_breached` or `capacity.threshold_cleared`;
/// a breach stays one record (and one incident) until it clears, even if it goes from warning to
/// critical, in which case its incident is raised to match.
extension CapacityStore {
    /// The state a metric should be in, given where it was.
    public static func state(for value: Double, current: String, warning: Double, critical: Double, limit: Double,
                             hysteresisPercent: Double, direction: ThresholdDirection = .above) -> String {
        switch direction {
        case .above:
            return risingState(value, current, warning, critical, margin: abs(limit) * hysteresisPercent / 100)
        case .below:
            // A falling metric is a rising one mirrored.
            return risingState(-value, current, -warning, -critical, margin: abs(warning) * hysteresisPercent / 100)
        }
    }

    private static func risingState(_ value: Double, _ current: String, _ warning: Double, _ critical: Double, margin: Double) -> String {
        switch current {
        case "critical":
            if value >= critical - margin { return "critical" }
            return value >= warning - margin ? "warning" : "ok"
        case "warning":
            if value >= critical { return "critical" }
            return value >= warning - margin ? "warning" : "ok"
        default:
            if value >= critical { return "critical" }
            return value >= warning ? "warning" : "ok"
        }
    }

    /// Brings each metric the batch touched to its newest value's state. The
    /// newest sample of a metric is the batch's own newest when it is no older than the one the
    /// metric holds (the last of duplicates winning, as in the upsert); a batch of older samples
    /// leaves the state as it is. So no stored sample is read. The caller holds the metrics' locks.
    func evaluateThresholds(_ tx: PluginTransaction, newest batch: (metrics: [UUID], times: [String], values: [String])) async throws -> [String] {
        let latest = try await tx.query("""
            SELECT s.metric_id, s.at, s.value, m.state, m.warning, m.critical, m.capacity_limit,
                   m.direction, m.name, r.name AS resource, r.service, m.unit
            FROM (SELECT metric_id, at::timestamptz AS at, value::float8 AS value
                  FROM unnest(\(batch.metrics), \(batch.times), \(batch.values)) AS u (metric_id, at, value)) s
            JOIN capacity.metric m ON m.id = s.metric_id
            JOIN capacity.resource r ON r.id = m.resource_id
            WHERE m.last_at IS NULL OR s.at >= m.last_at
            """)
        var changes: [String] = []
        var newest: (ids: [UUID], values: [String], times: [String], states: [String]) = ([], [], [], [])
        var changed: [(row: PostgresRow, next: String)] = []
        for row in latest {
            let value = try row.decode(Double.self, "value")
            let current = try row.decode(String.self, "state")
            let next = Self.state(for: value, current: current, warning: try row.decode(Double.self, "warning"),
                                  critical: try row.decode(Double.self, "critical"), limit: try row.decode(Double.self, "capacity_limit"),
                                  hysteresisPercent: settings.hysteresisPercent,
                                  direction: ThresholdDirection(rawValue: try row.decode(String.self, "direction")) ?? .above)
            newest.ids.append(try row.decode(UUID.self, "metric_id"))
            newest.values.append(String(value))
            newest.times.append(try row.decode(Date.self, "at").postgresText ?? "")
            newest.states.append(next)
            if next != current { changed.append((row, next)) }
        }
        // Every touched metric's newest value and state in one statement, not one a metric.
        try await tx.query("""
            UPDATE capacity.metric m SET last_value = u.value::float8, last_at = u.at::timestamptz, state = u.state
            FROM unnest(\(newest.ids), \(newest.values), \(newest.times), \(newest.states)) AS u (id, value, at, state)
            WHERE m.id = u.id
            """)
        for (row, next) in changed {
            let id = try row.decode(UUID.self, "metric_id")
            let value = try row.decode(Double.self, "value")
            let at = try row.decode(Date.self, "at")
            let current = try row.decode(String.self, "state")
            let resource = try row.decode(String.self, "resource")
            let name = try row.decode(String.self, "name")
            changes.append("\(resource)/\(name): \(current) → \(next)")
            let payload = ThresholdChange(
                resource: resource, metric: name, service: try row.decode(String?.self, "service"), value: value,
                unit: try row.decode(String.self, "unit"), from: current, to: next, at: at,
                limit: try row.decode(Double.self, "capacity_limit"))
            if next == "ok" {
                try await tx.query("UPDATE capacity.breach SET cleared_at = \(at) WHERE metric_id = \(id) AND cleared_at IS NULL")
                try await tx.publish(CapacityEvents.thresholdCleared, subject: "\(resource)/\(name)", data: payload)
            } else {
                try await tx.query("""
                    INSERT INTO capacity.breach (metric_id, level, value, started_at) VALUES (\(id), \(next), \(value), \(at))
                    ON CONFLICT (metric_id) WHERE cleared_at IS NULL DO UPDATE SET level = excluded.level, value = excluded.value
                    """)
                if current == "ok" || next == "critical" {
                    try await tx.publish(CapacityEvents.thresholdBreached, subject: "\(resource)/\(name)", data: payload)
                }
            }
        }
        return changes
    }

    /// The incident process's two methods a breach uses, as coordinator calls (a test gives its own).
    public struct IncidentCalls: Sendable {
        public var create: @Sendable (CreateIncident, _ idempotencyKey: String) async throws(ResponseError) -> Incident
        public var update: @Sendable (UpdateIncident) async throws(ResponseError) -> Incident

        public init(create: @escaping @Sendable (CreateIncident, _ idempotencyKey: String) async throws(ResponseError) -> Incident,
                    update: @escaping @Sendable (UpdateIncident) async throws(ResponseError) -> Incident) {
            self.create = create
            self.update = update
        }
    }

    /// Opens one incident per open breach that has none, and raises the incident of a breach
    /// that went from warning to critical, through the incident process. When that process is
    /// disabled the breach is kept, with a note saying so. Creates carry an idempotency key per
    /// breach, so a retry after a crash finds the incident it opened before.
    public func openIncidentsForBreaches(_ incidents: IncidentCalls) async throws {
        let pending = try await database.query("""
            SELECT b.id, b.level, b.value, b.incident, m.name, m.unit, m.capacity_limit, r.name AS resource, r.service, r.ci
            FROM capacity.breach b JOIN capacity.metric m ON m.id = b.metric_id JOIN capacity.resource r ON r.id = m.resource_id
            WHERE b.cleared_at IS NULL AND (b.incident IS NULL OR b.incident_level IS DISTINCT FROM b.level)
            """)
        for row in pending {
            let id = try row.decode(Int.self, "id")
            let resource = try row.decode(String.self, "resource")
            let metric = try row.decode(String.self, "name")
            let level = try row.decode(String.self, "level")
            let value = try row.decode(Double.self, "value")
            let unit = try row.decode(String.self, "unit")
            let severity: Level = level == "critical" ? .high : .medium
            let title = "Capacity \(level): \(resource) \(metric) at \(Self.format(value)) \(unit)"
            let description = "\(resource) \(metric) reached \(Self.format(value)) \(unit) against a limit of \(Self.format(try row.decode(Double.self, "capacity_limit"))) \(unit) (\(level) threshold). Raised by the capacity process."
            do {
                if let number = try row.decode(String?.self, "incident") {
                    // Warning became critical: the open incident says so and takes the priority.
                    var update = UpdateIncident(number: number)
                    (update.title, update.description, update.impact, update.urgency) = (title, description, severity, severity)
                    _ = try await incidents.update(update)
                } else {
                    var create = CreateIncident(title: title, impact: severity, urgency: severity)
                    create.description = description
                    create.category = "capacity"
                    create.service = try row.decode(String?.self, "service")
                    create.configurationItem = try row.decode(String?.self, "ci")
                    let incident = try await incidents.create(create, "capacity-breach-\(id)")
                    try await database.query("UPDATE capacity.breach SET incident = \(incident.number) WHERE id = \(id)")
                }
                try await database.query("UPDATE capacity.breach SET incident_level = \(level), note = NULL WHERE id = \(id)")
            } catch let error as ResponseError where error.kind == "plugin.disabled" {
                try await database.query("""
                    UPDATE capacity.breach SET note = 'the incident process is not enabled; no incident was opened' WHERE id = \(id)
                    """)
            }
        }
    }

    static func format(_ value: Double) -> String { value.figure(fractionDigits: 2) }
}
