import Foundation
import ImprovementProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

extension ImprovementStore {
    /// Asks another process for its figures, through the coordinator.
    public typealias StatsSource = @Sendable (_ method: String, _ params: JSONValue) async throws(ResponseError) -> JSONValue

    public func createObjective(_ params: CreateObjective, actor: String) async throws -> Objective {
        let title = try Validation.text(params.title, "title", max: 200)
        let kpi: KPI
        if let name = params.kpi.stringValue {
            guard let named = KPI.named(name) else {
                throw ResponseError.invalidParams("kpi: '\(name)' is not a known KPI (\(KPI.catalogue.joined(separator: ", "))), nor a spec {method, value, per?, scale?}")
            }
            kpi = named
        } else {
            guard let spec = try? params.kpi.decode(KPI.self), spec.method.hasSuffix(".stats") || spec.method.contains(".") else {
                throw ResponseError.invalidParams("kpi: a catalogue name or {\"method\": \"incident.stats\", \"value\": \"path.to.value\"}")
            }
            kpi = spec
        }
        guard [">=", "<="].contains(params.comparator) else { throw ResponseError.invalidParams("comparator: >= or <=") }
        return try await database.withTransaction { tx in
            let number = try await tx.query("""
                INSERT INTO improvement.objective (title, kpi, comparator, target, period, owner, created_by)
                VALUES (\(title), \(try PostgresJSON(encoding: kpi)), \(params.comparator), \(params.target), \(params.period.rawValue),
                    \(params.owner), \(actor))
                RETURNING number
                """).single().decode(String.self, "number")
            try await recordHistory(tx, number, actor: actor, field: "target", old: nil, new: "\(params.comparator) \(params.target) per \(params.period.rawValue)")
            return try await loadObjective(tx, number)
        }
    }

    public func objectives(activeOnly: Bool = true) async throws -> ObjectiveList {
        try await database.withTransaction { tx in
            let numbers = try await tx.query("SELECT number FROM improvement.objective WHERE active OR NOT \(activeOnly) ORDER BY number")
                .map { try $0.decode(String.self, "number") }
            var items: [Objective] = []
            for number in numbers { items.append(try await loadObjective(tx, number)) }
            return ObjectiveList(items: items)
        }
    }

    /// Measures an objective's KPI over the period containing `at`, and records it.
    public func measure(_ params: MeasureObjective, source: StatsSource) async throws -> ImprovementProtocol.Measurement {
        let objective = try await database.withTransaction { tx in try await loadObjective(tx, params.number) }
        let interval = objective.period.interval(containing: params.at ?? Date())
        let measurement = await measure(objective, over: interval, source: source)
        try await database.query("""
            INSERT INTO improvement.measurement (objective_id, period_start, period_end, value, available, note, met)
            SELECT id, \(interval.start), \(interval.end), \(measurement.value), \(measurement.available), \(measurement.note), \(measurement.met)
            FROM improvement.objective WHERE number = \(objective.number)
            ON CONFLICT (objective_id, period_start) DO UPDATE SET value = excluded.value, available = excluded.available,
                note = excluded.note, met = excluded.met, measured_at = now()
            """)
        return measurement
    }

    /// The objective's KPI in each of its last `periods` periods up to the one containing `now`.
    public func trend(_ params: ObjectiveTrendParams, source: StatsSource, now: Date = Date()) async throws -> ObjectiveTrend {
        try params.validate()
        let objective = try await database.withTransaction { tx in try await loadObjective(tx, params.number) }
        var intervals = [objective.period.interval(containing: now)]
        while intervals.count < params.count { intervals.append(objective.period.previous(before: intervals.last!.start)) }
        var measurements: [ImprovementProtocol.Measurement] = []
        for interval in intervals.reversed() { measurements.append(await measure(objective, over: interval, source: source)) }
        return ObjectiveTrend(objective: objective, measurements: measurements)
    }

    func measure(_ objective: Objective, over interval: DateInterval, source: StatsSource) async -> ImprovementProtocol.Measurement {
        var measurement = ImprovementProtocol.Measurement(objective: objective.number, from: interval.start, to: interval.end, value: nil, available: false,
                                      met: nil, note: nil)
        let params: JSONValue = [
            "from": .string(interval.start.formatted(Self.timestamp)), "to": .string(interval.end.formatted(Self.timestamp)),
        ]
        do {
            let answer = try await source(objective.kpi.method, params)
            let (value, note) = objective.kpi.evaluate(answer, for: interval)
            measurement.available = true
            measurement.note = note
            if let value {
                measurement.value = (value * 100).rounded() / 100
                measurement.met = objective.comparator == ">=" ? value >= objective.target : value <= objective.target
            }
        } catch {
            let process = objective.kpi.process
            measurement.note = switch error.kind {
            case "plugin.disabled": "the \(process) process is not enabled, so this KPI cannot be measured"
            case "plugin.unavailable": "the \(process) process did not answer (\(error.message))"
            default: "\(objective.kpi.method) failed: \(error.message)"
            }
        }
        return measurement
    }

    /// Periods are sent with milliseconds: a record closed in the last second still counts.
    static let timestamp = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    func loadObjective(_ tx: PluginTransaction, _ number: String) async throws -> Objective {
        guard let row = try await tx.query("""
            SELECT number, title, kpi, comparator, target, period, owner, active FROM improvement.objective WHERE number = \(number)
            """).first else {
            throw ResponseError.business(kind: "objective.not_found", message: "no objective \(number)")
        }
        return Objective(number: try row.decode(String.self, "number"), title: try row.decode(String.self, "title"),
                         kpi: try row.decode(PostgresJSON.self, "kpi").decode(KPI.self), comparator: try row.decode(String.self, "comparator"),
                         target: try row.decode(Double.self, "target"), period: Period(rawValue: try row.decode(String.self, "period")) ?? .month,
                         owner: try row.decode(String?.self, "owner"), active: try row.decode(Bool.self, "active"))
    }
}
