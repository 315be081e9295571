import Foundation
import ImprovementProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

extension ImprovementStore {
    public func createNonconformity(_ params: CreateNonconformity, actor: String) async throws -> Nonconformity {
        let title = try Validation.text(params.title, "title", max: 200)
        let requirement = try Validation.text(params.requirement, "requirement", max: 500)
        if let date = params.detectedOn { try Validation.date(date, "detectedOn") }
        guard ["audit", "management_review", "incident", "complaint", "other"].contains(params.source ?? "audit") else {
            throw ResponseError.invalidParams("source: audit, management_review, incident, complaint or other")
        }
        guard ["minor", "major"].contains(params.severity ?? "minor") else { throw ResponseError.invalidParams("severity: minor or major") }
        var checked = params
        (checked.title, checked.requirement) = (title, requirement)
        return try await database.withTransaction { tx in try await insertNonconformity(tx, checked, actor: actor) }
    }

    /// Records a checked nonconformity and announces it, within the caller's transaction (an
    /// audit finding raises one in the same step).
    func insertNonconformity(_ tx: PluginTransaction, _ params: CreateNonconformity, actor: String) async throws -> Nonconformity {
        let number = try await tx.query("""
            INSERT INTO improvement.nonconformity (title, requirement, description, source, severity, detected_on, owner, created_by)
            VALUES (\(params.title), \(params.requirement), \(params.description ?? ""), \(params.source ?? "audit"), \(params.severity ?? "minor"),
                coalesce(\(params.detectedOn)::date, current_date), \(params.owner), \(actor))
            RETURNING number
            """).single().decode(String.self, "number")
        try await recordHistory(tx, number, actor: actor, field: "status", old: nil, new: "open")
        let nonconformity = try await loadNonconformity(tx, number, lock: false)
        try await tx.publish(ImprovementEvents.nonconformityRaised, subject: number, data: nonconformity)
        return nonconformity
    }

    public func nonconformity(_ params: NonconformityKey) async throws -> Nonconformity {
        try await database.withTransaction { tx in
            var nonconformity = try await loadNonconformity(tx, params.number, lock: false)
            nonconformity.history = try await history(tx, params.number)
            return nonconformity
        }
    }

    /// Open nonconformities, or all of them with `all` (or a `closed` period), in the periods given.
    public func listNonconformities(_ params: ListNonconformities) async throws -> NonconformityList {
        let openOnly = params.all != true && params.closedFrom == nil && params.closedTo == nil
        var query: PostgresQuery = "SELECT number FROM improvement.nonconformity WHERE (NOT \(openOnly) OR status <> 'closed')"
        try query.appendPeriods(params.recordPeriods + [
            PeriodFilter("closed", column: "closed_at", from: params.closedFrom, to: params.closedTo),
        ])
        query.append(" ORDER BY detected_on DESC, number DESC")
        return try await database.withTransaction { tx in
            let numbers = try await tx.query(query).map { try $0.decode(String.self, "number") }
            var items: [Nonconformity] = []
            for number in numbers { items.append(try await loadNonconformity(tx, number, lock: false)) }
            return NonconformityList(items: items)
        }
    }

    public func recordCorrection(_ params: RecordCorrection, actor: String) async throws -> Nonconformity {
        let correction = try Validation.text(params.correction, "correction", max: 10_000)
        return try await changeNonconformity(params.number, actor: actor) { current, tx in
            guard current.status != "closed" else {
                throw ResponseError.business(kind: "nonconformity.closed", message: "\(current.number) is closed")
            }
            try await tx.query("""
                UPDATE improvement.nonconformity SET correction = \(correction), root_cause = coalesce(\(params.rootCause), root_cause),
                    updated_at = now() WHERE number = \(current.number)
                """)
            return [("correction", current.correction, correction), ("rootCause", current.rootCause, params.rootCause ?? current.rootCause)]
        }
    }

    public func addCorrectiveAction(_ params: AddCorrectiveAction, actor: String) async throws -> Nonconformity {
        let description = try Validation.text(params.description, "description", max: 500)
        let owner = try Validation.text(params.owner, "owner", max: 200)
        try Validation.date(params.dueOn, "dueOn")
        return try await changeNonconformity(params.number, actor: actor) { current, tx in
            guard current.status != "closed" else {
                throw ResponseError.business(kind: "nonconformity.closed", message: "\(current.number) is closed")
            }
            try await tx.query("""
                INSERT INTO improvement.corrective_action (nonconformity_id, description, owner, due_on)
                SELECT id, \(description), \(owner), \(params.dueOn)::date FROM improvement.nonconformity WHERE number = \(current.number)
                """)
            try await tx.query("""
                UPDATE improvement.nonconformity SET status = 'actions_in_progress', updated_at = now() WHERE number = \(current.number)
                """)
            return [("action", nil, "\(description) (\(owner), due \(params.dueOn))"), ("status", current.status, "actions_in_progress")]
        }
    }

    public func completeCorrectiveAction(_ params: CompleteCorrectiveAction, actor: String) async throws -> Nonconformity {
        let number = try await database.withTransaction { tx in
            guard let number = try await tx.query("""
                UPDATE improvement.corrective_action a SET status = 'done', done_at = now()
                FROM improvement.nonconformity n WHERE a.id = \(params.id) AND a.status = 'open' AND n.id = a.nonconformity_id
                RETURNING n.number
                """).first?.decode(String.self, "number") else {
                throw ResponseError.business(kind: "nonconformity.invalid_transition", message: "no open corrective action \(params.id)")
            }
            try await recordHistory(tx, number, actor: actor, field: "action \(params.id)", old: "open", new: "done")
            // When the last action is done, the effectiveness check is due.
            try await tx.query("""
                UPDATE improvement.nonconformity n SET status = 'awaiting_verification', updated_at = now()
                WHERE n.number = \(number) AND NOT EXISTS (
                    SELECT 1 FROM improvement.corrective_action a WHERE a.nonconformity_id = n.id AND a.status = 'open')
                """)
            return number
        }
        return try await nonconformity(NonconformityKey(number: number))
    }

    public func verifyEffectiveness(_ params: VerifyEffectiveness, actor: String) async throws -> Nonconformity {
        let notes = try Validation.text(params.notes, "notes", max: 10_000)
        return try await changeNonconformity(params.number, actor: actor) { current, tx in
            guard current.status == "awaiting_verification" else {
                throw ResponseError.business(kind: "nonconformity.invalid_transition",
                                             message: "\(current.number) is \(current.status); complete its corrective actions first")
            }
            let next = params.effective ? "closed" : "actions_in_progress"
            try await tx.query("""
                UPDATE improvement.nonconformity SET status = \(next), effective = \(params.effective), effectiveness_notes = \(notes),
                    effectiveness_checked_on = current_date, updated_at = now(),
                    closed_at = CASE WHEN \(params.effective) THEN now() END
                WHERE number = \(current.number)
                """)
            return [("effective", nil, String(params.effective)), ("status", current.status, next)]
        }
    }

    /// Locks the record, applies `body`'s change, records the fields it reports as changed.
    private func changeNonconformity(_ number: String, actor: String,
                                     _ body: (Nonconformity, PluginTransaction) async throws -> [(String, String?, String?)]) async throws -> Nonconformity {
        try await database.withTransaction { tx in
            let current = try await loadNonconformity(tx, number, lock: true)
            for (field, old, new) in try await body(current, tx) where old != new {
                try await recordHistory(tx, number, actor: actor, field: field, old: old, new: new)
            }
            return try await loadNonconformity(tx, number, lock: false)
        }
    }

    func loadNonconformity(_ tx: PluginTransaction, _ number: String, lock: Bool) async throws -> Nonconformity {
        guard let row = try await tx.query("""
            SELECT id, number, title, requirement, description, source, severity, detected_on::text AS detected_on, owner, correction,
                   root_cause, status, effectiveness_checked_on::text AS checked_on, effective, effectiveness_notes
            FROM improvement.nonconformity WHERE number = \(number) \(unsafeSQL: lock ? "FOR UPDATE" : "")
            """).first else {
            throw ResponseError.business(kind: "nonconformity.not_found", message: "no nonconformity \(number)")
        }
        let actions = try await tx.query("""
            SELECT id, description, owner, due_on::text AS due_on, status, (status = 'open' AND due_on < current_date) AS overdue,
                   NULL::text AS outcome
            FROM improvement.corrective_action WHERE nonconformity_id = \(try row.decode(UUID.self, "id")) ORDER BY id
            """).map(AgreedAction.init(row:))
        return Nonconformity(
            number: try row.decode(String.self, "number"), title: try row.decode(String.self, "title"),
            requirement: try row.decode(String.self, "requirement"), description: try row.decode(String.self, "description"),
            source: try row.decode(String.self, "source"), severity: try row.decode(String.self, "severity"),
            detectedOn: try row.decode(String.self, "detected_on"), owner: try row.decode(String?.self, "owner"),
            correction: try row.decode(String?.self, "correction"), rootCause: try row.decode(String?.self, "root_cause"),
            status: try row.decode(String.self, "status"), effectivenessCheckedOn: try row.decode(String?.self, "checked_on"),
            effective: try row.decode(Bool?.self, "effective"), effectivenessNotes: try row.decode(String?.self, "effectiveness_notes"),
            actions: actions, history: nil)
    }
}
