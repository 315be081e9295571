import Foundation
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// Major incidents and their reviews, escalation, and relations between records.
extension IncidentStore {
    public func declareMajor(_ params: DeclareMajor, actor: String, now: Date = Date()) async throws -> Incident {
        let reason = params.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw ResponseError.invalidParams("reason: say what makes it major") }
        return try await mutate(id: params.id, number: params.number, actor: actor, now: now) { current in
            guard current.status.isOpen else {
                throw ResponseError.business(kind: "incident.invalid_transition",
                                             message: "\(current.number) is \(current.status.rawValue); only open records can be declared major")
            }
            var plan = ChangePlan(current: current)
            plan.declareMajor(reason: reason, actor: actor, now: now)
            return plan
        }
    }

    /// Records the post-incident review of a resolved (or closed) major incident.
    public func review(_ params: ReviewIncident, actor: String, now: Date = Date()) async throws -> Review {
        let summary = params.summary.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...20_000).contains(summary.count) else { throw ResponseError.invalidParams("summary: 1 to 20000 characters") }
        let incident = try await get(GetIncident(id: params.id, number: params.number)).incident
        guard incident.major else {
            throw ResponseError.business(kind: "incident.not_major", message: "\(incident.number) is not a major incident")
        }
        guard incident.status == .resolved || incident.status == .closed else {
            throw ResponseError.business(kind: "incident.invalid_transition",
                                         message: "\(incident.number) is \(incident.status.rawValue); review it once it is resolved")
        }
        let review = Review(summary: summary, rootCause: params.rootCause, actions: params.actions ?? [],
                            lessonsLearned: params.lessonsLearned, reviewedBy: actor, reviewedAt: now)
        try await database.withTransaction { tx in
            try await tx.query("""
                INSERT INTO incident.review (incident_id, summary, root_cause, actions, lessons_learned, reviewed_by, reviewed_at)
                VALUES (\(incident.id), \(summary), \(review.rootCause), \(review.actions), \(review.lessonsLearned), \(actor), \(now))
                ON CONFLICT (incident_id) DO UPDATE SET summary = EXCLUDED.summary, root_cause = EXCLUDED.root_cause,
                    actions = EXCLUDED.actions, lessons_learned = EXCLUDED.lessons_learned,
                    reviewed_by = EXCLUDED.reviewed_by, reviewed_at = EXCLUDED.reviewed_at
                """)
            try await tx.query("""
                INSERT INTO incident.history (incident_id, at, actor, field, old_value, new_value)
                VALUES (\(incident.id), \(now), \(actor), 'review', \(String?.none), \(summary))
                """)
            try await tx.publish(IncidentEvents.reviewed, subject: incident.id.uuidString.lowercased(),
                                 data: MajorIncidentReviewed(number: incident.number, summary: summary))
        }
        return review
    }

    public func review(of incident: UUID) async throws -> Review? {
        try await database.query("""
            SELECT summary, root_cause, actions, lessons_learned, reviewed_by, reviewed_at FROM incident.review
            WHERE incident_id = \(incident)
            """).first.map { row in
            Review(summary: try row.decode(String.self, "summary"), rootCause: try row.decode(String?.self, "root_cause"),
                   actions: try row.decode([String].self, "actions"), lessonsLearned: try row.decode(String?.self, "lessons_learned"),
                   reviewedBy: try row.decode(String.self, "reviewed_by"), reviewedAt: try row.decode(Date.self, "reviewed_at"))
        }
    }

    public func escalate(_ params: EscalateIncident, actor: String, now: Date = Date()) async throws -> Incident {
        try await database.withTransaction { tx in
            try await escalate(tx, params, actor: actor, now: now)
        }
    }

    /// Escalation inside a transaction the caller holds (the SLA scan escalates on warning).
    func escalate(_ tx: PluginTransaction, _ params: EscalateIncident, actor: String, now: Date) async throws -> Incident {
        if params.kind == .functional, (params.toGroup ?? "").isEmpty {
            throw ResponseError.invalidParams("toGroup: a functional escalation names the group to escalate to")
        }
        return try await apply(tx, id: params.id, number: params.number, actor: actor, now: now, requestKey: requestKey, visibleTo: viewer) { current in
            guard current.status.isOpen else {
                throw ResponseError.business(kind: "incident.invalid_transition",
                                             message: "\(current.number) is \(current.status.rawValue); only open records can be escalated")
            }
            var plan = ChangePlan(current: current)
            switch params.kind {
            case .functional:
                plan.set("assignmentGroup", "assignment_group", current.assignmentGroup, params.toGroup)
                plan.set("assignee", "assignee", current.assignee, nil)
                if current.status == .new { plan.setStatus(.assigned) }
            case .hierarchical:
                plan.set("escalationLevel", "escalation_level", String(current.escalationLevel), String(current.escalationLevel + 1),
                         value: current.escalationLevel + 1)
            }
            if !plan.changes.isEmpty {
                plan.events.append(IncidentEvents.escalated)
                plan.escalation = (params.kind, params.reason)
            }
            return plan
        }
    }

    /// Sets or removes relations. A parent must be a major incident that is not itself a child,
    /// and a record with children cannot become a child: one level, as major incidents need.
    public func link(_ params: LinkIncident, actor: String, now: Date = Date()) async throws -> Incident {
        try await database.withTransaction { tx in
            var select: PostgresQuery = "SELECT \(unsafeSQL: Incident.columns) FROM incident.incident"
            select.append(try Self.key(id: params.id, number: params.number))
            guard let row = try await tx.query(select).first else { throw Self.notFound(id: params.id, number: params.number) }
            let subject = try Incident(row: row)

            func resolve(_ reference: String?, _ field: String) async throws -> Incident? {
                guard let reference, !reference.isEmpty else { return nil }
                var query: PostgresQuery = "SELECT \(unsafeSQL: Incident.columns) FROM incident.incident"
                query.append(UUID(uuidString: reference) != nil
                             ? try Self.key(id: UUID(uuidString: reference), number: nil) : try Self.key(id: nil, number: reference))
                guard let found = try await tx.query(query).first.map(Incident.init(row:)) else {
                    throw ResponseError.business(kind: "incident.not_found", message: "\(field): no record \(reference)")
                }
                guard found.id != subject.id else { throw ResponseError.invalidParams("\(field): a record cannot relate to itself") }
                return found
            }
            let parent = try await resolve(params.parent, "parent")
            if let parent {
                guard parent.major else {
                    throw ResponseError.business(kind: "incident.invalid_relation", message: "parent: \(parent.number) is not a major incident")
                }
                guard parent.parentId == nil else {
                    throw ResponseError.business(kind: "incident.invalid_relation", message: "parent: \(parent.number) is itself a child")
                }
                let children = try await tx.query("SELECT count(*) AS n FROM incident.incident WHERE parent_id = \(subject.id)")
                guard try children.single().decode(Int.self, "n") == 0 else {
                    throw ResponseError.business(kind: "incident.invalid_relation",
                                                 message: "\(subject.number) has children of its own and cannot become a child")
                }
            }
            let duplicate = try await resolve(params.duplicateOf, "duplicateOf")
            let numberOf: (UUID?) async throws -> String? = { id in
                guard let id else { return nil }
                return try await tx.query("SELECT number FROM incident.incident WHERE id = \(id)").first?.decode(String.self, "number")
            }
            let oldParent = try await numberOf(subject.parentId)
            let oldDuplicate = try await numberOf(subject.duplicateOf)
            return try await apply(tx, id: subject.id, number: nil, actor: actor, now: now, requestKey: requestKey, visibleTo: viewer) { current in
                var plan = ChangePlan(current: current)
                if params.parent != nil {
                    plan.set("parent", "parent_id", oldParent, parent?.number, value: parent?.id)
                }
                if params.duplicateOf != nil {
                    plan.set("duplicateOf", "duplicate_of", oldDuplicate, duplicate?.number, value: duplicate?.id)
                }
                if let problem = params.problem { plan.set("problem", "problem_ref", current.problem, problem.isEmpty ? nil : problem) }
                if let knownError = params.knownError {
                    plan.set("knownError", "known_error_ref", current.knownError, knownError.isEmpty ? nil : knownError)
                }
                if !plan.changes.isEmpty { plan.events.append(IncidentEvents.linked) }
                return plan
            }
        }
    }

    /// Resolves the open children of a resolved parent, in the parent's transaction.
    func resolveChildren(_ tx: PluginTransaction, of parent: Incident, actor: String, now: Date) async throws {
        let children = try await tx.query("""
            SELECT id FROM incident.incident
            WHERE parent_id = \(parent.id) AND status NOT IN ('resolved', 'closed', 'cancelled')
            ORDER BY number
            """).map { try $0.decode(UUID.self, "id") }
        for child in children {
            _ = try await apply(tx, id: child, number: nil, actor: actor, now: now) { current in
                var plan = ChangePlan(current: current)
                plan.setStatus(.resolved)
                plan.set("holdReason", "hold_reason", current.holdReason?.rawValue, nil)
                plan.set("resolutionCode", "resolution_code", current.resolutionCode, parent.resolutionCode)
                plan.set("resolutionNotes", "resolution_notes", current.resolutionNotes,
                         "Resolved with \(parent.number): \(parent.resolutionNotes ?? "")")
                plan.setTime("resolvedAt", "resolved_at", current.resolvedAt, now)
                plan.events.append(IncidentEvents.resolved)
                return plan
            }
        }
    }
}
