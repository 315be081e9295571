import Foundation
import ITSMCalendar
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// The service catalogue and the request catalogue. Every change writes its history rows and
/// its event in the same transaction; requests live in `ServiceStore+Requests`.
public struct ServiceStore: Sendable {
    public let database: PluginDatabase
    public let settings: ServiceSettings
    /// The time changes are made at: a parameter so the tests can measure a clock by hand.
    let now: @Sendable () -> Date

    public init(database: PluginDatabase, settings: ServiceSettings = ServiceSettings(), now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.settings = settings
        self.now = now
    }

    // MARK: - Services

    public func setService(_ params: SetService, actor: String) async throws -> Service {
        let name = try Validation.text(params.name, "name", max: 100)
        let description = try params.description.map { try Self.longText($0, "description") }
        let customers = try params.customers.map { try Self.names($0, "customers") }
        let items = try params.configurationItems.map { try Self.names($0, "configurationItems") }
        return try await database.withTransaction { tx in
            let at = now()
            let existing = try await tx.query("""
                SELECT \(unsafeSQL: Service.columns) FROM service.service WHERE lower(name) = lower(\(name)) FOR UPDATE
                """).first.map(Service.init(row:))
            guard let current = existing else {
                let service = try Service(row: try await tx.query("""
                    INSERT INTO service.service (name, description, owner, status, customers, cis, created_by, created_at, updated_at)
                    VALUES (\(name), \(description ?? ""), \(params.owner), \((params.status ?? .live).rawValue), \(customers ?? []),
                            \(items ?? []), \(actor), \(at), \(at))
                    RETURNING \(unsafeSQL: Service.columns)
                    """).single())
                try await recordHistory(tx, "service:\(service.name)", actor: actor, at: at, field: "status", old: nil, new: service.status.rawValue)
                try await tx.publish(ServiceEvents.serviceChanged, subject: service.name, data: service)
                return service
            }
            var fields = FieldChanges()
            if let description { fields.set("description", "description", current.description, description) }
            if let owner = params.owner { fields.set("owner", "owner", current.owner, owner.isEmpty ? nil : owner) }
            if let status = params.status { fields.set("status", "status", current.status.rawValue, status.rawValue) }
            if let customers {
                fields.set("customers", "customers", current.customers.joined(separator: ", "), customers.joined(separator: ", "), value: customers)
            }
            if let items {
                fields.set("configurationItems", "cis", current.configurationItems.joined(separator: ", "), items.joined(separator: ", "),
                           value: items)
            }
            guard !fields.isEmpty else { return current }
            var update: PostgresQuery = "UPDATE service.service SET updated_at = \(at)"
            update.append(fields.assignments)
            update.append(" WHERE lower(name) = lower(\(name)) RETURNING \(unsafeSQL: Service.columns)")
            let service = try Service(row: try await tx.query(update).single())
            for change in fields.changes {
                try await recordHistory(tx, "service:\(service.name)", actor: actor, at: at, field: change.field, old: change.old, new: change.new)
            }
            try await tx.publish(ServiceEvents.serviceChanged, subject: service.name, data: service)
            return service
        }
    }

    /// Adds to the catalogue each service name `source`'s records use that it does not know
    /// (matched without regard to case), so the names in use stay valid once the catalogue
    /// decides; records that once. Returns the names added.
    public func adopt(_ names: [(name: String, records: Int)], from source: String, actor: String = "plugin:service") async throws -> [String] {
        var added: [String] = []
        for (name, records) in names {
            guard let valid = try? Validation.text(name, "name", max: 100),
                  try await database.query("SELECT 1 FROM service.service WHERE lower(name) = lower(\(valid))").isEmpty else { continue }
            _ = try await setService(SetService(name: valid, description: "Named by \(records) \(source) records before the catalogue had it"),
                                     actor: actor)
            added.append(valid)
        }
        try await database.query("""
            INSERT INTO service.adoption (source, names) VALUES (\(source), \(added)) ON CONFLICT (source) DO NOTHING
            """)
        return added
    }

    /// Whether `source`'s service names were adopted already.
    public func adopted(from source: String) async throws -> Bool {
        try await !database.query("SELECT 1 FROM service.adoption WHERE source = \(source)").isEmpty
    }

    public func service(_ key: ServiceKey) async throws -> ServiceDetail {
        try await database.withTransaction { tx in
            guard let service = try await tx.query("""
                SELECT \(unsafeSQL: Service.columns) FROM service.service WHERE lower(name) = lower(\(key.name))
                """).first.map(Service.init(row:)) else { throw Self.serviceNotFound(key.name) }
            let items = try await tx.query("""
                SELECT \(unsafeSQL: RequestItem.columns) FROM service.item i JOIN service.service s ON s.id = i.service_id
                WHERE lower(s.name) = lower(\(key.name)) ORDER BY i.name
                """).map(RequestItem.init(row:))
            let history = key.history == true ? try await self.history(tx, "service:\(service.name)") : nil
            return ServiceDetail(service: service, items: items, history: history)
        }
    }

    public func services(_ params: ListServices) async throws -> ServiceList {
        let status = params.status?.rawValue
        return ServiceList(items: try await database.query("""
            SELECT \(unsafeSQL: Service.columns) FROM service.service
            WHERE (\(status)::text IS NULL OR status = \(status)) ORDER BY lower(name)
            """).map(Service.init(row:)))
    }

    // MARK: - Request catalogue

    public func setItem(_ params: SetRequestItem, actor: String) async throws -> RequestItem {
        guard params.name.range(of: "^[a-z0-9][a-z0-9-]{0,62}$", options: .regularExpression) != nil else {
            throw ResponseError.invalidParams("name: lower-case letters, digits and dashes, up to 63, e.g. laptop")
        }
        let title = try Validation.text(params.title, "title", max: 200)
        let description = try Self.longText(params.description ?? "", "description")
        let form = params.form ?? ["type": "object", "properties": .object([:])]
        _ = try RequestForm(form)
        let approvals = params.approvals ?? []
        guard approvals.count <= 5 else { throw ResponseError.invalidParams("approvals: at most 5 levels") }
        for (index, approver) in approvals.enumerated() {
            if approver.kind == .manager {
                guard approver.name == nil else { throw ResponseError.invalidParams("approvals[\(index)].name: none for the manager, who is the requester's") }
            } else {
                _ = try Validation.text(approver.name ?? "", "approvals[\(index)].name", max: 100)
            }
            for (field, value) in [("remindAfterMinutes", approver.remindAfterMinutes), ("timeoutMinutes", approver.timeoutMinutes)] {
                if let value, !(1...525_600).contains(value) { throw ResponseError.invalidParams("approvals[\(index)].\(field): 1 to 525600") }
            }
            if let remind = approver.remindAfterMinutes, let timeout = approver.timeoutMinutes, remind >= timeout {
                throw ResponseError.invalidParams("approvals[\(index)].remindAfterMinutes: before timeoutMinutes, or the reminder comes too late")
            }
            if approver.onTimeout != nil && approver.timeoutMinutes == nil {
                throw ResponseError.invalidParams("approvals[\(index)].onTimeout: needs timeoutMinutes")
            }
        }
        let tasks = try TaskTemplate.resolved(params.tasks)
        guard (1...525_600).contains(params.targetMinutes) else {
            throw ResponseError.invalidParams("targetMinutes: 1 to 525600 business minutes")
        }
        let calendar = params.calendar ?? settings.calendar
        do { _ = try calendar.make() } catch { throw ResponseError.invalidParams("calendar: \(error)") }
        return try await database.withTransaction { tx in
            let at = now()
            guard let serviceId = try await tx.query("""
                SELECT id FROM service.service WHERE lower(name) = lower(\(params.service)) AND status <> 'retired'
                """).first?.decode(UUID.self, "id") else {
                throw ResponseError.invalidParams("service: no service '\(params.service)' in the catalogue that is not retired")
            }
            let before = try await tx.query("""
                SELECT \(unsafeSQL: RequestItem.columns) FROM service.item i JOIN service.service s ON s.id = i.service_id
                WHERE i.name = \(params.name) FOR UPDATE OF i
                """).first.map(RequestItem.init(row:))
            try await tx.query("""
                INSERT INTO service.item (name, service_id, title, description, form, approvals, tasks, target_minutes, calendar, active,
                                          created_by, created_at, updated_at)
                VALUES (\(params.name), \(serviceId), \(title), \(description), \(try PostgresJSON(encoding: form)),
                        \(try PostgresJSON(encoding: approvals)), \(try PostgresJSON(encoding: tasks)), \(params.targetMinutes),
                        \(try PostgresJSON(encoding: calendar)), \(params.active ?? true), \(actor), \(at), \(at))
                ON CONFLICT (name) DO UPDATE SET service_id = EXCLUDED.service_id, title = EXCLUDED.title,
                    description = EXCLUDED.description, form = EXCLUDED.form, approvals = EXCLUDED.approvals, tasks = EXCLUDED.tasks,
                    target_minutes = EXCLUDED.target_minutes, calendar = EXCLUDED.calendar, active = EXCLUDED.active,
                    updated_at = EXCLUDED.updated_at
                """)
            let item = try await self.item(tx, params.name)
            let record = "item:\(item.name)"
            if let before {
                let changes: [(String, String, String)] = [
                    ("service", before.service, item.service), ("title", before.title, item.title),
                    ("description", before.description, item.description),
                    ("form", Self.text(before.form), Self.text(item.form)),
                    ("approvals", before.approvals.map(\.description).joined(separator: ", "), item.approvals.map(\.description).joined(separator: ", ")),
                    ("tasks", before.tasks.map(\.name).joined(separator: ", "), item.tasks.map(\.name).joined(separator: ", ")),
                    ("targetMinutes", String(before.targetMinutes), String(item.targetMinutes)),
                    ("calendar", Self.text(before.calendar), Self.text(item.calendar)),
                    ("active", String(before.active), String(item.active)),
                ]
                for (field, old, new) in changes where old != new {
                    try await recordHistory(tx, record, actor: actor, at: at, field: field, old: old, new: new)
                }
            } else {
                try await recordHistory(tx, record, actor: actor, at: at, field: "title", old: nil, new: item.title)
            }
            return item
        }
    }

    public func item(_ key: RequestItemKey) async throws -> RequestItem {
        try await database.withTransaction { tx in try await item(tx, key.name) }
    }

    public func items(_ params: ListRequestItems) async throws -> RequestItemList {
        let all = params.includeInactive == true
        return RequestItemList(items: try await database.query("""
            SELECT \(unsafeSQL: RequestItem.columns) FROM service.item i JOIN service.service s ON s.id = i.service_id
            WHERE (\(params.service)::text IS NULL OR lower(s.name) = lower(\(params.service)))
              AND (\(all) OR (i.active AND s.status = 'live'))
            ORDER BY s.name, i.title
            """).map(RequestItem.init(row:)))
    }

    func item(_ tx: PluginTransaction, _ name: String) async throws -> RequestItem {
        guard let item = try await tx.query("""
            SELECT \(unsafeSQL: RequestItem.columns) FROM service.item i JOIN service.service s ON s.id = i.service_id WHERE i.name = \(name)
            """).first.map(RequestItem.init(row:)) else {
            throw ResponseError.business(kind: "request_item.not_found", message: "no request item '\(name)' in the catalogue")
        }
        return item
    }

    // MARK: - History and helpers

    func recordHistory(_ tx: PluginTransaction, _ record: String, actor: String, at: Date, field: String, old: String?, new: String?) async throws {
        try await tx.query("""
            INSERT INTO service.history (record, at, actor, field, old_value, new_value)
            VALUES (\(record), \(at), \(actor), \(field), \(old), \(new))
            """)
    }

    func history(_ tx: PluginTransaction, _ record: String) async throws -> [HistoryEntry] {
        try await tx.query("SELECT at, actor, field, old_value, new_value FROM service.history WHERE record = \(record) ORDER BY id").map { row in
            HistoryEntry(at: try row.decode(Date.self, "at"), actor: try row.decode(String.self, "actor"), field: try row.decode(String.self, "field"),
                         oldValue: try row.decode(String?.self, "old_value"), newValue: try row.decode(String?.self, "new_value"))
        }
    }

    static func names(_ values: [String], _ field: String) throws(ResponseError) -> [String] {
        guard values.count <= 100 else { throw .invalidParams("\(field): at most 100") }
        var names: [String] = []
        for (index, value) in values.enumerated() {
            names.append(try Validation.text(value, "\(field)[\(index)]", max: 200))
        }
        return names
    }

    /// Text that may be empty, up to 4,000 characters, trimmed.
    static func longText(_ value: String, _ field: String) throws(ResponseError) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count <= 4000 else { throw .invalidParams("\(field): at most 4000 characters") }
        return trimmed
    }

    static func text(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    static func serviceNotFound(_ name: String) -> ResponseError {
        .business(kind: "service.not_found", message: "no service '\(name)' in the catalogue")
    }
}

/// The service process's `config:` in itsm.yaml.
///
/// ```yaml
/// - name: service
///   config:
///     calendar: {timeZone: Europe/Berlin, hours: {monday: ["08:00-18:00"], ...}, holidays: ["2026-12-25"]}
/// ```
public struct ServiceSettings: Sendable, Hashable {
    /// Business hours of items that do not give their own.
    public var calendar = CalendarDefinition(timeZone: "UTC", hours: [
        "monday": ["09:00-17:00"], "tuesday": ["09:00-17:00"], "wednesday": ["09:00-17:00"], "thursday": ["09:00-17:00"],
        "friday": ["09:00-17:00"],
    ])

    public init() {}

    public init(config: JSONValue) throws {
        if let calendar = config["calendar"] {
            guard let definition = try? calendar.decode(CalendarDefinition.self) else {
                throw ResponseError.invalidParams("config.calendar: {timeZone, hours: {monday: [\"09:00-17:00\"]}, holidays}")
            }
            _ = try definition.make()
            self.calendar = definition
        }
    }
}
