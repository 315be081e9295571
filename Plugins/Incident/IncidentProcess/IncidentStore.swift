import Foundation
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// Reads and writes incidents. Every write appends history and publishes its event in the
/// same transaction.
public struct IncidentStore: Sendable {
    public let database: PluginDatabase
    public let matrix: PriorityMatrix
    public let lifecycle: Lifecycle
    /// Records at this priority or higher become major incidents automatically; `nil`: only by hand.
    public let majorPriority: Priority?
    /// What to do when an SLA warning is raised; `nil`: nothing beyond the event.
    public let escalationOnWarning: EscalateIncident.Kind?
    public let escalationGroup: String?
    /// Title similarity that attaches a known error's workaround (pg_trgm word similarity).
    public let knownErrorSimilarity: Double
    /// The idempotency key of the request being served: a change made with one is made once.
    public var requestKey: String?
    /// The person the request is for when they see only some records; nil: every record.
    public var viewer: Viewer?

    public init(database: PluginDatabase, matrix: PriorityMatrix = .itil, lifecycle: Lifecycle = Lifecycle(),
                majorPriority: Priority? = nil, escalationOnWarning: EscalateIncident.Kind? = nil, escalationGroup: String? = nil,
                knownErrorSimilarity: Double = 0.6) {
        self.knownErrorSimilarity = knownErrorSimilarity
        self.database = database
        self.matrix = matrix
        self.lifecycle = lifecycle
        self.majorPriority = majorPriority
        self.escalationOnWarning = escalationOnWarning
        self.escalationGroup = escalationGroup
    }

    /// The reason a record at `priority` is major by the configured criterion, if it is.
    func majorCriterion(_ priority: Priority) -> String? {
        guard let majorPriority, priority <= majorPriority else { return nil }
        return "priority \(priority) meets the major incident criterion (\(majorPriority) or higher)"
    }

    /// Creates a record. With an idempotency key, a repeated call returns the first record
    /// instead of creating another.
    public func create(_ params: CreateIncident, actor: String, idempotencyKey: String?, now: Date = Date()) async throws -> Incident {
        try params.validate()
        if let idempotencyKey, let existing = try await find(idempotencyKey: idempotencyKey) { return existing }
        let type = params.type ?? .incident
        let impact = params.impact ?? .medium
        let urgency = params.urgency ?? .medium
        let priority = matrix.priority(impact: impact, urgency: urgency)
        let title = try Incident.validatedTitle(params.title)
        let status: IncidentStatus = params.assignee != nil || params.assignmentGroup != nil ? .assigned : .new
        do {
            return try await database.withTransaction { tx in
                // The initial fields become the history's first rows in the same statement: a
                // round trip each (the number, the record, its history) cost more than the rows.
                let initial: [(String, String?)] = [
                    ("number", ""), ("type", type.rawValue), ("title", title), ("status", status.rawValue),
                    ("impact", impact.description), ("urgency", urgency.description), ("priority", priority.description),
                    ("caller", params.caller), ("service", params.service), ("configurationItem", params.configurationItem),
                    ("category", params.category), ("subcategory", params.subcategory),
                    ("assignmentGroup", params.assignmentGroup), ("assignee", params.assignee),
                ]
                let given = initial.compactMap { field, value in value.map { (field, $0) } }
                let row = try await tx.query("""
                    WITH created AS (
                        INSERT INTO incident.incident (number, type, title, description, caller, service, ci, category,
                            subcategory, impact, urgency, priority, status, assignment_group, assignee, idempotency_key, created_by,
                            created_at, updated_at)
                        VALUES (incident.next_number(\(type.rawValue)), \(type.rawValue), \(title), \(params.description ?? ""), \(params.caller),
                            \(params.service), \(params.configurationItem), \(params.category), \(params.subcategory),
                            \(impact.rawValue), \(urgency.rawValue), \(priority.rawValue), \(status.rawValue), \(params.assignmentGroup),
                            \(params.assignee), \(idempotencyKey), \(actor), \(now), \(now))
                        RETURNING \(unsafeSQL: Incident.columns)
                    ), history AS (
                        INSERT INTO incident.history (incident_id, at, actor, field, old_value, new_value)
                        SELECT created.id, \(now), \(actor), field, NULL, CASE field WHEN 'number' THEN created.number ELSE value END
                        FROM created, unnest(\(given.map(\.0))::text[], \(given.map(\.1))::text[]) WITH ORDINALITY AS given(field, value, position)
                        ORDER BY position
                    )
                    SELECT * FROM created
                    """).single()
                var incident = try Incident(row: row)
                try await Self.checkAssignment(tx, incident)
                try await Self.checkService(tx, incident.service)
                // The SLA that applies and a known error that matches: one round trip for both.
                let found = try await tx.queries([Self.applicableDefinition(for: incident, now: incident.createdAt),
                                                  knownErrorMatch(for: incident)])
                try await refreshClocks(tx, for: incident, actor: actor, now: incident.createdAt, isNew: true, definitions: found[0])
                incident = try await suggestKnownError(tx, for: incident, actor: actor, now: now, matches: found[1])
                try await tx.publish(IncidentEvents.created, subject: incident.id.uuidString.lowercased(), data: incident)
                if let reason = majorCriterion(priority) {
                    return try await apply(tx, id: incident.id, number: nil, actor: actor, now: now) { current in
                        var plan = ChangePlan(current: current)
                        plan.declareMajor(reason: reason, actor: actor, now: now)
                        return plan
                    }
                }
                return incident
            }
        } catch let error as PostgresError where error.sqlState == .uniqueViolation && error.constraint == "incident_idempotency_key_key" {
            // A concurrent retry with the same key won the race: return its record.
            guard let idempotencyKey, let existing = try await find(idempotencyKey: idempotencyKey) else { throw error }
            return existing
        }
    }

    public func get(_ params: GetIncident) async throws -> IncidentDetail {
        let key = try Self.key(id: params.id, number: params.number)
        var select: PostgresQuery = "SELECT \(unsafeSQL: Incident.columns) FROM incident.incident"
        select.append(key)
        // Someone else's record is as absent as one that does not exist.
        if let viewer { select.append(viewer.condition()) }
        var itsClocks: PostgresQuery = " WHERE incident_id IN (SELECT id FROM incident.incident"
        itsClocks.append(key)
        itsClocks.append(")")
        // The record and its clocks in one round trip; the clocks of a record not shown go unread.
        let found = try await database.queries([select, Self.clockRows(itsClocks)])
        guard let row = found[0].first else {
            throw Self.notFound(id: params.id, number: params.number)
        }
        let incident = try Incident(row: row)
        var comments = params.comments == true ? try await comments(of: incident.id) : nil
        if viewer?.isRequester == true { comments = comments?.filter { $0.visibility == .customer } }
        let serviceLevels = try await clocks(found[1], of: incident.id)
        var children: [String]?
        var review: Review?
        if incident.major {
            children = try await database.query(
                "SELECT number FROM incident.incident WHERE parent_id = \(incident.id) ORDER BY number"
            ).map { try $0.decode(String.self, "number") }
            review = try await self.review(of: incident.id)
        }
        guard params.history == true else {
            return IncidentDetail(incident: incident, history: nil, comments: comments, serviceLevels: serviceLevels,
                                  children: children, review: review, workaround: try await workaround(for: incident))
        }
        // History is partitioned by month: the bound leaves out the months before the record
        // was made (a month's margin for a writer's clock behind the one that made it).
        let history = try await database.query("""
            SELECT at, actor, field, old_value, new_value FROM incident.history
            WHERE incident_id = \(incident.id) AND at >= \(incident.createdAt.addingTimeInterval(-Self.historyClockMargin)) ORDER BY id
            """).map { row in
            HistoryEntry(at: try row.decode(Date.self, "at"), actor: try row.decode(String.self, "actor"),
                         field: try row.decode(String.self, "field"), oldValue: try row.decode(String?.self, "old_value"),
                         newValue: try row.decode(String?.self, "new_value"))
        }
        return IncidentDetail(incident: incident, history: history, comments: comments, serviceLevels: serviceLevels,
                              children: children, review: review, workaround: try await workaround(for: incident))
    }

    private func find(idempotencyKey: String) async throws -> Incident? {
        try await database.query(
            "SELECT \(unsafeSQL: Incident.columns) FROM incident.incident WHERE idempotency_key = \(idempotencyKey)"
        ).first.map(Incident.init(row:))
    }
}

