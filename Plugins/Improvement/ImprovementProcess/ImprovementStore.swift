import Foundation
import ImprovementProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// The improvement register, nonconformities and objectives. Every change writes its history
/// row and its event in the same transaction.
public struct ImprovementStore: Sendable {
    public let database: PluginDatabase
    public let settings: ImprovementSettings

    public init(database: PluginDatabase, settings: ImprovementSettings = ImprovementSettings()) {
        self.database = database
        self.settings = settings
    }

    // MARK: - Opportunities

    public func create(_ params: CreateOpportunity, actor: String) async throws -> Opportunity {
        guard params.source != .event else { throw ResponseError.invalidParams("source: event is for opportunities raised by other processes") }
        let title = try Validation.text(params.title, "title", max: 200)
        let evaluation = params.evaluation ?? Evaluation()
        try evaluation.validate()
        if let date = params.targetDate { try Validation.date(date, "targetDate") }
        return try await database.withTransaction { tx in
            let opportunity = try await insert(tx, title: title, description: params.description ?? "", source: params.source ?? .manual,
                                               intakeKey: nil, services: params.services ?? [], evaluation: evaluation, owner: params.owner,
                                               targetDate: params.targetDate, expectedBenefit: params.expectedBenefit ?? "", actor: actor)
            try await tx.publish(ImprovementEvents.proposed, subject: opportunity.id.uuidString.lowercased(), data: opportunity)
            return opportunity
        }
    }

    func insert(_ tx: PluginTransaction, title: String, description: String, source: OpportunitySource, intakeKey: String?,
                services: [String], evaluation: Evaluation, owner: String?, targetDate: String?, expectedBenefit: String,
                actor: String) async throws -> Opportunity {
        let opportunity = try Opportunity(row: try await tx.query("""
            INSERT INTO improvement.opportunity (title, description, source, intake_key, services, benefit, cost, risk, alignment, score,
                priority, owner, target_date, expected_benefit, created_by)
            VALUES (\(title), \(description), \(source.rawValue), \(intakeKey), \(Array(Set(services)).sorted()), \(evaluation.benefit),
                \(evaluation.cost), \(evaluation.risk), \(evaluation.alignment), \(evaluation.score), \(evaluation.priority), \(owner),
                \(targetDate)::date, \(expectedBenefit), \(actor))
            RETURNING \(unsafeSQL: Opportunity.columns)
            """).single())
        try await recordHistory(tx, opportunity.number, actor: actor, field: "status", old: nil, new: "proposed")
        return opportunity
    }

    public func get(_ params: OpportunityKey) async throws -> OpportunityDetail {
        try await database.withTransaction { tx in
            let opportunity = try await load(tx, params.number, lock: false)
            let sources = try await tx.query("""
                SELECT event_id, event_type, process, reference, summary, occurred_at FROM improvement.source
                WHERE opportunity_id = \(opportunity.id) ORDER BY occurred_at, id
                """).map { row in
                OpportunitySourceEvent(eventId: try row.decode(UUID.self, "event_id"), eventType: try row.decode(String.self, "event_type"),
                                       process: try row.decode(String.self, "process"), reference: try row.decode(String?.self, "reference"),
                                       summary: try row.decode(String.self, "summary"), occurredAt: try row.decode(Date.self, "occurred_at"))
            }
            return OpportunityDetail(opportunity: opportunity, sources: sources, history: try await history(tx, opportunity.number))
        }
    }

    public func list(_ params: ListOpportunities) async throws -> OpportunityList {
        let limit = params.limit ?? 100
        guard (1...500).contains(limit) else { throw ResponseError.invalidParams("limit: 1 to 500") }
        let status = params.status?.rawValue
        var query: PostgresQuery = """
            SELECT \(unsafeSQL: Opportunity.columns) FROM improvement.opportunity
            WHERE (\(status)::text IS NULL OR status = \(status)) AND (\(params.owner)::text IS NULL OR owner = \(params.owner))
            """
        try query.appendPeriods(params.recordPeriods + [
            PeriodFilter("closed", column: "closed_at", from: params.closedFrom, to: params.closedTo),
        ])
        query.append(" ORDER BY score DESC, created_at DESC LIMIT \(limit)")
        return OpportunityList(items: try await database.query(query).map(Opportunity.init(row:)))
    }

    public func update(_ params: UpdateOpportunity, actor: String) async throws -> Opportunity {
        try await database.withTransaction { tx in
            let current = try await load(tx, params.number, lock: true)
            guard current.status != .closed else {
                throw ResponseError.business(kind: "improvement.closed", message: "\(current.number) is closed")
            }
            var fields = FieldChanges()
            if let title = params.title { fields.set("title", "title", current.title, try Validation.text(title, "title", max: 200)) }
            if let description = params.description { fields.set("description", "description", current.description, description) }
            if let services = params.services {
                let names = Array(Set(services)).sorted()
                fields.set("services", "services", current.services.joined(separator: ", "), names.joined(separator: ", "), value: names)
            }
            if let owner = params.owner { fields.set("owner", "owner", current.owner, owner) }
            if let date = params.targetDate {
                try Validation.date(date, "targetDate")
                fields.set("targetDate", "target_date", current.targetDate, date, bind: "\(date)::date")
            }
            if let benefit = params.expectedBenefit { fields.set("expectedBenefit", "expected_benefit", current.expectedBenefit, benefit) }
            if let benefit = params.measuredBenefit { fields.set("measuredBenefit", "measured_benefit", current.measuredBenefit, benefit) }
            if let evaluation = params.evaluation {
                try evaluation.validate()
                let old = current.evaluation
                fields.set("benefit", "benefit", String(old.benefit), String(evaluation.benefit), value: evaluation.benefit)
                fields.set("cost", "cost", String(old.cost), String(evaluation.cost), value: evaluation.cost)
                fields.set("risk", "risk", String(old.risk), String(evaluation.risk), value: evaluation.risk)
                fields.set("alignment", "alignment", String(old.alignment), String(evaluation.alignment), value: evaluation.alignment)
                fields.set("score", "score", String(current.score), String(evaluation.score), value: evaluation.score)
                fields.set("priority", "priority", current.priority, evaluation.priority)
            }
            guard !fields.isEmpty else { return current }
            var update: PostgresQuery = "UPDATE improvement.opportunity SET updated_at = now()"
            update.append(fields.assignments)
            update.append(" WHERE id = \(current.id) RETURNING \(unsafeSQL: Opportunity.columns)")
            let updated = try Opportunity(row: try await tx.query(update).single())
            for change in fields.changes {
                try await recordHistory(tx, current.number, actor: actor, field: change.field, old: change.old, new: change.new)
            }
            return updated
        }
    }

    public func transition(_ params: TransitionOpportunity, actor: String) async throws -> Opportunity {
        try await database.withTransaction { tx in
            let current = try await load(tx, params.number, lock: true)
            guard current.status.next.contains(params.to) else {
                let allowed = current.status.next.map(\.rawValue).sorted().joined(separator: ", ")
                throw ResponseError.business(kind: "improvement.invalid_transition",
                                             message: "\(current.number) is \(current.status.rawValue); it can move to: \(allowed.isEmpty ? "nothing" : allowed)")
            }
            switch params.to {
            case .approved where current.owner == nil:
                throw ResponseError.business(kind: "improvement.owner_required", message: "give \(current.number) an owner before approving it")
            case .rejected where (params.note ?? "").isEmpty:
                throw ResponseError.invalidParams("note: say why \(current.number) is rejected")
            case .benefitsVerified where (current.measuredBenefit ?? "").isEmpty:
                throw ResponseError.business(kind: "improvement.benefit_required",
                                             message: "record the measured benefit (improvement.update measuredBenefit) before verifying it")
            default:
                break
            }
            let updated = try Opportunity(row: try await tx.query("""
                UPDATE improvement.opportunity SET status = \(params.to.rawValue), updated_at = now(),
                    closed_at = CASE WHEN \(params.to.rawValue) = 'closed' THEN now() END
                WHERE id = \(current.id) RETURNING \(unsafeSQL: Opportunity.columns)
                """).single())
            try await recordHistory(tx, current.number, actor: actor, field: "status", old: current.status.rawValue, new: params.to.rawValue)
            if let note = params.note, !note.isEmpty {
                try await recordHistory(tx, current.number, actor: actor, field: "note", old: nil, new: note)
            }
            try await tx.publish(ImprovementEvents.statusChanged, subject: current.id.uuidString.lowercased(),
                                 data: OpportunityStatusChange(opportunity: updated, from: current.status, to: params.to))
            return updated
        }
    }

    // MARK: - Intake from other processes

    /// Turns another process's event into a proposed opportunity, or adds it to the one already
    /// raised for the same cluster. Runs in the event's transaction: once per event.
    public func intake(_ tx: PluginTransaction, _ event: EventParams) async throws {
        guard let item = try IntakeRule.item(for: event, settings: settings) else { return }
        let stored = try await tx.query("""
            INSERT INTO improvement.source (intake_key, event_id, event_type, process, reference, summary, occurred_at)
            VALUES (\(item.key), \(UUID(uuidString: event.id)), \(event.type), \(event.source), \(item.reference), \(item.summary),
                \(JSONCoding.date(from: event.occurredAt) ?? Date()))
            ON CONFLICT (event_id) DO NOTHING RETURNING id
            """)
        guard !stored.isEmpty else { return } // seen before

        if let existing = try await tx.query("""
            SELECT \(unsafeSQL: Opportunity.columns) FROM improvement.opportunity WHERE intake_key = \(item.key) FOR UPDATE
            """).first.map(Opportunity.init(row:)) {
            try await tx.query("UPDATE improvement.source SET opportunity_id = \(existing.id) WHERE event_id = \(UUID(uuidString: event.id))")
            try await tx.query("UPDATE improvement.opportunity SET updated_at = now() WHERE id = \(existing.id)")
            try await recordHistory(tx, existing.number, actor: "plugin:improvement", field: "sources", old: nil, new: item.summary)
            return
        }
        let pending = try await tx.query("""
            SELECT count(*) AS n FROM improvement.source WHERE intake_key = \(item.key) AND opportunity_id IS NULL
            """).single().decode(Int.self, "n")
        guard pending >= item.threshold else { return }
        let opportunity = try await insert(
            tx, title: item.title, description: item.description(pending), source: .event, intakeKey: item.key, services: item.services,
            evaluation: item.evaluation, owner: nil, targetDate: nil, expectedBenefit: "", actor: "plugin:improvement")
        try await tx.query("""
            UPDATE improvement.source SET opportunity_id = \(opportunity.id) WHERE intake_key = \(item.key) AND opportunity_id IS NULL
            """)
        try await tx.publish(ImprovementEvents.proposed, subject: opportunity.id.uuidString.lowercased(), data: opportunity)
    }

    // MARK: - Shared

    func load(_ tx: PluginTransaction, _ number: String, lock: Bool) async throws -> Opportunity {
        guard let row = try await tx.query("""
            SELECT \(unsafeSQL: Opportunity.columns) FROM improvement.opportunity WHERE number = \(number) \(unsafeSQL: lock ? "FOR UPDATE" : "")
            """).first else {
            throw ResponseError.business(kind: "improvement.not_found", message: "no opportunity \(number)")
        }
        return try Opportunity(row: row)
    }

    func recordHistory(_ tx: PluginTransaction, _ record: String, actor: String, field: String, old: String?, new: String?) async throws {
        try await tx.query("""
            INSERT INTO improvement.history (record, actor, field, old_value, new_value) VALUES (\(record), \(actor), \(field), \(old), \(new))
            """)
    }

    func history(_ tx: PluginTransaction, _ record: String) async throws -> [HistoryEntry] {
        try await tx.query("""
            SELECT at, actor, field, old_value, new_value FROM improvement.history WHERE record = \(record) ORDER BY id
            """).map { row in
            HistoryEntry(at: try row.decode(Date.self, "at"), actor: try row.decode(String.self, "actor"), field: try row.decode(String.self, "field"),
                         oldValue: try row.decode(String?.self, "old_value"), newValue: try row.decode(String?.self, "new_value"))
        }
    }
}

extension ListOpportunities: RecordPeriods {}
