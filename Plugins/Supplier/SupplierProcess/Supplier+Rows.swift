import Foundation
import ITSMCalendar
import ITSMPostgres
import ITSMProtocol
import SupplierProtocol

// How the contract's records are read from this process's tables.

extension Supplier {
    static let columns = "id, number, name, kind, contacts, services, cis, owner, status, created_at, updated_at"

    init(row: PostgresRow) throws {
        self.init(
            id: try row.decode(UUID.self, "id"), number: try row.decode(String.self, "number"), name: try row.decode(String.self, "name"),
            kind: SupplierKind(rawValue: try row.decode(String.self, "kind")) ?? .external,
            contacts: try row.decode(PostgresJSON.self, "contacts").decode([Contact].self),
            services: try row.decode([String].self, "services"), configurationItems: try row.decode([String].self, "cis"),
            owner: try row.decode(String?.self, "owner"),
            status: SupplierStatus(rawValue: try row.decode(String.self, "status")) ?? .active,
            createdAt: try row.decode(Date.self, "created_at"), updatedAt: try row.decode(Date.self, "updated_at"))
    }
}

extension Contract {
    static let columns = """
        c.id, s.number AS supplier, c.reference, c.scope, c.starts_on::text AS starts_on, c.ends_on::text AS ends_on, c.notice_days,
        (c.ends_on - c.notice_days)::text AS notice_deadline, c.renewal, c.value::float8 AS value, c.currency, c.documents,
        c.calendar, c.status
        """

    init(row: PostgresRow, targets: [Target]) throws {
        self.init(
            id: try row.decode(UUID.self, "id"), supplier: try row.decode(String.self, "supplier"),
            reference: try row.decode(String.self, "reference"), scope: try row.decode(String.self, "scope"),
            startsOn: try row.decode(String.self, "starts_on"), endsOn: try row.decode(String.self, "ends_on"),
            noticeDays: try row.decode(Int.self, "notice_days"), noticeDeadline: try row.decode(String.self, "notice_deadline"),
            renewal: Renewal(rawValue: try row.decode(String.self, "renewal")) ?? .manual, value: try row.decode(Double?.self, "value"),
            currency: try row.decode(String?.self, "currency"), documents: try row.decode([String].self, "documents"),
            calendar: try row.decode(PostgresJSON.self, "calendar").decode(CalendarDefinition.self),
            status: try row.decode(String.self, "status"), targets: targets)
    }
}
