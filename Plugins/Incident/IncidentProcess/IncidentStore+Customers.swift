import Foundation
import ServiceProtocol
import ITSMCalendar
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// Customers and their service level agreements, as the service process announces them
/// (`customer.changed`, `agreement.changed`), and the figures a service report asks of them.
extension IncidentStore {
    /// Who speaks for the customer from now on. Records keep the customer they were made for.
    public func learn(_ customer: Customer, in tx: PluginTransaction) async throws {
        try await tx.query("DELETE FROM incident.customer_contact WHERE customer = \(customer.name)")
        guard customer.status == .active else { return }
        for account in customer.contacts {
            try await tx.query("""
                INSERT INTO incident.customer_contact (account, customer) VALUES (\(account), \(customer.name))
                ON CONFLICT (account) DO UPDATE SET customer = EXCLUDED.customer
                """)
        }
    }

    /// The agreement's targets become definitions for its customer and service, in force for
    /// its period while it is active; open clocks of the customer's records on that service
    /// follow at once, each with a history entry.
    public func learn(_ agreement: Agreement, in tx: PluginTransaction, now: Date = Date()) async throws {
        var priorities: [(Priority, PriorityTarget)] = []
        for target in agreement.targets.priorities {
            guard target.priority.first == "P", let level = Int(target.priority.dropFirst()), let priority = Priority(rawValue: level) else {
                throw ResponseError.invalidParams("agreement \(agreement.reference): priority '\(target.priority)' is not P1 to P5")
            }
            priorities.append((priority, target))
        }
        let calendar = try PostgresJSON(encoding: agreement.calendar)
        try await tx.query("""
            UPDATE incident.sla_definition SET active = false, updated_at = now()
            WHERE agreement = \(agreement.reference)
              AND (service <> \(agreement.service) OR NOT (priority = ANY(\(priorities.map { $0.0.rawValue }))))
            """)
        for (priority, target) in priorities {
            try await tx.query("""
                INSERT INTO incident.sla_definition (customer, agreement, service, priority, response_minutes, resolution_minutes, calendar,
                                                     valid_from, valid_to, active)
                VALUES (\(agreement.customer), \(agreement.reference), \(agreement.service), \(priority.rawValue), \(target.responseMinutes),
                        \(target.resolutionMinutes), \(calendar), \(agreement.validFrom)::date, \(agreement.validTo)::date,
                        \(agreement.status == .active))
                ON CONFLICT (coalesce(agreement, ''), coalesce(service, ''), priority) DO UPDATE SET
                    customer = EXCLUDED.customer, response_minutes = EXCLUDED.response_minutes,
                    resolution_minutes = EXCLUDED.resolution_minutes, calendar = EXCLUDED.calendar, valid_from = EXCLUDED.valid_from,
                    valid_to = EXCLUDED.valid_to, active = EXCLUDED.active, updated_at = now()
                """)
        }
        let governed = try await tx.query("""
            SELECT \(unsafeSQL: Incident.columns) FROM incident.incident i
            WHERE customer = \(agreement.customer) AND service = \(agreement.service)
              AND EXISTS (SELECT 1 FROM incident.sla_clock c WHERE c.incident_id = i.id AND c.stopped_at IS NULL)
            ORDER BY id FOR UPDATE
            """).map(Incident.init(row:))
        for incident in governed {
            try await refreshClocks(tx, for: incident, actor: "agreement:\(agreement.reference)", now: now)
        }
    }

    /// What a service report needs of the customer's incidents created in `[from, to)`: volumes,
    /// each clock's verdicts by priority, and every breach with its record.
    public func customerFigures(_ params: CustomerFiguresParams) async throws -> CustomerFigures {
        guard params.to > params.from else { throw ResponseError.invalidParams("to: after from") }
        return try await database.withTransaction { tx in
            let totals = try await tx.query("""
                SELECT count(*) AS created,
                       count(*) FILTER (WHERE resolved_at IS NOT NULL) AS resolved
                FROM incident.incident WHERE customer = \(params.customer) AND created_at >= \(params.from) AND created_at < \(params.to)
                  AND (\(params.service)::text IS NULL OR service = \(params.service))
                """).single()
            let byPriority = try await tx.query("""
                SELECT i.priority, count(DISTINCT i.id) AS created,
                       count(*) FILTER (WHERE c.kind = 'response' AND c.met IS NOT NULL) AS response_measured,
                       count(*) FILTER (WHERE c.kind = 'response' AND c.met) AS response_met,
                       count(*) FILTER (WHERE c.kind = 'resolution' AND c.met IS NOT NULL) AS resolution_measured,
                       count(*) FILTER (WHERE c.kind = 'resolution' AND c.met) AS resolution_met
                FROM incident.incident i LEFT JOIN incident.sla_clock c ON c.incident_id = i.id
                WHERE i.customer = \(params.customer) AND i.created_at >= \(params.from) AND i.created_at < \(params.to)
                  AND (\(params.service)::text IS NULL OR i.service = \(params.service))
                GROUP BY i.priority ORDER BY i.priority
                """).map { row in
                CustomerFigures.PriorityFigures(
                    priority: "P\(try row.decode(Int.self, "priority"))", created: try row.decode(Int.self, "created"),
                    responseMeasured: try row.decode(Int.self, "response_measured"), responseMet: try row.decode(Int.self, "response_met"),
                    resolutionMeasured: try row.decode(Int.self, "resolution_measured"), resolutionMet: try row.decode(Int.self, "resolution_met"))
            }
            let breaches = try await tx.query("""
                SELECT i.number, i.title, i.priority, i.service, c.kind, c.target_minutes, c.due_at, c.stopped_at, c.breached_at
                FROM incident.incident i JOIN incident.sla_clock c ON c.incident_id = i.id
                WHERE i.customer = \(params.customer) AND i.created_at >= \(params.from) AND i.created_at < \(params.to)
                  AND (\(params.service)::text IS NULL OR i.service = \(params.service))
                  AND (c.met = false OR c.breached_at IS NOT NULL)
                ORDER BY i.number, c.kind
                """).map { row in
                CustomerFigures.Breach(
                    number: try row.decode(String.self, "number"), title: try row.decode(String.self, "title"),
                    priority: "P\(try row.decode(Int.self, "priority"))", service: try row.decode(String?.self, "service"),
                    clock: try row.decode(String.self, "kind"), targetMinutes: try row.decode(Int.self, "target_minutes"),
                    stoppedAt: try row.decode(Date?.self, "stopped_at"))
            }
            return CustomerFigures(customer: params.customer, service: params.service, from: params.from, to: params.to, created: try totals.decode(Int.self, "created"),
                                   resolved: try totals.decode(Int.self, "resolved"), byPriority: byPriority, breaches: breaches)
        }
    }
}

