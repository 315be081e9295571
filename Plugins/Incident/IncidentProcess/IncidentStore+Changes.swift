import Foundation
import ServiceProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// Changes to existing records. Each locks the row, decides what changes, writes only the
/// changed columns, appends one history row per field and publishes its events, all in one
/// transaction.
extension IncidentStore {
    public func update(_ params: UpdateIncident, actor: String, now: Date = Date()) async throws -> Incident {
        try await database.withTransaction { tx in
            let updated = try await apply(tx, id: params.id, number: params.number, actor: actor, now: now, requestKey: requestKey,
                                          visibleTo: viewer) { current in try updatePlan(current, params, actor: actor, now: now) }
            if params.service != nil { try await Self.checkService(tx, updated.service) }
            return updated
        }
    }

    private func updatePlan(_ current: Incident, _ params: UpdateIncident, actor: String, now: Date) throws -> ChangePlan {
        var plan = ChangePlan(current: current)
        if let title = params.title { plan.set("title", "title", current.title, try Incident.validatedTitle(title)) }
        if let description = params.description { plan.set("description", "description", current.description, description) }
        let optionalText: [(String, String, String?, String?)] = [
            ("caller", "caller", current.caller, params.caller), ("service", "service", current.service, params.service),
            ("configurationItem", "ci", current.configurationItem, params.configurationItem),
            ("category", "category", current.category, params.category),
            ("subcategory", "subcategory", current.subcategory, params.subcategory),
            ("supplier", "supplier", current.supplier, params.supplier),
        ]
        for (field, column, old, new) in optionalText {
            guard let new else { continue }
            try Incident.checkShortText(field, new)
            plan.set(field, column, old, new.isEmpty ? nil : new)
        }
        let impact = params.impact ?? current.impact
        let urgency = params.urgency ?? current.urgency
        plan.set("impact", "impact", current.impact.description, impact.description, value: impact.rawValue)
        plan.set("urgency", "urgency", current.urgency.description, urgency.description, value: urgency.rawValue)
        let priority = matrix.priority(impact: impact, urgency: urgency)
        plan.set("priority", "priority", current.priority.description, priority.description, value: priority.rawValue)
        if !plan.changes.isEmpty { plan.events.append(IncidentEvents.updated) }
        if let reason = majorCriterion(priority), current.status.isOpen {
            plan.declareMajor(reason: reason, actor: actor, now: now)
        }
        return plan
    }

    /// Once the service process has published a catalogue, a record names one of its services
    /// that is not retired; before that, a service is free text as it always was.
    static func checkService(_ tx: PluginTransaction, _ service: String?) async throws {
        guard let service else { return }
        let rows = try await tx.query("""
            SELECT name, status FROM incident.catalogue_service WHERE lower(name) = lower(\(service))
            UNION ALL (SELECT NULL, NULL FROM incident.catalogue_service LIMIT 1)
            """)
        guard let row = rows.first else { return }   // no catalogue yet
        guard let name = try row.decode(String?.self, "name") else {
            throw ResponseError.invalidParams("service: '\(service.prefix(100))' is not in the service catalogue (itsm service list)")
        }
        if try row.decode(String.self, "status") == "retired" { throw ResponseError.invalidParams("service: \(name) is retired") }
    }

    /// A service of the catalogue as the service process published it: records may name it
    /// while it is not retired.
    public func learn(_ service: Service, in tx: PluginTransaction) async throws {
        try await tx.query("DELETE FROM incident.catalogue_service WHERE lower(name) = lower(\(service.name)) AND name <> \(service.name)")
        try await tx.query("""
            INSERT INTO incident.catalogue_service (name, status) VALUES (\(service.name), \(service.status.rawValue))
            ON CONFLICT (name) DO UPDATE SET status = EXCLUDED.status
            """)
    }

    /// Each service name the records use, with how many use it: what the service process adds
    /// to its catalogue when it first meets records made before it.
    public func serviceNames() async throws -> [ServiceName] {
        try await database.query("""
            SELECT service, count(*) AS records FROM incident.incident WHERE service IS NOT NULL GROUP BY service ORDER BY service
            """).map { ServiceName(name: try $0.decode(String.self, "service"), records: try $0.decode(Int.self, "records")) }
    }

    public func assign(_ params: AssignIncident, actor: String, now: Date = Date()) async throws -> Incident {
        guard params.assignmentGroup != nil || params.assignee != nil else {
            throw ResponseError.invalidParams("give assignmentGroup, assignee, or both")
        }
        return try await database.withTransaction { tx in
            let updated = try await apply(tx, id: params.id, number: params.number, actor: actor, now: now, requestKey: requestKey, visibleTo: viewer) { current in
                guard current.status.isOpen else {
                    throw ResponseError.business(kind: "incident.invalid_transition",
                                                 message: "\(current.number) is \(current.status.rawValue); only open records can be assigned")
                }
                var plan = ChangePlan(current: current)
                if let group = params.assignmentGroup { plan.set("assignmentGroup", "assignment_group", current.assignmentGroup, group.isEmpty ? nil : group) }
                if let assignee = params.assignee { plan.set("assignee", "assignee", current.assignee, assignee.isEmpty ? nil : assignee) }
                guard !plan.changes.isEmpty else { return plan }
                plan.events.append(IncidentEvents.assigned)
                if current.status == .new { plan.setStatus(.assigned) }
                return plan
            }
            try await Self.checkAssignment(tx, updated)
            return updated
        }
    }

    /// Once a group is defined (`itsm.assignment_group`), a record assigned to it may name only
    /// one of its members as assignee; a group name that is not defined stays free text.
    static func checkAssignment(_ tx: PluginTransaction, _ incident: Incident) async throws {
        guard let group = incident.assignmentGroup, let assignee = incident.assignee else { return }
        let row = try await tx.query("""
            SELECT EXISTS (SELECT 1 FROM itsm.assignment_group WHERE name = \(group)) AS defined,
                   EXISTS (SELECT 1 FROM itsm.group_member WHERE group_name = \(group) AND account = \(assignee)) AS member
            """).single()
        if try row.decode(Bool.self, "defined"), try !row.decode(Bool.self, "member") {
            throw ResponseError.business(kind: "incident.assignee_not_in_group",
                                         message: "assignee: \(assignee) is not a member of the group \(group); GET /api/v1/groups lists the members",
                                         details: ["assignee": .string(assignee), "assignmentGroup": .string(group)])
        }
    }

    public func transition(_ params: TransitionIncident, actor: String, now: Date = Date()) async throws -> Incident {
        try await database.withTransaction { tx in
            let updated = try await apply(tx, id: params.id, number: params.number, actor: actor, now: now, requestKey: requestKey, visibleTo: viewer) { current in
                try transitionPlan(current, params, now: now)
            }
            if params.to == .closed, updated.major {
                let reviewed = try await tx.query("SELECT 1 FROM incident.review WHERE incident_id = \(updated.id)")
                guard !reviewed.isEmpty else {
                    throw ResponseError.business(kind: "incident.review_required", message:
                        "\(updated.number) is a major incident: record its post-incident review (incident.review) before closing it")
                }
            }
            if params.to == .resolved { try await resolveChildren(tx, of: updated, actor: actor, now: now) }
            return updated
        }
    }

    private func transitionPlan(_ current: Incident, _ params: TransitionIncident, now: Date) throws -> ChangePlan {
            do {
                try lifecycle.check(from: current.status, to: params.to,
                                    request: .init(holdReason: params.holdReason, resolutionCode: params.resolutionCode,
                                                   resolutionNotes: params.resolutionNotes),
                                    resolvedAt: current.resolvedAt, now: now)
            } catch let refusal {
                throw ResponseError.business(
                    kind: "incident.invalid_transition", message: "\(current.number): \(refusal)",
                    details: ["from": .string(current.status.rawValue), "to": .string(params.to.rawValue),
                              "allowed": .array(lifecycle.allowedTargets(from: current.status).map { .string($0.rawValue) })])
            }
            var plan = ChangePlan(current: current)
            plan.setStatus(params.to)
            plan.set("holdReason", "hold_reason", current.holdReason?.rawValue, params.to == .onHold ? params.holdReason?.rawValue : nil)
            switch (current.status, params.to) {
            case (_, .resolved):
                plan.set("resolutionCode", "resolution_code", current.resolutionCode, params.resolutionCode)
                plan.set("resolutionNotes", "resolution_notes", current.resolutionNotes, params.resolutionNotes)
                plan.setTime("resolvedAt", "resolved_at", current.resolvedAt, now)
            case (.resolved, .inProgress):
                plan.setTime("resolvedAt", "resolved_at", current.resolvedAt, nil)
                plan.set("reopenCount", "reopen_count", String(current.reopenCount), String(current.reopenCount + 1),
                         value: current.reopenCount + 1)
            case (_, .closed):
                plan.setTime("closedAt", "closed_at", current.closedAt, now)
            default:
                break
            }
            if let event = Lifecycle.event(from: current.status, to: params.to) { plan.events.append(EventType(event)) }
            return plan
    }

    public func comment(_ params: CommentOnIncident, actor: String) async throws -> Comment {
        let body = params.body.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...20_000).contains(body.count) else { throw ResponseError.invalidParams("body: 1 to 20000 characters") }
        let visibility = params.visibility ?? .workNote
        let incident = try await get(GetIncident(id: params.id, number: params.number)).incident
        return try await database.withTransaction { tx in
            if let requestKey {
                let applied = try await tx.query("""
                    SELECT c.at, c.author, c.visibility, c.body FROM incident.applied_request r JOIN incident.comment c ON c.id = r.comment_id
                    WHERE r.key = \(requestKey) AND r.incident_id = \(incident.id)
                    """).first
                if let applied { return try Self.comment(applied) }
            }
            let row = try await tx.query("""
                INSERT INTO incident.comment (incident_id, author, visibility, body)
                VALUES (\(incident.id), \(actor), \(visibility.rawValue), \(body))
                RETURNING id, at, author, visibility, body
                """).single()
            if let requestKey {
                try await recordApplied(tx, key: requestKey, incident: incident.id, comment: try row.decode(Int64.self, "id"))
            }
            return try Self.comment(row)
        }
    }

    static func comment(_ row: PostgresRow) throws -> Comment {
        Comment(at: try row.decode(Date.self, "at"), author: try row.decode(String.self, "author"),
                visibility: Comment.Visibility(rawValue: try row.decode(String.self, "visibility")) ?? .workNote,
                body: try row.decode(String.self, "body"))
    }

    /// Records that the request with `key` was applied, in the transaction that applies it. A
    /// key already used for another record is refused: a key names one request.
    private func recordApplied(_ tx: PluginTransaction, key: String, incident: UUID, comment: Int64? = nil) async throws {
        let inserted = try await tx.query("""
            INSERT INTO incident.applied_request (key, incident_id, comment_id) VALUES (\(key), \(incident), \(comment))
            ON CONFLICT (key) DO NOTHING
            """).affectedRows
        guard inserted == 1 else { throw Self.keyReused }
    }

    /// How long a change's idempotency key is remembered: far longer than any client retries.
    public static let appliedRequestRetention: TimeInterval = 7 * 24 * 3600

    /// Forgets keys of changes applied longer ago than the retention; returns how many.
    @discardableResult
    public func pruneAppliedRequests(now: Date = Date()) async throws -> Int {
        try await database.query("""
            DELETE FROM incident.applied_request WHERE applied_at < \(now.addingTimeInterval(-Self.appliedRequestRetention))
            """).affectedRows
    }

    /// Makes history's month partitions through a month from `now` (hourly), so a write finds
    /// its month made and nothing waits in the default partition.
    public func ensureHistoryMonths(now: Date = Date()) async throws {
        _ = try await database.query("SELECT itsm.ensure_month_partitions('incident.history', \(now.addingTimeInterval(Self.historyMonthsAhead)))")
    }

    static let historyMonthsAhead: TimeInterval = 32 * 86_400
    /// How far before its record's creation a history row is still looked for.
    static let historyClockMargin: TimeInterval = 31 * 86_400

    static let keyReused = ResponseError.business(kind: "request.key_reused",
                                                  message: "Idempotency-Key: already used for another request; use a new key for each change")

    public func comments(of incident: UUID) async throws -> [Comment] {
        try await database.query("""
            SELECT at, author, visibility, body FROM incident.comment WHERE incident_id = \(incident) ORDER BY id
            """).map(Self.comment)
    }

    // MARK: - The shared path

    /// Locks the record, asks `plan` what changes, and applies it, in a transaction of its own.
    func mutate(id: UUID?, number: String?, actor: String, now: Date,
                _ plan: (Incident) throws -> ChangePlan) async throws -> Incident {
        try await database.withTransaction { tx in
            try await apply(tx, id: id, number: number, actor: actor, now: now, requestKey: requestKey, visibleTo: viewer, plan)
        }
    }

    /// The same inside a transaction the caller holds, so related changes commit together.
    /// `requestKey`: the request's idempotency key, for the record the request names (not for
    /// records changed along with it, such as a parent's children).
    /// `visibleTo`: for the record a request names, the viewer it must be visible to (records
    /// changed along with it, such as a major incident's children, are not limited).
    func apply(_ tx: PluginTransaction, id: UUID?, number: String?, actor: String, now: Date, requestKey: String? = nil,
               visibleTo viewer: Viewer? = nil, _ plan: (Incident) throws -> ChangePlan) async throws -> Incident {
        let key = try Self.key(id: id, number: number)
        do {
            var select: PostgresQuery = "SELECT \(unsafeSQL: Incident.columns) FROM incident.incident"
            select.append(key)
            if let viewer { select.append(viewer.condition()) }
            select.append(" FOR UPDATE")
            guard let row = try await tx.query(select).first else { throw Self.notFound(id: id, number: number) }
            let current = try Incident(row: row)
            // Applied already (the record is locked, so a concurrent twin waits and sees it): the
            // retry gets the record as it is.
            if let requestKey, let applied = try await tx.query("SELECT incident_id FROM incident.applied_request WHERE key = \(requestKey)").first {
                guard try applied.decode(UUID.self, "incident_id") == current.id else { throw Self.keyReused }
                return current
            }
            let changes = try plan(current)
            guard !changes.changes.isEmpty else { return current }
            if let requestKey { try await recordApplied(tx, key: requestKey, incident: current.id) }

            var update: PostgresQuery = "UPDATE incident.incident SET updated_at = \(now)"
            update.append(changes.fields.assignments)
            update.append(" WHERE id = \(current.id) RETURNING \(unsafeSQL: Incident.columns)")
            let updated = try Incident(row: try await tx.query(update).single())

            for change in changes.changes {
                try await tx.query("""
                    INSERT INTO incident.history (incident_id, at, actor, field, old_value, new_value)
                    VALUES (\(current.id), \(now), \(actor), \(change.field), \(change.old), \(change.new))
                    """)
            }
            try await recordHold(tx, from: current, to: updated, now: now)
            try await refreshClocks(tx, for: updated, actor: actor, now: now)

            let subject = current.id.uuidString.lowercased()
            let summary = IncidentChange(
                incident: updated, actor: actor,
                changes: changes.changes.map { .init(field: $0.field, oldValue: $0.old, newValue: $0.new) },
                kind: changes.escalation?.kind, reason: changes.escalation?.reason)
            if updated.status != current.status {
                var payload = summary
                payload.from = current.status
                payload.to = updated.status
                try await tx.publish(IncidentEvents.statusChanged, subject: subject, data: payload)
            }
            for event in changes.events {
                try await tx.publish(event, subject: subject, data: summary)
            }
            return updated
        }
    }

    /// Opens a hold period when a record goes on hold and closes it when it leaves.
    private func recordHold(_ tx: PluginTransaction, from current: Incident, to updated: Incident, now: Date) async throws {
        if current.status == .onHold && updated.status != .onHold {
            try await tx.query("UPDATE incident.hold_period SET ended_at = \(now) WHERE incident_id = \(current.id) AND ended_at IS NULL")
        }
        if updated.status == .onHold && current.status != .onHold, let reason = updated.holdReason {
            try await tx.query("""
                INSERT INTO incident.hold_period (incident_id, started_at, reason) VALUES (\(current.id), \(now), \(reason.rawValue))
                """)
        }
    }

    /// ` WHERE id = $n` or ` WHERE number = $n`.
    static func key(id: UUID?, number: String?) throws -> PostgresQuery {
        switch (id, number) {
        case (.some(let id), nil): return " WHERE id = \(id)"
        case (nil, .some(let number)): return " WHERE number = \(number.uppercased())"
        default: throw ResponseError.invalidParams("give exactly one of id and number")
        }
    }

    static func notFound(id: UUID?, number: String?) -> ResponseError {
        let key = id.map { $0.uuidString.lowercased() } ?? number ?? ""
        return .business(kind: "incident.not_found", message: "no incident or request \(key)", details: ["key": .string(key)])
    }
}

/// What a change does to a record: fields, and the events it publishes.
struct ChangePlan {
    let current: Incident
    var fields = FieldChanges()
    var events: [EventType<IncidentChange>] = []
    /// How and why the record is escalated, for the events' payload.
    var escalation: (kind: EscalateIncident.Kind, reason: String?)?

    var changes: [FieldChanges.Change] { fields.changes }

    mutating func set(_ field: String, _ column: String, _ old: String?, _ new: String?, value: (any PostgresEncodable)? = nil) {
        fields.set(field, column, old, new, value: value)
    }

    mutating func setTime(_ field: String, _ column: String, _ old: Date?, _ new: Date?) {
        fields.setTime(field, column, old, new)
    }

    mutating func setStatus(_ status: IncidentStatus) {
        set("status", "status", current.status.rawValue, status.rawValue)
    }

    /// Makes the record a major incident, unless it already is one.
    mutating func declareMajor(reason: String, actor: String, now: Date) {
        guard !current.major else { return }
        set("major", "major", "false", "true", value: true)
        set("majorDeclaredBy", "major_declared_by", nil, actor)
        setTime("majorDeclaredAt", "major_declared_at", nil, now)
        set("majorReason", "major_reason", nil, reason)
        events.append(IncidentEvents.majorDeclared)
    }
}

/// The payload of change events: the record after the change, who made it, and what changed.
