import Foundation
import ITSMCalendar
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import SupplierProtocol

/// Suppliers, contracts, reviews, disputes and actions. Every change writes its history row and
/// its event in the same transaction.
public struct SupplierStore: Sendable {
    public let database: PluginDatabase
    public let settings: SupplierSettings

    public init(database: PluginDatabase, settings: SupplierSettings = SupplierSettings()) {
        self.database = database
        self.settings = settings
    }

    // MARK: - Suppliers

    public func create(_ params: CreateSupplier, actor: String) async throws -> Supplier {
        let name = try Validation.text(params.name, "name", max: 200)
        let contacts = try PostgresJSON(encoding: try Self.validated(params.contacts ?? []))
        do {
            return try await database.withTransaction { tx in
                let supplier = try Supplier(row: try await tx.query("""
                    INSERT INTO supplier.supplier (name, kind, contacts, services, cis, owner, created_by)
                    VALUES (\(name), \(params.kind.rawValue), \(contacts), \(Self.names(params.services)),
                        \(Self.names(params.configurationItems)), \(params.owner), \(actor))
                    RETURNING \(unsafeSQL: Supplier.columns)
                    """).single())
                try await recordHistory(tx, supplier.id, actor: actor, record: supplier.number, field: "name", old: nil, new: name)
                try await tx.publish(SupplierEvents.created, subject: supplier.id.uuidString.lowercased(), data: supplier)
                return supplier
            }
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw ResponseError.business(kind: "supplier.duplicate", message: "a supplier named '\(name)' exists already")
        }
    }

    public func update(_ params: UpdateSupplier, actor: String) async throws -> Supplier {
        try await database.withTransaction { tx in
            let current = try await load(tx, params.supplier, lock: true)
            var fields = FieldChanges()
            if let name = params.name { fields.set("name", "name", current.name, try Validation.text(name, "name", max: 200)) }
            if let kind = params.kind { fields.set("kind", "kind", current.kind.rawValue, kind.rawValue) }
            if let status = params.status { fields.set("status", "status", current.status.rawValue, status.rawValue) }
            if let owner = params.owner { fields.set("owner", "owner", current.owner, owner.isEmpty ? nil : owner) }
            if let services = params.services {
                let names = try Self.names(services)
                fields.set("services", "services", current.services.joined(separator: ", "), names.joined(separator: ", "), value: names)
            }
            if let items = params.configurationItems {
                let names = try Self.names(items)
                fields.set("configurationItems", "cis", current.configurationItems.joined(separator: ", "), names.joined(separator: ", "),
                           value: names)
            }
            if let contacts = params.contacts {
                let validated = try Self.validated(contacts)
                fields.set("contacts", "contacts", current.contacts.map(\.name).joined(separator: ", "),
                           validated.map(\.name).joined(separator: ", "), value: try PostgresJSON(encoding: validated))
            }
            guard !fields.isEmpty else { return current }
            var update: PostgresQuery = "UPDATE supplier.supplier SET updated_at = now()"
            update.append(fields.assignments)
            update.append(" WHERE id = \(current.id) RETURNING \(unsafeSQL: Supplier.columns)")
            let updated = try Supplier(row: try await tx.query(update).single())
            for change in fields.changes {
                try await recordHistory(tx, current.id, actor: actor, record: current.number, field: change.field, old: change.old, new: change.new)
            }
            try await tx.publish(SupplierEvents.updated, subject: current.id.uuidString.lowercased(), data: updated)
            return updated
        }
    }

    public func list(_ params: ListSuppliers) async throws -> SupplierList {
        let status = params.status?.rawValue
        let kind = params.kind?.rawValue
        var query: PostgresQuery = """
            SELECT \(unsafeSQL: Supplier.columns) FROM supplier.supplier
            WHERE (\(status)::text IS NULL OR status = \(status)) AND (\(kind)::text IS NULL OR kind = \(kind))
            """
        try query.appendPeriods(params.recordPeriods)
        query.append(" ORDER BY lower(name)")
        return SupplierList(items: try await database.query(query).map(Supplier.init(row:)))
    }

    public func get(_ params: SupplierKey) async throws -> SupplierDetail {
        try await database.withTransaction { tx in
            let supplier = try await load(tx, params.supplier, lock: false)
            let reviews = try await tx.query("""
                SELECT id, held_on::text AS held_on, attendees, findings, recorded_by FROM supplier.review
                WHERE supplier_id = \(supplier.id) ORDER BY held_on DESC, id DESC
                """).map { row in
                SupplierReview(id: try row.decode(Int.self, "id"), heldOn: try row.decode(String.self, "held_on"),
                               attendees: try row.decode([String].self, "attendees"), findings: try row.decode(String.self, "findings"),
                               recordedBy: try row.decode(String.self, "recorded_by"))
            }
            let disputes = try await tx.query("""
                SELECT d.id, c.reference, d.subject, d.description, d.amount::float8 AS amount, d.currency, d.status, d.resolution,
                       d.raised_by, d.raised_at
                FROM supplier.dispute d LEFT JOIN supplier.contract c ON c.id = d.contract_id
                WHERE d.supplier_id = \(supplier.id) ORDER BY d.id DESC
                """).map { row in
                Dispute(id: try row.decode(Int.self, "id"), contract: try row.decode(String?.self, "reference"),
                        subject: try row.decode(String.self, "subject"), description: try row.decode(String.self, "description"),
                        amount: try row.decode(Double?.self, "amount"), currency: try row.decode(String?.self, "currency"),
                        status: try row.decode(String.self, "status"), resolution: try row.decode(String?.self, "resolution"),
                        raisedBy: try row.decode(String.self, "raised_by"), raisedAt: try row.decode(Date.self, "raised_at"))
            }
            var history: [SupplierHistoryEntry]?
            if params.history == true {
                history = try await tx.query("""
                    SELECT at, actor, record, field, old_value, new_value FROM supplier.history WHERE supplier_id = \(supplier.id) ORDER BY id
                    """).map { row in
                    SupplierHistoryEntry(at: try row.decode(Date.self, "at"), actor: try row.decode(String.self, "actor"),
                                 record: try row.decode(String.self, "record"), field: try row.decode(String.self, "field"),
                                 oldValue: try row.decode(String?.self, "old_value"), newValue: try row.decode(String?.self, "new_value"))
                }
            }
            return SupplierDetail(supplier: supplier, contracts: try await contracts(tx, of: supplier.id), reviews: reviews,
                                  disputes: disputes, actions: try await actions(tx, of: supplier.id), history: history)
        }
    }

    // MARK: - Contracts

    public func addContract(_ params: AddContract, actor: String) async throws -> Contract {
        let reference = try Validation.text(params.reference, "reference", max: 100)
        let starts = try Validation.date(params.startsOn, "startsOn")
        let ends = try Validation.date(params.endsOn, "endsOn")
        guard ends >= starts else { throw ResponseError.invalidParams("endsOn: on or after startsOn") }
        let calendar = params.calendar ?? settings.calendar
        _ = try calendar.make()
        let targets = try (params.targets ?? []).map(Self.validated)
        if let currency = params.currency, currency.range(of: "^[A-Z]{3}$", options: .regularExpression) == nil {
            throw ResponseError.invalidParams("currency: three capital letters, e.g. EUR")
        }
        if let days = params.noticeDays, days < 0 { throw ResponseError.invalidParams("noticeDays: 0 or more") }
        do {
            return try await database.withTransaction { tx in
                let supplier = try await load(tx, params.supplier, lock: true)
                let id = try await tx.query("""
                    INSERT INTO supplier.contract (supplier_id, reference, scope, starts_on, ends_on, notice_days, renewal, value, currency,
                        documents, calendar, created_by)
                    VALUES (\(supplier.id), \(reference), \(params.scope ?? ""), \(starts)::date, \(ends)::date, \(params.noticeDays ?? 90),
                        \((params.renewal ?? .manual).rawValue), \(params.value), \(params.currency), \(params.documents ?? []),
                        \(try PostgresJSON(encoding: calendar)), \(actor))
                    RETURNING id
                    """).single().decode(UUID.self, "id")
                for target in targets {
                    try await tx.query("""
                        INSERT INTO supplier.target (contract_id, kind, priority, minutes, business_hours, percent, description)
                        VALUES (\(id), \(target.kind.rawValue), \(target.priority), \(target.minutes), \(target.businessHours ?? true),
                            \(target.percent), \(target.description ?? ""))
                        """)
                }
                let contract = try await self.contract(tx, id: id)
                try await recordHistory(tx, supplier.id, actor: actor, record: reference, field: "contract", old: nil,
                                        new: "\(starts) to \(ends), \(targets.count) targets")
                try await tx.publish(SupplierEvents.contractAdded, subject: supplier.id.uuidString.lowercased(), data: contract)
                return contract
            }
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw ResponseError.business(kind: "supplier.duplicate", message: "a contract '\(reference)' exists already")
        }
    }

    public func updateContract(_ params: UpdateContract, actor: String) async throws -> Contract {
        try await database.withTransaction { tx in
            guard let row = try await tx.query("""
                SELECT \(unsafeSQL: Contract.columns), c.supplier_id FROM supplier.contract c JOIN supplier.supplier s ON s.id = c.supplier_id
                WHERE c.reference = \(params.reference) FOR UPDATE OF c
                """).first else {
                throw ResponseError.business(kind: "supplier.contract_not_found", message: "no contract \(params.reference)")
            }
            let current = try Contract(row: row, targets: [])
            let supplierID = try row.decode(UUID.self, "supplier_id")
            var changes: [(String, String?, String?)] = []
            var update: PostgresQuery = "UPDATE supplier.contract SET updated_at = now()"
            if let ends = params.endsOn {
                let ends = try Validation.date(ends, "endsOn")
                guard ends >= current.startsOn else { throw ResponseError.invalidParams("endsOn: on or after startsOn") }
                update.append(", ends_on = \(ends)::date")
                changes.append(("endsOn", current.endsOn, ends))
            }
            if let days = params.noticeDays {
                guard days >= 0 else { throw ResponseError.invalidParams("noticeDays: 0 or more") }
                update.append(", notice_days = \(days)")
                changes.append(("noticeDays", String(current.noticeDays), String(days)))
            }
            if let renewal = params.renewal {
                update.append(", renewal = \(renewal.rawValue)")
                changes.append(("renewal", current.renewal.rawValue, renewal.rawValue))
            }
            if let value = params.value {
                update.append(", value = \(value)")
                changes.append(("value", current.value.map { String($0) }, String(value)))
            }
            if let documents = params.documents {
                update.append(", documents = \(documents)")
                changes.append(("documents", current.documents.joined(separator: ", "), documents.joined(separator: ", ")))
            }
            if let status = params.status {
                guard ["active", "terminated"].contains(status) else { throw ResponseError.invalidParams("status: active or terminated") }
                update.append(", status = \(status)")
                changes.append(("status", current.status, status))
            }
            update.append(" WHERE id = \(current.id)")
            try await tx.query(update)
            for (field, old, new) in changes where old != new {
                try await recordHistory(tx, supplierID, actor: actor, record: current.reference, field: field, old: old, new: new)
            }
            return try await contract(tx, id: current.id)
        }
    }

    func contracts(_ tx: PluginTransaction, of supplier: UUID) async throws -> [Contract] {
        let ids = try await tx.query("SELECT id FROM supplier.contract WHERE supplier_id = \(supplier) ORDER BY starts_on DESC, reference")
            .map { try $0.decode(UUID.self, "id") }
        var contracts: [Contract] = []
        for id in ids { contracts.append(try await contract(tx, id: id)) }
        return contracts
    }

    func contract(_ tx: PluginTransaction, id: UUID) async throws -> Contract {
        let targets = try await tx.query("""
            SELECT id, kind, priority, minutes, business_hours, percent::float8 AS percent, description FROM supplier.target
            WHERE contract_id = \(id) ORDER BY id
            """).map { row in
            var target = Target(kind: TargetKind(rawValue: try row.decode(String.self, "kind")) ?? .other,
                                priority: try row.decode(String?.self, "priority"), minutes: try row.decode(Int?.self, "minutes"),
                                businessHours: try row.decode(Bool.self, "business_hours"), percent: try row.decode(Double?.self, "percent"),
                                description: try row.decode(String.self, "description"))
            target.id = try row.decode(Int.self, "id")
            return target
        }
        return try Contract(row: try await tx.query("""
            SELECT \(unsafeSQL: Contract.columns) FROM supplier.contract c JOIN supplier.supplier s ON s.id = c.supplier_id WHERE c.id = \(id)
            """).single(), targets: targets)
    }

    // MARK: - Reviews, disputes, actions

    public func recordReview(_ params: RecordReview, actor: String) async throws -> SupplierDetail {
        let held = try Validation.date(params.heldOn, "heldOn")
        let findings = try Validation.text(params.findings, "findings", max: 10_000)
        let items = try (params.actions ?? []).map { item in
            (try Validation.text(item.description, "actions.description", max: 500), try Validation.text(item.owner, "actions.owner", max: 200),
             try Validation.date(item.dueOn, "actions.dueOn"))
        }
        let supplier = try await database.withTransaction { tx in
            let supplier = try await load(tx, params.supplier, lock: true)
            let review = try await tx.query("""
                INSERT INTO supplier.review (supplier_id, held_on, attendees, findings, recorded_by)
                VALUES (\(supplier.id), \(held)::date, \(params.attendees), \(findings), \(actor)) RETURNING id
                """).single().decode(Int.self, "id")
            for (description, owner, due) in items {
                try await tx.query("""
                    INSERT INTO supplier.action (supplier_id, review_id, description, owner, due_on, created_by)
                    VALUES (\(supplier.id), \(review), \(description), \(owner), \(due)::date, \(actor))
                    """)
            }
            try await recordHistory(tx, supplier.id, actor: actor, record: "review \(review)", field: "review", old: nil, new: held)
            return supplier.number
        }
        return try await get(SupplierKey(supplier: supplier))
    }

    public func openDispute(_ params: OpenDispute, actor: String) async throws -> Dispute {
        let subject = try Validation.text(params.subject, "subject", max: 200)
        return try await database.withTransaction { tx in
            let supplier = try await load(tx, params.supplier, lock: true)
            var contract: UUID?
            if let reference = params.contract {
                contract = try await tx.query("SELECT id FROM supplier.contract WHERE reference = \(reference) AND supplier_id = \(supplier.id)")
                    .first?.decode(UUID.self, "id")
                guard contract != nil else {
                    throw ResponseError.business(kind: "supplier.contract_not_found", message: "\(supplier.number) has no contract \(reference)")
                }
            }
            let id = try await tx.query("""
                INSERT INTO supplier.dispute (supplier_id, contract_id, subject, description, amount, currency, raised_by)
                VALUES (\(supplier.id), \(contract), \(subject), \(params.description ?? ""), \(params.amount), \(params.currency), \(actor))
                RETURNING id
                """).single().decode(Int.self, "id")
            try await recordHistory(tx, supplier.id, actor: actor, record: "dispute \(id)", field: "status", old: nil, new: "open")
            return try await dispute(tx, id: id)
        }
    }

    public func resolveDispute(_ params: ResolveDispute, actor: String) async throws -> Dispute {
        let resolution = try Validation.text(params.resolution, "resolution", max: 10_000)
        return try await database.withTransaction { tx in
            guard let supplier = try await tx.query("""
                UPDATE supplier.dispute SET status = 'resolved', resolution = \(resolution), resolved_at = now()
                WHERE id = \(params.id) AND status = 'open' RETURNING supplier_id
                """).first?.decode(UUID.self, "supplier_id") else {
                throw ResponseError.business(kind: "supplier.invalid_transition", message: "no open dispute \(params.id)")
            }
            try await recordHistory(tx, supplier, actor: actor, record: "dispute \(params.id)", field: "status", old: "open", new: "resolved")
            return try await dispute(tx, id: params.id)
        }
    }

    public func addAction(_ params: AddAction, actor: String) async throws -> SupplierAction {
        let description = try Validation.text(params.description, "description", max: 500)
        let owner = try Validation.text(params.owner, "owner", max: 200)
        let due = try Validation.date(params.dueOn, "dueOn")
        return try await database.withTransaction { tx in
            let supplier = try await load(tx, params.supplier, lock: true)
            let id = try await tx.query("""
                INSERT INTO supplier.action (supplier_id, dispute_id, description, owner, due_on, created_by)
                VALUES (\(supplier.id), \(params.dispute), \(description), \(owner), \(due)::date, \(actor)) RETURNING id
                """).single().decode(Int.self, "id")
            try await recordHistory(tx, supplier.id, actor: actor, record: "action \(id)", field: "status", old: nil, new: "open")
            return try await actions(tx, of: supplier.id).first { $0.id == id }!
        }
    }

    public func completeAction(_ params: ActionKey, actor: String) async throws -> SupplierAction {
        try await database.withTransaction { tx in
            guard let supplier = try await tx.query("""
                UPDATE supplier.action SET status = 'done', done_at = now() WHERE id = \(params.id) AND status = 'open' RETURNING supplier_id
                """).first?.decode(UUID.self, "supplier_id") else {
                throw ResponseError.business(kind: "supplier.invalid_transition", message: "no open action \(params.id)")
            }
            try await recordHistory(tx, supplier, actor: actor, record: "action \(params.id)", field: "status", old: "open", new: "done")
            return try await actions(tx, of: supplier).first { $0.id == params.id }!
        }
    }

    func dispute(_ tx: PluginTransaction, id: Int) async throws -> Dispute {
        let row = try await tx.query("""
            SELECT d.id, c.reference, d.subject, d.description, d.amount::float8 AS amount, d.currency, d.status, d.resolution,
                   d.raised_by, d.raised_at
            FROM supplier.dispute d LEFT JOIN supplier.contract c ON c.id = d.contract_id WHERE d.id = \(id)
            """).single()
        return Dispute(id: try row.decode(Int.self, "id"), contract: try row.decode(String?.self, "reference"),
                       subject: try row.decode(String.self, "subject"), description: try row.decode(String.self, "description"),
                       amount: try row.decode(Double?.self, "amount"), currency: try row.decode(String?.self, "currency"),
                       status: try row.decode(String.self, "status"), resolution: try row.decode(String?.self, "resolution"),
                       raisedBy: try row.decode(String.self, "raised_by"), raisedAt: try row.decode(Date.self, "raised_at"))
    }

    func actions(_ tx: PluginTransaction, of supplier: UUID) async throws -> [SupplierAction] {
        try await tx.query("""
            SELECT id, description, owner, due_on::text AS due_on, status, (status = 'open' AND due_on < current_date) AS overdue,
                   review_id, dispute_id
            FROM supplier.action WHERE supplier_id = \(supplier) ORDER BY status, due_on, id
            """).map { row in
            SupplierAction(id: try row.decode(Int.self, "id"), description: try row.decode(String.self, "description"),
                           owner: try row.decode(String.self, "owner"), dueOn: try row.decode(String.self, "due_on"),
                           status: try row.decode(String.self, "status"), overdue: try row.decode(Bool.self, "overdue"),
                           review: try row.decode(Int?.self, "review_id"), dispute: try row.decode(Int?.self, "dispute_id"))
        }
    }

    // MARK: - Shared

    func load(_ tx: PluginTransaction, _ key: String, lock: Bool) async throws -> Supplier {
        guard let row = try await tx.query("""
            SELECT \(unsafeSQL: Supplier.columns) FROM supplier.supplier WHERE number = \(key) OR lower(name) = lower(\(key))
            \(unsafeSQL: lock ? "FOR UPDATE" : "")
            """).first else {
            throw ResponseError.business(kind: "supplier.not_found", message: "no supplier '\(key)'")
        }
        return try Supplier(row: row)
    }

    func recordHistory(_ tx: PluginTransaction, _ supplier: UUID, actor: String, record: String, field: String,
                       old: String?, new: String?) async throws {
        try await tx.query("""
            INSERT INTO supplier.history (supplier_id, actor, record, field, old_value, new_value)
            VALUES (\(supplier), \(actor), \(record), \(field), \(old), \(new))
            """)
    }

    static func names(_ values: [String]?) throws -> [String] {
        let names = (values ?? []).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard names.count <= 100, names.allSatisfy({ $0.count <= 200 }) else {
            throw ResponseError.invalidParams("at most 100 names of at most 200 characters")
        }
        return Array(Set(names)).sorted()
    }

    static func validated(_ contacts: [Contact]) throws -> [Contact] {
        try contacts.map { contact in
            var contact = contact
            contact.name = try Validation.text(contact.name, "contacts.name", max: 200)
            if let email = contact.email, !email.contains("@") { throw ResponseError.invalidParams("contacts.email: '\(email)' is not an address") }
            return contact
        }
    }

    static func validated(_ target: Target) throws -> Target {
        if let priority = target.priority, priority.range(of: "^P[1-5]$", options: .regularExpression) == nil {
            throw ResponseError.invalidParams("targets.priority: P1 to P5")
        }
        switch target.kind {
        case .response, .resolution:
            guard let minutes = target.minutes, minutes > 0 else {
                throw ResponseError.invalidParams("targets: a \(target.kind.rawValue) target needs minutes > 0")
            }
        case .availability:
            guard let percent = target.percent, (0...100).contains(percent) else {
                throw ResponseError.invalidParams("targets: an availability target needs percent from 0 to 100")
            }
        case .other:
            guard !(target.description ?? "").isEmpty else { throw ResponseError.invalidParams("targets: describe the term") }
        }
        return target
    }
}

extension ListSuppliers: RecordPeriods {}
