import Foundation
import ITSMCalendar
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// Customers, their service level agreements, and the service reviews held with them.
extension ServiceStore {
    // MARK: - Customers

    public func setCustomer(_ params: SetCustomer, actor: String) async throws -> Customer {
        let name = try Validation.text(params.name, "name", max: 200)
        let description = try params.description.map { try Self.longText($0, "description") }
        let contacts = try params.contacts.map { try Self.names($0, "contacts") }
        return try await database.withTransaction { tx in
            let at = now()
            let before = try await customer(tx, name, lock: true, required: false)
            let id: UUID
            if let before {
                id = before.id
                var fields = FieldChanges()
                if let description { fields.set("description", "description", before.customer.description, description) }
                if let status = params.status { fields.set("status", "status", before.customer.status.rawValue, status.rawValue) }
                if !fields.isEmpty {
                    var update: PostgresQuery = "UPDATE service.customer SET updated_at = \(at)"
                    update.append(fields.assignments)
                    update.append(" WHERE id = \(id)")
                    try await tx.query(update)
                    for change in fields.changes {
                        try await recordHistory(tx, "customer:\(before.customer.name)", actor: actor, at: at, field: change.field,
                                                old: change.old, new: change.new)
                    }
                }
            } else {
                id = try await tx.query("""
                    INSERT INTO service.customer (name, description, status, created_by, created_at, updated_at)
                    VALUES (\(name), \(description ?? ""), \((params.status ?? .active).rawValue), \(actor), \(at), \(at)) RETURNING id
                    """).single().decode(UUID.self, "id")
                try await recordHistory(tx, "customer:\(name)", actor: actor, at: at, field: "name", old: nil, new: name)
            }
            if let contacts {
                for account in contacts {
                    if let other = try await tx.query("""
                        SELECT c.name FROM service.customer_contact k JOIN service.customer c ON c.id = k.customer_id
                        WHERE k.account = \(account) AND k.customer_id <> \(id)
                        """).first?.decode(String.self, "name") {
                        throw ResponseError.invalidParams("contacts: \(account) speaks for \(other) already; a person belongs to one customer")
                    }
                }
                let old = before?.customer.contacts ?? []
                try await tx.query("DELETE FROM service.customer_contact WHERE customer_id = \(id)")
                for account in Set(contacts) {
                    try await tx.query("INSERT INTO service.customer_contact (account, customer_id) VALUES (\(account), \(id))")
                }
                if old.sorted() != Set(contacts).sorted() {
                    try await tx.query("UPDATE service.customer SET updated_at = \(at) WHERE id = \(id)")
                    try await recordHistory(tx, "customer:\(name)", actor: actor, at: at, field: "contacts",
                                            old: old.sorted().joined(separator: ", "), new: Set(contacts).sorted().joined(separator: ", "))
                }
            }
            let customer = try await self.customer(tx, name, lock: false, required: true)!.customer
            if customer != before?.customer {
                try await tx.publish(ServiceEvents.customerChanged, subject: customer.name, data: customer)
            }
            return customer
        }
    }

    public func customer(_ key: CustomerKey) async throws -> CustomerDetail {
        try await database.withTransaction { tx in
            let customer = try await customer(tx, key.name, lock: false, required: true)!.customer
            let agreements = try await tx.query("""
                SELECT \(unsafeSQL: Agreement.columns) FROM \(unsafeSQL: Agreement.joins)
                WHERE lower(c.name) = lower(\(customer.name)) ORDER BY a.valid_from DESC, a.reference
                """).map(Agreement.init(row:))
            let reviews = try await self.reviews(tx, customer: customer.name, openActions: false)
            let history = key.history == true ? try await history(tx, "customer:\(customer.name)") : nil
            return CustomerDetail(customer: customer, agreements: agreements, reviews: reviews, history: history)
        }
    }

    public func customers(_ params: ListCustomers) async throws -> CustomerList {
        try await database.withTransaction { tx in
            let status = params.status?.rawValue
            let names = try await tx.query("""
                SELECT name FROM service.customer WHERE (\(status)::text IS NULL OR status = \(status)) ORDER BY lower(name)
                """).map { try $0.decode(String.self, "name") }
            var items: [Customer] = []
            for name in names { items.append(try await customer(tx, name, lock: false, required: true)!.customer) }
            return CustomerList(items: items)
        }
    }

    func customer(_ tx: PluginTransaction, _ name: String, lock: Bool, required: Bool) async throws -> (id: UUID, customer: Customer)? {
        var query: PostgresQuery = """
            SELECT id, name, description, status, created_at, updated_at,
                   ARRAY(SELECT account FROM service.customer_contact k WHERE k.customer_id = c.id ORDER BY account) AS contacts
            FROM service.customer c WHERE lower(name) = lower(\(name))
            """
        if lock { query.append(" FOR UPDATE") }
        guard let row = try await tx.query(query).first else {
            if required { throw ResponseError.business(kind: "customer.not_found", message: "no customer '\(name.prefix(200))'") }
            return nil
        }
        return (try row.decode(UUID.self, "id"), Customer(
            name: try row.decode(String.self, "name"), description: try row.decode(String.self, "description"),
            status: Customer.Status(rawValue: try row.decode(String.self, "status")) ?? .active, contacts: try row.decode([String].self, "contacts"),
            createdAt: try row.decode(Date.self, "created_at"), updatedAt: try row.decode(Date.self, "updated_at")))
    }

    // MARK: - Agreements

    public func setAgreement(_ params: SetAgreement, actor: String) async throws -> Agreement {
        let reference = try Validation.text(params.reference, "reference", max: 100)
        let from = try Validation.date(params.validFrom, "validFrom")
        let to = try Validation.date(params.validTo, "validTo")
        guard to >= from else { throw ResponseError.invalidParams("validTo: on or after validFrom") }
        if let due = params.reviewDue { try Validation.date(due, "reviewDue") }
        let targets = try Self.checked(params.targets)
        let calendar = params.calendar ?? settings.calendar
        do { _ = try calendar.make() } catch { throw ResponseError.invalidParams("calendar: \(error)") }
        return try await database.withTransaction { tx in
            let at = now()
            let customerId = try await customer(tx, params.customer, lock: false, required: true)!.id
            guard let serviceId = try await tx.query("SELECT id FROM service.service WHERE lower(name) = lower(\(params.service))")
                .first?.decode(UUID.self, "id") else { throw ResponseError.invalidParams("service: no service '\(params.service)' in the catalogue") }
            let before = try await tx.query("""
                SELECT \(unsafeSQL: Agreement.columns) FROM \(unsafeSQL: Agreement.joins) WHERE a.reference = \(reference) FOR UPDATE OF a
                """).first.map(Agreement.init(row:))
            if let before, before.customer.lowercased() != params.customer.lowercased() {
                throw ResponseError.invalidParams("customer: \(reference) is \(before.customer)'s agreement; make a new one for \(params.customer)")
            }
            // Two active agreements for one customer and service may not overlap: which would apply?
            if (params.status ?? .active) == .active, let other = try await tx.query("""
                SELECT reference FROM service.agreement
                WHERE customer_id = \(customerId) AND service_id = \(serviceId) AND status = 'active' AND reference <> \(reference)
                  AND valid_from <= \(to)::date AND valid_to >= \(from)::date
                """).first?.decode(String.self, "reference") {
                throw ResponseError.invalidParams("validFrom: the period overlaps \(other), active for the same customer and service")
            }
            try await tx.query("""
                INSERT INTO service.agreement (reference, customer_id, service_id, status, valid_from, valid_to, review_due, targets, calendar,
                                               created_by, created_at, updated_at)
                VALUES (\(reference), \(customerId), \(serviceId), \((params.status ?? .active).rawValue), \(from)::date, \(to)::date,
                        \(params.reviewDue)::date, \(try PostgresJSON(encoding: targets)), \(try PostgresJSON(encoding: calendar)), \(actor), \(at), \(at))
                ON CONFLICT (reference) DO UPDATE SET service_id = EXCLUDED.service_id, status = EXCLUDED.status,
                    valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to, review_due = EXCLUDED.review_due,
                    targets = EXCLUDED.targets, calendar = EXCLUDED.calendar, updated_at = EXCLUDED.updated_at
                """)
            let agreement = try await tx.query("""
                SELECT \(unsafeSQL: Agreement.columns) FROM \(unsafeSQL: Agreement.joins) WHERE a.reference = \(reference)
                """).single()
            let saved = try Agreement(row: agreement)
            let record = "agreement:\(reference)"
            if let before {
                let changes: [(String, String?, String?)] = [
                    ("service", before.service, saved.service), ("status", before.status.rawValue, saved.status.rawValue),
                    ("validFrom", before.validFrom, saved.validFrom), ("validTo", before.validTo, saved.validTo),
                    ("reviewDue", before.reviewDue, saved.reviewDue), ("targets", Self.text(before.targets), Self.text(saved.targets)),
                    ("calendar", Self.text(before.calendar), Self.text(saved.calendar)),
                ]
                for (field, old, new) in changes where old != new {
                    try await recordHistory(tx, record, actor: actor, at: at, field: field, old: old, new: new)
                }
            } else {
                try await recordHistory(tx, record, actor: actor, at: at, field: "status", old: nil, new: saved.status.rawValue)
            }
            try await tx.publish(ServiceEvents.agreementChanged, subject: reference, data: saved)
            return saved
        }
    }

    public func agreement(_ key: AgreementKey) async throws -> Agreement {
        guard let row = try await database.query("""
            SELECT \(unsafeSQL: Agreement.columns) FROM \(unsafeSQL: Agreement.joins) WHERE a.reference = \(key.reference)
            """).first else {
            throw ResponseError.business(kind: "agreement.not_found", message: "no agreement \(key.reference.prefix(100))")
        }
        return try Agreement(row: row)
    }

    public func agreements(_ params: ListAgreements) async throws -> AgreementList {
        let status = params.status?.rawValue
        return AgreementList(items: try await database.query("""
            SELECT \(unsafeSQL: Agreement.columns) FROM \(unsafeSQL: Agreement.joins)
            WHERE (\(params.customer)::text IS NULL OR lower(c.name) = lower(\(params.customer)))
              AND (\(status)::text IS NULL OR a.status = \(status))
            ORDER BY c.name, s.name, a.valid_from
            """).map(Agreement.init(row:)))
    }

    static func checked(_ targets: AgreementTargets) throws(ResponseError) -> AgreementTargets {
        var seen = Set<String>()
        for (index, target) in targets.priorities.enumerated() {
            guard target.priority.range(of: "^P[1-5]$", options: .regularExpression) != nil else {
                throw .invalidParams("targets.priorities[\(index)].priority: P1 to P5")
            }
            guard seen.insert(target.priority).inserted else { throw .invalidParams("targets.priorities[\(index)].priority: \(target.priority) is given twice") }
            guard (1...525_600).contains(target.responseMinutes) else { throw .invalidParams("targets.priorities[\(index)].responseMinutes: 1 to 525600") }
            guard (target.responseMinutes...525_600).contains(target.resolutionMinutes) else {
                throw .invalidParams("targets.priorities[\(index)].resolutionMinutes: from responseMinutes to 525600")
            }
        }
        if let minutes = targets.fulfilmentMinutes, !(1...525_600).contains(minutes) {
            throw .invalidParams("targets.fulfilmentMinutes: 1 to 525600")
        }
        for (name, value) in [("compliancePercent", targets.compliancePercent), ("fulfilmentPercent", targets.fulfilmentPercent),
                              ("availabilityPercent", targets.availabilityPercent)] {
            if let value, !(value > 0 && value <= 100) { throw .invalidParams("targets.\(name): above 0, up to 100") }
        }
        return targets
    }

    // MARK: - Service reviews

    public func recordReview(_ params: RecordServiceReview, actor: String) async throws -> ServiceReview {
        let heldOn = try Validation.date(params.heldOn, "heldOn")
        let findings = try Validation.text(params.findings, "findings", max: 20_000)
        guard !params.attendees.isEmpty else { throw ResponseError.invalidParams("attendees: who took part, at least one") }
        let attendees = try Self.names(params.attendees, "attendees")
        if let from = params.from, let to = params.to, to < from { throw ResponseError.invalidParams("to: before from") }
        var actions: [(String, String, String)] = []
        for (index, action) in (params.actions ?? []).enumerated() {
            actions.append((try Validation.text(action.description, "actions[\(index)].description", max: 1000),
                            try Validation.text(action.owner, "actions[\(index)].owner", max: 200),
                            try Validation.date(action.dueOn, "actions[\(index)].dueOn")))
        }
        return try await database.withTransaction { tx in
            let at = now()
            let customerId = try await customer(tx, params.customer, lock: false, required: true)!.id
            let row = try await tx.query("""
                INSERT INTO service.review (customer_id, held_on, period_from, period_to, attendees, findings, recorded_by, recorded_at)
                VALUES (\(customerId), \(heldOn)::date, \(params.from), \(params.to), \(attendees), \(findings), \(actor), \(at))
                RETURNING id, number
                """).single()
            let id = try row.decode(UUID.self, "id")
            for (position, action) in actions.enumerated() {
                try await tx.query("""
                    INSERT INTO service.review_action (review_id, position, description, owner, due_on)
                    VALUES (\(id), \(position + 1), \(action.0), \(action.1), \(action.2)::date)
                    """)
            }
            let number = try row.decode(String.self, "number")
            try await recordHistory(tx, number, actor: actor, at: at, field: "findings", old: nil, new: findings)
            let review = try await review(tx, number: number)
            try await tx.publish(ServiceEvents.reviewRecorded, subject: number, data: review)
            return review
        }
    }

    public func completeReviewAction(_ params: CompleteReviewAction, actor: String) async throws -> ServiceReview {
        let outcome = try Validation.text(params.outcome, "outcome", max: 2000)
        return try await database.withTransaction { tx in
            let at = now()
            let current = try await review(tx, number: params.number)
            guard let action = current.actions.first(where: { $0.action == params.action }) else {
                throw ResponseError.invalidParams("action: \(current.number) has actions 1 to \(current.actions.count)")
            }
            guard !action.done else {
                throw ResponseError.business(kind: "service_review.invalid_transition", message: "action \(action.action) of \(current.number) is done already")
            }
            try await tx.query("""
                UPDATE service.review_action SET done_at = \(at), done_by = \(actor), outcome = \(outcome)
                WHERE review_id = (SELECT id FROM service.review WHERE number = \(current.number)) AND position = \(action.action)
                """)
            try await recordHistory(tx, current.number, actor: actor, at: at, field: "action \(action.action)", old: "open", new: outcome)
            return try await review(tx, number: current.number)
        }
    }

    public func review(_ key: ServiceReviewKey) async throws -> ServiceReview {
        try await database.withTransaction { tx in try await review(tx, number: key.number) }
    }

    public func reviews(_ params: ListServiceReviews) async throws -> ServiceReviewList {
        try await database.withTransaction { tx in
            ServiceReviewList(items: try await reviews(tx, customer: params.customer, openActions: params.openActions == true))
        }
    }

    private func reviews(_ tx: PluginTransaction, customer: String?, openActions: Bool) async throws -> [ServiceReview] {
        let numbers = try await tx.query("""
            SELECT r.number FROM service.review r JOIN service.customer c ON c.id = r.customer_id
            WHERE (\(customer)::text IS NULL OR lower(c.name) = lower(\(customer)))
              AND (NOT \(openActions) OR EXISTS (SELECT 1 FROM service.review_action a WHERE a.review_id = r.id AND a.done_at IS NULL))
            ORDER BY r.held_on DESC, r.number DESC
            """).map { try $0.decode(String.self, "number") }
        var reviews: [ServiceReview] = []
        for number in numbers { reviews.append(try await review(tx, number: number)) }
        return reviews
    }

    private func review(_ tx: PluginTransaction, number: String) async throws -> ServiceReview {
        guard let row = try await tx.query("""
            SELECT r.id, r.number, c.name AS customer, r.held_on::text AS held_on, r.period_from, r.period_to, r.attendees, r.findings,
                   r.recorded_by, r.recorded_at
            FROM service.review r JOIN service.customer c ON c.id = r.customer_id WHERE r.number = \(number)
            """).first else {
            throw ResponseError.business(kind: "service_review.not_found", message: "no service review \(number.prefix(100))")
        }
        let today = ISO8601DateFormatter.string(from: now(), timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
        let actions = try await tx.query("""
            SELECT position, description, owner, due_on::text AS due_on, done_at, done_by, outcome
            FROM service.review_action WHERE review_id = \(try row.decode(UUID.self, "id")) ORDER BY position
            """).map { action in
            let due = try action.decode(String.self, "due_on")
            let doneAt = try action.decode(Date?.self, "done_at")
            return ReviewAction(action: try action.decode(Int.self, "position"), description: try action.decode(String.self, "description"),
                                owner: try action.decode(String.self, "owner"), dueOn: due, done: doneAt != nil,
                                overdue: doneAt == nil && due < today, doneAt: doneAt, doneBy: try action.decode(String?.self, "done_by"),
                                outcome: try action.decode(String?.self, "outcome"))
        }
        return ServiceReview(
            number: try row.decode(String.self, "number"), customer: try row.decode(String.self, "customer"),
            heldOn: try row.decode(String.self, "held_on"), periodFrom: try row.decode(Date?.self, "period_from"),
            periodTo: try row.decode(Date?.self, "period_to"), attendees: try row.decode([String].self, "attendees"),
            findings: try row.decode(String.self, "findings"), actions: actions, recordedBy: try row.decode(String.self, "recorded_by"),
            recordedAt: try row.decode(Date.self, "recorded_at"))
    }
}
