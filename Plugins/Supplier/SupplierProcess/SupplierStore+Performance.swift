import Foundation
import IncidentProtocol
import ITSMCalendar
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import SupplierProtocol

/// Performance measured, not typed in: an incident whose `supplier` names one of ours is handed
/// to it; when it is resolved the time the supplier had it, in the contract's business hours,
/// is scored against the contract's resolution target for its priority.
extension SupplierStore {
    /// Takes in an incident from an incident event. Older versions than the newest seen are
    /// ignored, so a late or repeated event changes nothing.
    public func observe(_ tx: PluginTransaction, incident: Incident, sequence: Int64? = nil) async throws {
        let (id, number, updatedAt) = (incident.id, incident.number, incident.updatedAt)
        let fresh = try await tx.query("""
            INSERT INTO supplier.incident_seen AS s (incident_id, updated_at, sequence) VALUES (\(id), \(updatedAt), \(sequence ?? 0))
            ON CONFLICT (incident_id) DO UPDATE SET updated_at = excluded.updated_at, sequence = excluded.sequence
                WHERE \(unsafeSQL: ProjectionVersion.newer(alias: "s", sequence: "sequence", time: "updated_at", sameReplaces: false))
            RETURNING incident_id
            """)
        guard !fresh.isEmpty else { return }

        let isDone = !incident.status.isOpen
        let cancelled = incident.status == .cancelled
        let named = incident.supplier.flatMap { $0.isEmpty ? nil : $0 }
        let supplier = try await named.asyncMap { name in
            try await tx.query("SELECT id FROM supplier.supplier WHERE number = \(name) OR lower(name) = lower(\(name))")
                .first?.decode(UUID.self, "id")
        } ?? nil
        let open = try await tx.query("""
            SELECT id, supplier_id FROM supplier.handoff WHERE incident_id = \(id) AND ended_at IS NULL FOR UPDATE
            """).first.map { (try $0.decode(Int.self, "id"), try $0.decode(UUID.self, "supplier_id")) }

        if let (handoff, holder) = open {
            if holder == supplier && isDone && !cancelled {
                try await score(tx, handoff: handoff, resolvedAt: incident.resolvedAt ?? updatedAt, number: number)
                return
            }
            if holder != supplier || cancelled {
                try await tx.query("""
                    UPDATE supplier.handoff SET ended_at = \(updatedAt), ended_how = 'returned' WHERE id = \(handoff)
                    """)
            } else {
                try await tx.query("UPDATE supplier.handoff SET priority = \(incident.priority.description) WHERE id = \(handoff)")
                return
            }
        }
        if let supplier, !isDone {
            try await tx.query("""
                INSERT INTO supplier.handoff (supplier_id, incident_id, incident_number, priority, handed_at)
                VALUES (\(supplier), \(id), \(number), \(incident.priority.description), \(updatedAt))
                """)
        }
    }

    /// Ends a hand-off at resolution and scores it; a missed target is announced once.
    private func score(_ tx: PluginTransaction, handoff: Int, resolvedAt: Date, number: String) async throws {
        let row = try await tx.query("""
            SELECT h.handed_at, h.priority, h.supplier_id, s.number AS supplier, s.name FROM supplier.handoff h
            JOIN supplier.supplier s ON s.id = h.supplier_id WHERE h.id = \(handoff)
            """).single()
        let handedAt = try row.decode(Date.self, "handed_at")
        let priority = try row.decode(String?.self, "priority")
        // The contract in force when it was handed over, and its resolution target for the priority.
        let target = try await tx.query("""
            SELECT t.id, t.minutes, t.business_hours, c.calendar, c.reference FROM supplier.contract c
            JOIN supplier.target t ON t.contract_id = c.id
            WHERE c.supplier_id = \(try row.decode(UUID.self, "supplier_id")) AND c.status = 'active'
              AND c.starts_on <= \(handedAt)::date AND c.ends_on >= \(handedAt)::date
              AND t.kind = 'resolution' AND (t.priority = \(priority) OR t.priority IS NULL)
            ORDER BY t.priority NULLS LAST, c.starts_on DESC LIMIT 1
            """).first
        var minutes = resolvedAt.timeIntervalSince(handedAt) / 60
        var met: Bool?
        var targetID: Int?
        var targetMinutes: Int?
        if let target {
            targetID = try target.decode(Int.self, "id")
            targetMinutes = try target.decode(Int.self, "minutes")
            if try target.decode(Bool.self, "business_hours") {
                let calendar = try CalendarDefinition.calendar(storedJSON: target.decode(PostgresJSON.self, "calendar").text)
                minutes = calendar.businessSeconds(from: handedAt, to: resolvedAt) / 60
            }
            met = minutes <= Double(targetMinutes ?? 0)
        }
        try await tx.query("""
            UPDATE supplier.handoff SET ended_at = \(resolvedAt), ended_how = 'resolved', business_minutes = \((minutes * 100).rounded() / 100),
                target_id = \(targetID), target_minutes = \(targetMinutes), met = \(met)
            WHERE id = \(handoff)
            """)
        if met == false {
            let supplier = try row.decode(String.self, "supplier")
            let payload = SupplierTargetMissed(
                supplier: supplier, name: try row.decode(String.self, "name"), incident: number, priority: priority,
                contract: try target!.decode(String.self, "reference"), targetMinutes: targetMinutes ?? 0,
                actualMinutes: (minutes * 100).rounded() / 100)
            try await tx.publish(SupplierEvents.targetMissed, subject: supplier, data: payload)
        }
    }

    /// A scorecard per supplier for resolutions in `[from, to)`.
    public func scorecards(_ params: ScorecardParams) async throws -> [Scorecard] {
        let to = params.to ?? Date()
        let from = params.from ?? to.addingTimeInterval(-30 * 24 * 3600)
        guard from < to else { throw ResponseError.invalidParams("from must be before to") }
        let key = params.supplier
        if let key {
            _ = try await database.withTransaction { tx in try await load(tx, key, lock: false) }
        }
        return try await database.query("""
            SELECT s.number, s.name,
                   count(h.id) FILTER (WHERE h.ended_how = 'resolved' AND h.ended_at >= \(from) AND h.ended_at < \(to)) AS volume,
                   count(h.id) FILTER (WHERE h.met IS NOT NULL AND h.ended_at >= \(from) AND h.ended_at < \(to)) AS scored,
                   count(h.id) FILTER (WHERE h.met AND h.ended_at >= \(from) AND h.ended_at < \(to)) AS met,
                   count(h.id) FILTER (WHERE NOT h.met AND h.ended_at >= \(from) AND h.ended_at < \(to)) AS breaches,
                   (avg(h.business_minutes) FILTER (WHERE h.ended_how = 'resolved' AND h.ended_at >= \(from) AND h.ended_at < \(to)) / 60)::float8
                       AS mean_hours,
                   (percentile_cont(0.9) WITHIN GROUP (ORDER BY h.business_minutes)
                       FILTER (WHERE h.ended_how = 'resolved' AND h.ended_at >= \(from) AND h.ended_at < \(to)) / 60)::float8 AS p90_hours,
                   count(h.id) FILTER (WHERE h.handed_at < \(to) AND (h.ended_at IS NULL OR h.ended_at >= \(to))) AS open
            FROM supplier.supplier s LEFT JOIN supplier.handoff h ON h.supplier_id = s.id
            WHERE \(key)::text IS NULL OR s.number = \(key) OR lower(s.name) = lower(\(key))
            GROUP BY s.id ORDER BY lower(s.name)
            """).map { row in
            let scored = try row.decode(Int.self, "scored")
            let met = try row.decode(Int.self, "met")
            func rounded(_ value: Double?) -> Double? { value.map { ($0 * 100).rounded() / 100 } }
            return Scorecard(supplier: try row.decode(String.self, "number"), name: try row.decode(String.self, "name"),
                             volume: try row.decode(Int.self, "volume"), scored: scored, withinTarget: met,
                             withinTargetPercent: scored == 0 ? nil : rounded(Double(met) * 100 / Double(scored)),
                             breaches: try row.decode(Int.self, "breaches"), meanBusinessHours: rounded(try row.decode(Double?.self, "mean_hours")),
                             p90BusinessHours: rounded(try row.decode(Double?.self, "p90_hours")), open: try row.decode(Int.self, "open"))
        }
    }

    public func stats(_ params: SupplierStatsParams) async throws -> SupplierStats {
        let to = params.to ?? Date()
        let from = params.from ?? to.addingTimeInterval(-30 * 24 * 3600)
        guard from < to else { throw ResponseError.invalidParams("from must be before to") }
        let row = try await database.query("""
            SELECT
                (SELECT count(*) FROM supplier.supplier WHERE status = 'active') AS active,
                (SELECT count(*) FROM supplier.handoff WHERE ended_how = 'resolved' AND ended_at >= \(from) AND ended_at < \(to)) AS resolved,
                (SELECT count(*) FILTER (WHERE met) * 100.0 / nullif(count(*) FILTER (WHERE met IS NOT NULL), 0)
                   FROM supplier.handoff WHERE ended_at >= \(from) AND ended_at < \(to))::float8 AS within,
                (SELECT count(*) FROM supplier.handoff WHERE NOT met AND ended_at >= \(from) AND ended_at < \(to)) AS missed,
                (SELECT count(*) FROM supplier.contract WHERE status = 'active' AND ends_on BETWEEN current_date AND current_date + 90) AS ending,
                (SELECT count(*) FROM supplier.dispute WHERE status = 'open') AS disputes,
                (SELECT count(*) FROM supplier.action WHERE status = 'open' AND due_on < current_date) AS overdue
            """).single()
        return SupplierStats(from: from, to: to, activeSuppliers: try row.decode(Int.self, "active"),
                             handoffsResolved: try row.decode(Int.self, "resolved"),
                             withinTargetPercent: try row.decode(Double?.self, "within").map { ($0 * 100).rounded() / 100 },
                             targetsMissed: try row.decode(Int.self, "missed"), contractsEndingWithin90Days: try row.decode(Int.self, "ending"),
                             openDisputes: try row.decode(Int.self, "disputes"), overdueActions: try row.decode(Int.self, "overdue"))
    }
}

extension Optional {
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
