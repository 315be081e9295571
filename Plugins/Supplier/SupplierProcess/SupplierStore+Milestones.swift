import Foundation
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import SupplierProtocol

/// Contract milestones, announced ahead of time and exactly once: the notice deadline
/// (`supplier.contract_expiring`, `expiryWarningDays` before it) and the end of the contract
/// (`supplier.contract_expired`). Each announcement is a row keyed by contract, kind and date,
/// inserted in the transaction that publishes it; a second instance, or a restart, finds the
/// row and stays quiet. A renewal moves the dates, so the new milestones are announced anew.
extension SupplierStore {
    /// The active contracts whose notice deadline is at most `withinDays` away, or passed while
    /// they still run, soonest first.
    public func milestones(_ params: MilestonesParams, today: Date = Date()) async throws -> ContractMilestones {
        try params.validate()
        let rows = try await database.query("""
            SELECT c.reference, s.number AS supplier, s.name, c.ends_on::text AS ends_on,
                   (c.ends_on - c.notice_days)::text AS notice_deadline,
                   (c.ends_on - c.notice_days) - \(today)::date AS days_to_notice
            FROM supplier.contract c JOIN supplier.supplier s ON s.id = c.supplier_id
            WHERE c.status = 'active' AND c.ends_on >= \(today)::date
              AND (c.ends_on - c.notice_days) <= \(today)::date + \(params.days)::integer
            ORDER BY c.ends_on - c.notice_days, c.reference
            """)
        return ContractMilestones(items: try rows.map { row in
            ContractMilestone(contract: try row.decode(String.self, "reference"), supplier: try row.decode(String.self, "supplier"),
                              name: try row.decode(String.self, "name"), endsOn: try row.decode(String.self, "ends_on"),
                              noticeDeadline: try row.decode(String.self, "notice_deadline"),
                              daysToNoticeDeadline: try row.decode(Int.self, "days_to_notice"))
        })
    }

    @discardableResult
    public func announceMilestones(today: Date = Date()) async throws -> [String] {
        let warning = settings.expiryWarningDays
        let due = try await database.query("""
            SELECT c.id, c.reference, s.number AS supplier, s.name, c.ends_on::text AS ends_on,
                   (c.ends_on - c.notice_days)::text AS notice_deadline,
                   (c.ends_on - c.notice_days) - \(today)::date AS days_to_notice,
                   \(today)::date > c.ends_on AS ended
            FROM supplier.contract c JOIN supplier.supplier s ON s.id = c.supplier_id
            WHERE c.status = 'active' AND \(today)::date >= (c.ends_on - c.notice_days - \(warning)::integer)
            ORDER BY c.ends_on
            """)
        var announced: [String] = []
        for row in due {
            let id = try row.decode(UUID.self, "id")
            let reference = try row.decode(String.self, "reference")
            let ended = try row.decode(Bool.self, "ended")
            let (kind, type, date) = ended
                ? ("expired", SupplierEvents.contractExpired, try row.decode(String.self, "ends_on"))
                : ("notice_deadline", SupplierEvents.contractExpiring, try row.decode(String.self, "notice_deadline"))
            let published = try await database.withTransaction { tx in
                let claimed = try await tx.query("""
                    INSERT INTO supplier.milestone (contract_id, kind, due_on) VALUES (\(id), \(kind), \(date)::date)
                    ON CONFLICT DO NOTHING RETURNING contract_id
                    """)
                guard !claimed.isEmpty else { return false }
                let payload = ContractMilestone(
                    contract: reference, supplier: try row.decode(String.self, "supplier"), name: try row.decode(String.self, "name"),
                    endsOn: try row.decode(String.self, "ends_on"), noticeDeadline: try row.decode(String.self, "notice_deadline"),
                    daysToNoticeDeadline: try row.decode(Int.self, "days_to_notice"))
                try await tx.publish(type, subject: reference, data: payload)
                return true
            }
            if published { announced.append("\(type.name) \(reference)") }
        }
        return announced
    }
}
