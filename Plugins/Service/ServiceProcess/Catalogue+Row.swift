import Foundation
import ITSMCalendar
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// Reading records from the database, apart from the records themselves (ServiceProtocol).
extension Service {
    static let columns = "name, description, owner, status, customers, cis, created_at, updated_at"

    init(row: PostgresRow) throws {
        self.init(
            name: try row.decode(String.self, "name"),
            description: try row.decode(String.self, "description"),
            owner: try row.decode(String?.self, "owner"),
            status: ServiceStatus(rawValue: try row.decode(String.self, "status")) ?? .live,
            customers: try row.decode([String].self, "customers"),
            configurationItems: try row.decode([String].self, "cis"),
            createdAt: try row.decode(Date.self, "created_at"),
            updatedAt: try row.decode(Date.self, "updated_at"))
    }
}

extension Agreement {
    static let columns = """
        a.reference, c.name AS customer, s.name AS service, a.status, a.valid_from::text AS valid_from, a.valid_to::text AS valid_to,
        a.review_due::text AS review_due, a.targets, a.calendar, a.created_at, a.updated_at
        """
    static let joins = "service.agreement a JOIN service.customer c ON c.id = a.customer_id JOIN service.service s ON s.id = a.service_id"

    init(row: PostgresRow) throws {
        self.init(
            reference: try row.decode(String.self, "reference"),
            customer: try row.decode(String.self, "customer"),
            service: try row.decode(String.self, "service"),
            status: Status(rawValue: try row.decode(String.self, "status")) ?? .draft,
            validFrom: try row.decode(String.self, "valid_from"),
            validTo: try row.decode(String.self, "valid_to"),
            reviewDue: try row.decode(String?.self, "review_due"),
            targets: try row.decode(PostgresJSON.self, "targets").decode(AgreementTargets.self),
            calendar: try row.decode(PostgresJSON.self, "calendar").decode(CalendarDefinition.self),
            createdAt: try row.decode(Date.self, "created_at"),
            updatedAt: try row.decode(Date.self, "updated_at"))
    }
}

extension RequestItem {
    static let columns = """
        i.name, s.name AS service, i.title, i.description, i.form, i.approvals, i.tasks, i.target_minutes, i.calendar, i.active,
        i.created_at, i.updated_at
        """

    init(row: PostgresRow) throws {
        self.init(
            name: try row.decode(String.self, "name"), service: try row.decode(String.self, "service"),
            title: try row.decode(String.self, "title"), description: try row.decode(String.self, "description"),
            form: try row.decode(PostgresJSON.self, "form").decode(JSONValue.self),
            approvals: try row.decode(PostgresJSON.self, "approvals").decode([Approver].self),
            tasks: try row.decode(PostgresJSON.self, "tasks").decode([TaskTemplate].self),
            targetMinutes: try row.decode(Int.self, "target_minutes"),
            calendar: try row.decode(PostgresJSON.self, "calendar").decode(CalendarDefinition.self),
            active: try row.decode(Bool.self, "active"), createdAt: try row.decode(Date.self, "created_at"),
            updatedAt: try row.decode(Date.self, "updated_at"))
    }
}

extension ListRequests: RecordPeriods {}
