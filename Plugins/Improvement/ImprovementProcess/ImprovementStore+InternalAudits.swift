import Foundation
import ImprovementProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

extension ImprovementStore {
    static let auditResults = ["conforms", "nonconformity", "observation", "not_applicable"]

    public func planInternalAudit(_ params: PlanInternalAudit, actor: String) async throws -> InternalAudit {
        let title = try Validation.text(params.title, "title", max: 200)
        let auditor = try Validation.text(params.auditor, "auditor", max: 200)
        try Validation.date(params.plannedOn, "plannedOn")
        guard !params.clauses.isEmpty else { throw ResponseError.invalidParams("clauses: at least one clause to audit") }
        var clauses: [AuditCriteria.Clause] = []
        for (index, name) in params.clauses.enumerated() {
            guard let clause = AuditCriteria.clause(name) else {
                throw ResponseError.invalidParams("clauses[\(index)]: '\(name)' is not a clause the toolkit covers; one of "
                                                  + AuditCriteria.clauses.map(\.clause).joined(separator: ", "))
            }
            if !clauses.contains(clause) { clauses.append(clause) }
        }
        let names = clauses.map(\.clause)
        let criteria = try params.criteria.map { try Validation.text($0, "criteria", max: 2_000) }
            ?? "\(AuditCriteria.standard) clauses \(names.joined(separator: ", ")) as docs/iso20000.md states them, and the organisation's own policies"
        return try await database.withTransaction { tx in
            let row = try await tx.query("""
                INSERT INTO improvement.internal_audit (title, clauses, processes, scope, criteria, auditor, planned_on, created_by)
                VALUES (\(title), \(names), \(params.processes ?? []), \(params.scope ?? ""), \(criteria), \(auditor),
                    \(params.plannedOn)::date, \(actor))
                RETURNING id, number
                """).single()
            let (id, number) = (try row.decode(UUID.self, "id"), try row.decode(String.self, "number"))
            // The checklist: every requirement of every clause in scope, in the map's order.
            var item = 0
            for clause in clauses {
                for requirement in clause.requirements {
                    item += 1
                    try await tx.query("""
                        INSERT INTO improvement.audit_check (audit_id, item, clause, requirement)
                        VALUES (\(id), \(item), \(clause.clause), \(requirement))
                        """)
                }
            }
            try await recordHistory(tx, number, actor: actor, field: "status", old: nil, new: "planned")
            return try await loadInternalAudit(tx, number, lock: false)
        }
    }

    public func internalAudit(_ params: InternalAuditKey) async throws -> InternalAudit {
        try await database.withTransaction { tx in
            var audit = try await loadInternalAudit(tx, params.number, lock: false)
            audit.history = try await history(tx, params.number)
            return audit
        }
    }

    public func listInternalAudits(_ params: ListInternalAudits) async throws -> InternalAuditList {
        if let status = params.status, !["planned", "in_progress", "completed", "cancelled"].contains(status) {
            throw ResponseError.invalidParams("status: planned, in_progress, completed or cancelled")
        }
        var query: PostgresQuery = "SELECT number FROM improvement.internal_audit WHERE (\(params.status)::text IS NULL OR status = \(params.status))"
        try query.appendPeriods([PeriodFilter("planned", column: "planned_on", from: params.plannedFrom, to: params.plannedTo)]
            + params.recordPeriods + [PeriodFilter("closed", column: "closed_at", from: params.closedFrom, to: params.closedTo)])
        query.append(" ORDER BY planned_on, number")
        return try await database.withTransaction { tx in
            var items: [InternalAudit] = []
            for row in try await tx.query(query) { items.append(try await loadInternalAudit(tx, try row.decode(String.self, "number"), lock: false)) }
            return InternalAuditList(items: items)
        }
    }

    public func recordAuditCheck(_ params: RecordAuditCheck, actor: String) async throws -> InternalAudit {
        guard Self.auditResults.contains(params.result) else {
            throw ResponseError.invalidParams("result: " + Self.auditResults.joined(separator: ", "))
        }
        let notes = params.notes?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if ["nonconformity", "observation"].contains(params.result), notes.isEmpty {
            throw ResponseError.invalidParams("notes: required for \(params.result == "nonconformity" ? "a nonconformity" : "an observation"): what was seen")
        }
        guard notes.count <= 10_000 else { throw ResponseError.invalidParams("notes: at most 10000 characters") }
        return try await changeInternalAudit(params.number, actor: actor) { audit, tx in
            guard let check = audit.checklist.first(where: { $0.item == params.item }) else {
                throw ResponseError.invalidParams("item: \(audit.number) has items 1 to \(audit.checklist.count)")
            }
            var changes = try await start(audit, tx)
            try await tx.query("""
                UPDATE improvement.audit_check SET result = \(params.result), notes = \(notes), checked_by = \(actor), checked_at = now()
                WHERE audit_id = (SELECT id FROM improvement.internal_audit WHERE number = \(audit.number)) AND item = \(params.item)
                """)
            changes.append(("item \(params.item)", check.result, params.result))
            return changes
        }
    }

    public func recordAuditFinding(_ params: RecordAuditFinding, actor: String) async throws -> InternalAudit {
        guard ["nonconformity", "observation", "opportunity"].contains(params.kind) else {
            throw ResponseError.invalidParams("kind: nonconformity, observation or opportunity")
        }
        let title = try Validation.text(params.title, "title", max: 200)
        let description = try Validation.text(params.description, "description", max: 10_000)
        guard ["minor", "major"].contains(params.severity ?? "minor") else { throw ResponseError.invalidParams("severity: minor or major") }
        return try await changeInternalAudit(params.number, actor: actor) { audit, tx in
            let check = try params.item.map { item in
                guard let check = audit.checklist.first(where: { $0.item == item }) else {
                    throw ResponseError.invalidParams("item: \(audit.number) has items 1 to \(audit.checklist.count)")
                }
                return check
            }
            guard let clause = params.clause ?? check?.clause else { throw ResponseError.invalidParams("clause: required without item") }
            guard audit.clauses.contains(clause), check == nil || check?.clause == clause else {
                throw ResponseError.invalidParams("clause: \(audit.number) covers \(audit.clauses.joined(separator: ", "))"
                                                  + (check.map { "; item \($0.item) is of \($0.clause)" } ?? ""))
            }
            var changes = try await start(audit, tx)
            let heading = AuditCriteria.clause(clause).map { "\(AuditCriteria.standard) \($0.clause) \($0.title)" } ?? clause
            let finding = "\(description)\n\nFound by internal audit \(audit.number) (\(audit.title))."
            var raised: String?
            switch params.kind {
            case "nonconformity":
                raised = try await insertNonconformity(tx, CreateNonconformity(
                    title: title, requirement: check.map { "\(heading): \($0.requirement)" } ?? heading, description: finding,
                    source: "audit", severity: params.severity, owner: params.owner), actor: actor).number
            case "opportunity":
                let opportunity = try await insert(tx, title: title, description: finding, source: .audit, intakeKey: nil, services: [],
                                                   evaluation: Evaluation(), owner: params.owner, targetDate: nil, expectedBenefit: "", actor: actor)
                try await tx.publish(ImprovementEvents.proposed, subject: opportunity.id.uuidString.lowercased(), data: opportunity)
                raised = opportunity.number
            default:
                break
            }
            try await tx.query("""
                INSERT INTO improvement.audit_finding (audit_id, item, clause, kind, title, description, raised, created_by)
                SELECT id, \(params.item), \(clause), \(params.kind), \(title), \(description), \(raised), \(actor)
                FROM improvement.internal_audit WHERE number = \(audit.number)
                """)
            changes.append(("finding", nil, "\(params.kind): \(title)" + (raised.map { " (raised \($0))" } ?? "")))
            return changes
        }
    }

    /// Completes an audit whose every checklist item is checked, or cancels one not completed.
    public func closeInternalAudit(_ params: CloseInternalAudit, cancel: Bool, actor: String) async throws -> InternalAudit {
        let conclusion = try Validation.text(params.conclusion, "conclusion", max: 10_000)
        return try await changeInternalAudit(params.number, actor: actor) { audit, tx in
            if cancel {
                guard audit.status == "planned" || audit.status == "in_progress" else {
                    throw ResponseError.business(kind: "internal_audit.invalid_transition", message: "\(audit.number) is \(audit.status)")
                }
            } else {
                guard audit.status == "in_progress" else {
                    throw ResponseError.business(kind: "internal_audit.invalid_transition",
                                                 message: "\(audit.number) is \(audit.status); only an audit in progress completes")
                }
                let open = audit.checklist.filter { $0.result == "not_checked" }.map { String($0.item) }
                guard open.isEmpty else {
                    throw ResponseError.business(kind: "internal_audit.unchecked",
                                                 message: "\(audit.number): \(open.count) checklist items are not checked yet: \(open.joined(separator: ", "))")
                }
            }
            let next = cancel ? "cancelled" : "completed"
            try await tx.query("""
                UPDATE improvement.internal_audit SET status = \(next), conclusion = \(conclusion), closed_at = now(), updated_at = now()
                WHERE number = \(audit.number)
                """)
            return [("status", audit.status, next), ("conclusion", nil, conclusion)]
        }
    }

    public func auditProgramme(_ params: AuditProgrammeParams) async throws -> AuditProgramme {
        let year = params.year ?? Calendar(identifier: .gregorian).dateComponents(in: .gmt, from: Date()).year!
        guard (2000...2200).contains(year) else { throw ResponseError.invalidParams("year: 2000 to 2200") }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let start = calendar.date(from: DateComponents(year: year, month: 1, day: 1))!
        let end = calendar.date(from: DateComponents(year: year + 1, month: 1, day: 1))!
        let audits = try await listInternalAudits(ListInternalAudits(plannedFrom: start, plannedTo: end)).items
            .filter { $0.status != "cancelled" }
        let coverage = AuditCriteria.clauses.map { clause in
            let covering = audits.filter { $0.clauses.contains(clause.clause) }
            return AuditProgramme.ClauseCoverage(clause: clause.clause, title: clause.title, audits: covering.map(\.number),
                                                 completed: covering.filter { $0.status == "completed" }.map(\.number))
        }
        return AuditProgramme(year: year, audits: audits, clauses: coverage, uncovered: coverage.filter(\.audits.isEmpty).map(\.clause))
    }

    /// The first check or finding starts a planned audit.
    private func start(_ audit: InternalAudit, _ tx: PluginTransaction) async throws -> [(String, String?, String?)] {
        switch audit.status {
        case "in_progress":
            return []
        case "planned":
            try await tx.query("""
                UPDATE improvement.internal_audit SET status = 'in_progress', started_on = current_date WHERE number = \(audit.number)
                """)
            return [("status", "planned", "in_progress")]
        default:
            throw ResponseError.business(kind: "internal_audit.invalid_transition", message: "\(audit.number) is \(audit.status)")
        }
    }

    private func changeInternalAudit(_ number: String, actor: String,
                                     _ body: (InternalAudit, PluginTransaction) async throws -> [(String, String?, String?)]) async throws -> InternalAudit {
        try await database.withTransaction { tx in
            let current = try await loadInternalAudit(tx, number, lock: true)
            for (field, old, new) in try await body(current, tx) where old != new {
                try await recordHistory(tx, number, actor: actor, field: field, old: old, new: new)
            }
            try await tx.query("UPDATE improvement.internal_audit SET updated_at = now() WHERE number = \(number)")
            return try await loadInternalAudit(tx, number, lock: false)
        }
    }

    func loadInternalAudit(_ tx: PluginTransaction, _ number: String, lock: Bool) async throws -> InternalAudit {
        guard let row = try await tx.query("""
            SELECT id, number, title, clauses, processes, scope, criteria, auditor, planned_on::text AS planned_on,
                   started_on::text AS started_on, status, conclusion
            FROM improvement.internal_audit WHERE number = \(number) \(unsafeSQL: lock ? "FOR UPDATE" : "")
            """).first else {
            throw ResponseError.business(kind: "internal_audit.not_found", message: "no internal audit \(number)")
        }
        let id = try row.decode(UUID.self, "id")
        let checklist = try await tx.query("""
            SELECT item, clause, requirement, result, notes, checked_by, checked_at FROM improvement.audit_check
            WHERE audit_id = \(id) ORDER BY item
            """).map { row in
            InternalAudit.Check(item: try row.decode(Int.self, "item"), clause: try row.decode(String.self, "clause"),
                                requirement: try row.decode(String.self, "requirement"), result: try row.decode(String.self, "result"),
                                notes: try row.decode(String.self, "notes"), checkedBy: try row.decode(String?.self, "checked_by"),
                                checkedAt: try row.decode(Date?.self, "checked_at"))
        }
        let findings = try await tx.query("""
            SELECT id, item, clause, kind, title, description, raised, created_by, created_at FROM improvement.audit_finding
            WHERE audit_id = \(id) ORDER BY id
            """).map { row in
            InternalAudit.Finding(id: try row.decode(Int.self, "id"), item: try row.decode(Int?.self, "item"),
                                  clause: try row.decode(String.self, "clause"), kind: try row.decode(String.self, "kind"),
                                  title: try row.decode(String.self, "title"), description: try row.decode(String.self, "description"),
                                  raised: try row.decode(String?.self, "raised"), createdBy: try row.decode(String.self, "created_by"),
                                  createdAt: try row.decode(Date.self, "created_at"))
        }
        return InternalAudit(
            number: try row.decode(String.self, "number"), title: try row.decode(String.self, "title"),
            clauses: try row.decode([String].self, "clauses"), processes: try row.decode([String].self, "processes"),
            scope: try row.decode(String.self, "scope"), criteria: try row.decode(String.self, "criteria"),
            auditor: try row.decode(String.self, "auditor"), plannedOn: try row.decode(String.self, "planned_on"),
            startedOn: try row.decode(String?.self, "started_on"), status: try row.decode(String.self, "status"),
            conclusion: try row.decode(String?.self, "conclusion"), checklist: checklist, findings: findings, history: nil)
    }
}
