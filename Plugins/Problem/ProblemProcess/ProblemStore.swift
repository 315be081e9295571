import Foundation
import IncidentProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// Reads and changes problems. Every change locks the row, writes only what changed, appends
/// one history row per field and publishes its events, in one transaction.
public struct ProblemStore: Sendable {
    public let database: PluginDatabase
    public let settings: ProblemSettings

    /// Fetches an incident from the incident process (`incident.get`), through the coordinator.
    public typealias IncidentLookup = @Sendable (String) async throws(ResponseError) -> Incident

    public init(database: PluginDatabase, settings: ProblemSettings = ProblemSettings()) {
        self.database = database
        self.settings = settings
    }

    // MARK: - Create and read

    public func create(_ params: CreateProblem, actor: String) async throws -> Problem {
        let title = try Self.validatedTitle(params.title)
        let impact = try Self.level(params.impact, "impact")
        let urgency = try Self.level(params.urgency, "urgency")
        let services = try Self.names(params.services, "services")
        let items = try Self.names(params.configurationItems, "configurationItems")
        return try await database.withTransaction { tx in
            let problem = try await insert(
                tx, title: title, description: params.description ?? "", services: services, items: items, category: params.category,
                impact: impact, urgency: urgency, owner: params.owner, status: .new, detection: nil, actor: actor)
            try await tx.publish(ProblemEvents.created, subject: problem.id.uuidString.lowercased(), data: problem)
            return try await declareMajorIfDue(tx, problem, actor: actor)
        }
    }

    func insert(_ tx: PluginTransaction, title: String, description: String, services: [String], items: [String], category: String?,
                impact: Int, urgency: Int, owner: String?, status: ProblemStatus, detection: (rule: String, key: String?)?,
                actor: String) async throws -> Problem {
        let priority = ProblemPriority.priority(impact: impact, urgency: urgency)
        let row = try await tx.query("""
            INSERT INTO problem.problem (title, description, services, cis, category, impact, urgency, priority, owner, status,
                detection_rule, detection_key, created_by)
            VALUES (\(title), \(description), \(services), \(items), \(category), \(impact), \(urgency), \(priority), \(owner),
                \(status.rawValue), \(detection?.rule), \(detection?.key), \(actor))
            RETURNING \(unsafeSQL: Problem.columns)
            """).single()
        let problem = try Problem(row: row)
        let initial: [(String, String?)] = [
            ("number", problem.number), ("title", title), ("status", status.rawValue), ("priority", problem.priority),
            ("services", services.isEmpty ? nil : services.joined(separator: ", ")),
            ("configurationItems", items.isEmpty ? nil : items.joined(separator: ", ")), ("category", category), ("owner", owner),
        ]
        for (field, value) in initial where value != nil {
            try await recordHistory(tx, problem.id, actor: actor, field: field, old: nil, new: value)
        }
        return problem
    }

    public func get(_ params: GetProblem) async throws -> ProblemDetail {
        try await database.withTransaction { tx in
            let problem = try await load(tx, number: params.number, lock: false)
            let incidents = try await tx.query("""
                SELECT i.number, i.title, i.priority, i.status, i.opened_at, i.resolved_at, l.how
                FROM problem.link l JOIN problem.incident i ON i.id = l.incident_id
                WHERE l.problem_id = \(problem.id) ORDER BY i.opened_at, i.number
                """).map { row in
                LinkedIncident(number: try row.decode(String.self, "number"), title: try row.decode(String.self, "title"),
                               priority: try row.decode(Int?.self, "priority").map { "P\($0)" },
                               status: try row.decode(String.self, "status"), openedAt: try row.decode(Date.self, "opened_at"),
                               resolvedAt: try row.decode(Date?.self, "resolved_at"), how: try row.decode(String.self, "how"))
            }
            let knownError = try await tx.query("""
                SELECT \(unsafeSQL: KnownError.columns) FROM problem.known_error k JOIN problem.problem p ON p.id = k.problem_id
                WHERE k.problem_id = \(problem.id)
                """).first.map(KnownError.init(row:))
            let review = try await tx.query("""
                SELECT reviewed_by, reviewed_at, summary, lessons, actions FROM problem.review WHERE problem_id = \(problem.id)
                """).first.map { row in
                ProblemReview(reviewedBy: try row.decode(String.self, "reviewed_by"), reviewedAt: try row.decode(Date.self, "reviewed_at"),
                              summary: try row.decode(String.self, "summary"), lessons: try row.decode(String.self, "lessons"),
                              actions: try row.decode([String].self, "actions"))
            }
            var history: [HistoryEntry]?
            if params.history == true {
                history = try await tx.query("""
                    SELECT at, actor, field, old_value, new_value FROM problem.history WHERE problem_id = \(problem.id) ORDER BY id
                    """).map { row in
                    HistoryEntry(at: try row.decode(Date.self, "at"), actor: try row.decode(String.self, "actor"),
                                 field: try row.decode(String.self, "field"), oldValue: try row.decode(String?.self, "old_value"),
                                 newValue: try row.decode(String?.self, "new_value"))
                }
            }
            return ProblemDetail(problem: problem, incidents: incidents, impact: try await businessImpact(tx, problem.id),
                                 knownError: knownError, review: review, recurrence: try await recurrence(tx, problem),
                                 history: history)
        }
    }

    /// Newest first. Pages follow `nextCursor` at the cost of the first whatever their depth;
    /// `offset` still works for short lists. The total is counted up to a thousand.
    public func list(_ params: ListProblems) async throws -> ProblemList {
        let limit = params.limit ?? 50
        let offset = params.offset ?? 0
        guard (1...500).contains(limit) else { throw ResponseError.invalidParams("limit: 1 to 500") }
        guard offset >= 0 else { throw ResponseError.invalidParams("offset: 0 or more") }
        let after = try NewestFirstCursor.parse(params.after, offset: params.offset)
        let status = params.status?.rawValue
        var filter: PostgresQuery = """
             WHERE (\(status)::text IS NULL OR status = \(status)) AND (\(params.owner)::text IS NULL OR owner = \(params.owner))
              AND (\(params.major)::boolean IS NULL OR major = \(params.major))
            """
        try filter.appendPeriods(params.recordPeriods + [
            PeriodFilter("resolved", column: "resolved_at", from: params.resolvedFrom, to: params.resolvedTo),
            PeriodFilter("closed", column: "closed_at", from: params.closedFrom, to: params.closedTo),
        ])
        let (total, estimated) = try await CappedCount.count(database, from: "problem.problem", where: filter,
                                                             limit: ProblemList.exactTotalLimit)
        var select: PostgresQuery = "SELECT \(unsafeSQL: Problem.columns) FROM problem.problem"
        select.append(filter)
        if let after { select.append(after.condition()) }
        // One more than asked for says whether a next page exists.
        select.append(" ORDER BY created_at DESC, number DESC LIMIT \(limit + 1) OFFSET \(offset)")
        let rows = try await database.query(select.plannedForEachRun()).map(Problem.init(row:))
        let (items, cursor) = ListPaging.page(rows, limit: limit) { NewestFirstCursor(createdAt: $0.createdAt, number: $0.number).text }
        return ProblemList(items: items, total: total, totalIsEstimate: estimated ? true : nil, nextCursor: cursor)
    }

    // MARK: - Changes

    public func update(_ params: UpdateProblem, actor: String) async throws -> Problem {
        try await change(number: params.number, actor: actor) { problem in
            guard problem.status != .closed else {
                throw ResponseError.business(kind: "problem.closed", message: "\(problem.number) is closed; it can no longer change")
            }
            var plan = ProblemChanges(current: problem)
            if let title = params.title { plan.set("title", "title", problem.title, try Self.validatedTitle(title)) }
            if let description = params.description { plan.set("description", "description", problem.description, description) }
            if let services = params.services {
                let names = try Self.names(services, "services")
                plan.set("services", "services", problem.services.joined(separator: ", "), names.joined(separator: ", "), value: names)
            }
            if let items = params.configurationItems {
                let names = try Self.names(items, "configurationItems")
                plan.set("configurationItems", "cis", problem.configurationItems.joined(separator: ", "), names.joined(separator: ", "),
                         value: names)
            }
            if let category = params.category { plan.set("category", "category", problem.category, category.isEmpty ? nil : category) }
            if let owner = params.owner { plan.set("owner", "owner", problem.owner, owner.isEmpty ? nil : owner) }
            if let fix = params.fix { plan.set("fix", "fix_change", problem.fix, fix.isEmpty ? nil : fix) }
            if params.impact != nil || params.urgency != nil {
                let impact = try Self.level(params.impact ?? problem.impact, "impact")
                let urgency = try Self.level(params.urgency ?? problem.urgency, "urgency")
                plan.set("impact", "impact", String(problem.impact), String(impact), value: impact)
                plan.set("urgency", "urgency", String(problem.urgency), String(urgency), value: urgency)
                let priority = ProblemPriority.priority(impact: impact, urgency: urgency)
                plan.set("priority", "priority", problem.priority, "P\(priority)", value: priority)
            }
            if !plan.changes.isEmpty { plan.events.append(ProblemEvents.updated) }
            return plan
        }
    }

    public func transition(_ params: TransitionProblem, actor: String) async throws -> Problem {
        try await change(number: params.number, actor: actor) { problem, tx in
            let from = problem.status
            let to = params.to
            guard from.next.contains(to) else {
                let allowed = from.next.map(\.rawValue).sorted().joined(separator: ", ")
                throw ResponseError.business(
                    kind: "problem.invalid_transition",
                    message: "\(problem.number) is \(from.rawValue); it can move to: \(allowed.isEmpty ? "nothing" : allowed)",
                    details: ["from": .string(from.rawValue), "to": .string(to.rawValue)])
            }
            let note = params.note?.trimmingCharacters(in: .whitespacesAndNewlines)
            var plan = ProblemChanges(current: problem)
            switch to {
            case .knownError where problem.rootCause.findings == nil:
                throw ResponseError.business(kind: "problem.root_cause_required",
                                             message: "record the root cause first (problem.rca), or publish a known error")
            case .resolved:
                guard problem.fix != nil || !(note ?? "").isEmpty else {
                    throw ResponseError.business(kind: "problem.fix_required",
                                                 message: "say how it was fixed: set fix (the change) with problem.update, or give a note")
                }
                plan.set("resolution", "resolution", problem.resolution, note ?? problem.resolution)
                plan.setTime("resolvedAt", "resolved_at", problem.resolvedAt, Date())
                plan.events.append(ProblemEvents.resolved)
            case .closed:
                if problem.major, try await tx.query("SELECT 1 FROM problem.review WHERE problem_id = \(problem.id)").first == nil {
                    throw ResponseError.business(kind: "problem.review_required",
                                                 message: "\(problem.number) is a major problem: record its review (problem.review) before closing it")
                }
                if from != .resolved && (note ?? "").isEmpty {
                    throw ResponseError.invalidParams("note: say why \(problem.number) is closed without being resolved")
                }
                if from != .resolved { plan.set("resolution", "resolution", problem.resolution, note) }
                plan.setTime("closedAt", "closed_at", problem.closedAt, Date())
            case .underInvestigation where from == .resolved:
                plan.setTime("resolvedAt", "resolved_at", problem.resolvedAt, nil) // reopened
            default:
                break
            }
            plan.set("status", "status", from.rawValue, to.rawValue)
            plan.statusChange = (from, to, note)
            return plan
        }
    }

    public func recordRootCause(_ params: RecordRootCause, actor: String) async throws -> Problem {
        try await change(number: params.number, actor: actor) { problem in
            guard problem.status.isActive else {
                throw ResponseError.business(kind: "problem.closed", message: "\(problem.number) is \(problem.status.rawValue)")
            }
            let method = params.method.trimmingCharacters(in: .whitespacesAndNewlines)
            let findings = params.findings.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !method.isEmpty, !findings.isEmpty else { throw ResponseError.invalidParams("method and findings: required") }
            var plan = ProblemChanges(current: problem)
            plan.set("rootCause.method", "rca_method", problem.rootCause.method, method)
            plan.set("rootCause.findings", "rca_findings", problem.rootCause.findings, findings)
            if let category = params.category { plan.set("rootCause.category", "cause_category", problem.rootCause.category, category) }
            if !plan.changes.isEmpty { plan.events.append(ProblemEvents.updated) }
            return plan
        }
    }

    public func review(_ params: ReviewProblem, actor: String) async throws -> ProblemReview {
        let summary = params.summary.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !summary.isEmpty else { throw ResponseError.invalidParams("summary: required") }
        return try await database.withTransaction { tx in
            let problem = try await load(tx, number: params.number, lock: true)
            let row = try await tx.query("""
                INSERT INTO problem.review (problem_id, reviewed_by, summary, lessons, actions)
                VALUES (\(problem.id), \(actor), \(summary), \(params.lessons ?? ""), \(params.actions ?? []))
                ON CONFLICT (problem_id) DO UPDATE SET reviewed_by = excluded.reviewed_by, reviewed_at = now(),
                    summary = excluded.summary, lessons = excluded.lessons, actions = excluded.actions
                RETURNING reviewed_by, reviewed_at, summary, lessons, actions
                """).single()
            try await recordHistory(tx, problem.id, actor: actor, field: "review", old: nil, new: summary)
            return ProblemReview(reviewedBy: try row.decode(String.self, "reviewed_by"), reviewedAt: try row.decode(Date.self, "reviewed_at"),
                                 summary: try row.decode(String.self, "summary"), lessons: try row.decode(String.self, "lessons"),
                                 actions: try row.decode([String].self, "actions"))
        }
    }

    // MARK: - Incidents

    /// Links an incident, checked with the incident process: a missing process or incident
    /// is a clear error, and nothing is linked.
    public func link(_ params: LinkProblemIncident, actor: String, lookup: IncidentLookup) async throws -> ProblemDetail {
        let incident: Incident
        do {
            incident = try await lookup(params.incident)
        } catch {
            if error.kind == "incident.not_found" {
                throw ResponseError.business(kind: "problem.incident_not_found", message: "no incident \(params.incident)")
            }
            // A disabled or stopped incident process names itself in the message; keep its kind.
            throw ResponseError(code: error.code, message: "cannot link \(params.incident): \(error.message)", data: error.data)
        }
        try await database.withTransaction { tx in
            let problem = try await load(tx, number: params.number, lock: true)
            guard problem.status.isActive else {
                throw ResponseError.business(kind: "problem.closed", message: "\(problem.number) is \(problem.status.rawValue); link to an open problem")
            }
            let record = try await IncidentProjection.record(tx, incident, sequence: nil)
            try await attach(tx, incidents: [record], to: problem, how: "manual", actor: actor)
            _ = try await declareMajorIfDue(tx, problem, actor: actor)
        }
        return try await get(GetProblem(number: params.number))
    }

    public func unlink(_ params: LinkProblemIncident, actor: String) async throws -> ProblemDetail {
        try await database.withTransaction { tx in
            let problem = try await load(tx, number: params.number, lock: true)
            let removed = try await tx.query("""
                DELETE FROM problem.link l USING problem.incident i
                WHERE l.incident_id = i.id AND i.number = \(params.incident) AND l.problem_id = \(problem.id)
                RETURNING i.number
                """)
            guard !removed.isEmpty else {
                throw ResponseError.business(kind: "problem.not_linked", message: "\(params.incident) is not linked to \(problem.number)")
            }
            try await recordHistory(tx, problem.id, actor: actor, field: "incidents", old: params.incident, new: nil)
            try await tx.publish(ProblemEvents.incidentUnlinked, subject: problem.id.uuidString.lowercased(),
                                 data: ProblemIncidentLink(problem: problem.number, incident: params.incident))
        }
        return try await get(GetProblem(number: params.number))
    }

    /// Links incidents not linked yet; an incident linked to another problem is refused.
    func attach(_ tx: PluginTransaction, incidents: [IncidentProjection.Record], to problem: Problem, how: String,
                actor: String) async throws {
        for incident in incidents {
            let linked = try await tx.query("""
                INSERT INTO problem.link (incident_id, problem_id, how, linked_by) VALUES (\(incident.id), \(problem.id), \(how), \(actor))
                ON CONFLICT (incident_id) DO NOTHING RETURNING incident_id
                """)
            if linked.isEmpty {
                let owner = try await tx.query("""
                    SELECT p.number FROM problem.link l JOIN problem.problem p ON p.id = l.problem_id WHERE l.incident_id = \(incident.id)
                    """).first?.decode(String.self, "number")
                if owner == problem.number { continue }
                throw ResponseError.business(kind: "problem.already_linked",
                                             message: "\(incident.number) is linked to \(owner ?? "another problem"); unlink it there first")
            }
            try await recordHistory(tx, problem.id, actor: actor, field: "incidents", old: nil, new: incident.number)
            try await tx.publish(ProblemEvents.incidentLinked, subject: problem.id.uuidString.lowercased(),
                                 data: ProblemIncidentLink(problem: problem.number, incident: incident.number))
        }
    }

    /// Makes a problem major when it meets the configured criteria, once.
    func declareMajorIfDue(_ tx: PluginTransaction, _ problem: Problem, actor: String) async throws -> Problem {
        guard !problem.major else { return problem }
        let priority = Int(problem.priority.dropFirst()) ?? 5
        let linked = try await tx.query("SELECT count(*) AS n FROM problem.link WHERE problem_id = \(problem.id)").single()
            .decode(Int.self, "n")
        let reason: String
        if priority <= settings.majorPriority {
            reason = "priority \(problem.priority)"
        } else if linked >= settings.majorLinkedIncidents {
            reason = "\(linked) linked incidents"
        } else {
            return problem
        }
        let row = try await tx.query("""
            UPDATE problem.problem SET major = true, updated_at = now() WHERE id = \(problem.id) RETURNING \(unsafeSQL: Problem.columns)
            """).single()
        let updated = try Problem(row: row)
        try await recordHistory(tx, problem.id, actor: actor, field: "major", old: "false", new: "true")
        try await tx.publish(ProblemEvents.majorDeclared, subject: problem.id.uuidString.lowercased(),
                             data: ProblemMajorDeclared(problem: updated, reason: reason))
        return updated
    }

    // MARK: - Figures

    func businessImpact(_ tx: PluginTransaction, _ problem: UUID) async throws -> BusinessImpact {
        let row = try await tx.query("""
            SELECT count(*) AS total,
                   count(*) FILTER (WHERE i.status NOT IN ('resolved', 'closed', 'cancelled')) AS open,
                   coalesce(extract(epoch FROM sum(coalesce(i.resolved_at, now()) - i.opened_at)) / 3600, 0)::float8 AS hours
            FROM problem.link l JOIN problem.incident i ON i.id = l.incident_id WHERE l.problem_id = \(problem)
            """).single()
        let byPriority = try await tx.query("""
            SELECT 'P' || i.priority AS priority, count(*) AS n FROM problem.link l JOIN problem.incident i ON i.id = l.incident_id
            WHERE l.problem_id = \(problem) AND i.priority IS NOT NULL GROUP BY i.priority
            """).reduce(into: [String: Int]()) { counts, row in
            counts[try row.decode(String.self, "priority")] = try row.decode(Int.self, "n")
        }
        let total = try row.decode(Int.self, "total")
        let open = try row.decode(Int.self, "open")
        return BusinessImpact(incidents: total, open: open, closed: total - open, byPriority: byPriority,
                              downtimeHours: (try row.decode(Double.self, "hours") * 100).rounded() / 100)
    }

    /// For a resolved problem: incidents of the same cluster opened since, by CI, or by
    /// service and category, or linked after the resolution.
    func recurrence(_ tx: PluginTransaction, _ problem: Problem) async throws -> Recurrence? {
        guard let since = problem.resolvedAt else { return nil }
        let numbers = try await tx.query("""
            SELECT i.number FROM problem.incident i
            WHERE i.opened_at > \(since) AND (
                i.ci = ANY(\(problem.configurationItems))
                OR (i.service = ANY(\(problem.services)) AND i.category IS NOT DISTINCT FROM \(problem.category))
                OR EXISTS (SELECT 1 FROM problem.link l WHERE l.incident_id = i.id AND l.problem_id = \(problem.id)))
            ORDER BY i.opened_at LIMIT 100
            """).map { try $0.decode(String.self, "number") }
        return Recurrence(since: since, incidents: numbers, stopped: numbers.isEmpty)
    }

    public func stats(_ params: ProblemStatsParams) async throws -> ProblemStats {
        let to = params.to ?? Date()
        let from = params.from ?? to.addingTimeInterval(-30 * 24 * 3600)
        guard from < to else { throw ResponseError.invalidParams("from must be before to") }
        let row = try await database.query("""
            SELECT
                count(*) FILTER (WHERE created_at >= \(from) AND created_at < \(to) AND detection_rule IS NULL) AS created,
                count(*) FILTER (WHERE created_at >= \(from) AND created_at < \(to) AND detection_rule IS NOT NULL) AS proposed,
                count(*) FILTER (WHERE resolved_at >= \(from) AND resolved_at < \(to)) AS resolved,
                count(*) FILTER (WHERE major AND status NOT IN ('resolved', 'closed')) AS major_open,
                (extract(epoch FROM avg(resolved_at - created_at) FILTER (WHERE resolved_at >= \(from) AND resolved_at < \(to))) / 3600)::float8
                    AS mean_hours
            FROM problem.problem
            """).single()
        let published = try await database.query("""
            SELECT count(*) AS n FROM problem.known_error WHERE published_at >= \(from) AND published_at < \(to)
            """).single().decode(Int.self, "n")
        let open = try await database.query("""
            SELECT status, count(*) AS n FROM problem.problem WHERE status NOT IN ('resolved', 'closed') GROUP BY status
            """).reduce(into: [String: Int]()) { counts, row in
            counts[try row.decode(String.self, "status")] = try row.decode(Int.self, "n")
        }
        return ProblemStats(from: from, to: to, created: try row.decode(Int.self, "created"), proposed: try row.decode(Int.self, "proposed"),
                            resolved: try row.decode(Int.self, "resolved"), knownErrorsPublished: published, openByStatus: open,
                            majorOpen: try row.decode(Int.self, "major_open"),
                            meanHoursToResolve: try row.decode(Double?.self, "mean_hours").map { ($0 * 100).rounded() / 100 })
    }

    // MARK: - The shared path

    func load(_ tx: PluginTransaction, number: String, lock: Bool) async throws -> Problem {
        guard let row = try await tx.query("""
            SELECT \(unsafeSQL: Problem.columns) FROM problem.problem WHERE number = \(number) \(unsafeSQL: lock ? "FOR UPDATE" : "")
            """).first else {
            throw ResponseError.business(kind: "problem.not_found", message: "no problem \(number)")
        }
        return try Problem(row: row)
    }

    func change(number: String, actor: String, _ plan: @escaping (Problem) throws -> ProblemChanges) async throws -> Problem {
        try await change(number: number, actor: actor) { problem, _ in try plan(problem) }
    }

    /// Locks the problem, asks `plan` what changes, applies it with history and events.
    func change(number: String, actor: String,
                _ plan: (Problem, PluginTransaction) async throws -> ProblemChanges) async throws -> Problem {
        try await database.withTransaction { tx in
            let current = try await load(tx, number: number, lock: true)
            let changes = try await plan(current, tx)
            guard !changes.changes.isEmpty else { return current }
            var update: PostgresQuery = "UPDATE problem.problem SET updated_at = now()"
            update.append(changes.fields.assignments)
            update.append(" WHERE id = \(current.id) RETURNING \(unsafeSQL: Problem.columns)")
            let updated = try Problem(row: try await tx.query(update).single())
            for change in changes.changes {
                try await recordHistory(tx, current.id, actor: actor, field: change.field, old: change.old, new: change.new)
            }
            let subject = current.id.uuidString.lowercased()
            if let (from, to, note) = changes.statusChange {
                try await tx.publish(ProblemEvents.statusChanged, subject: subject,
                                     data: ProblemStatusChange(problem: updated, from: from, to: to, note: note, actor: actor))
            }
            for event in changes.events {
                try await tx.publish(event, subject: subject, data: ProblemChange(problem: updated, actor: actor))
            }
            return try await declareMajorIfDue(tx, updated, actor: actor)
        }
    }

    func recordHistory(_ tx: PluginTransaction, _ problem: UUID, actor: String, field: String, old: String?, new: String?) async throws {
        try await tx.query("""
            INSERT INTO problem.history (problem_id, actor, field, old_value, new_value) VALUES (\(problem), \(actor), \(field), \(old), \(new))
            """)
    }

    // MARK: - Validation

    static func validatedTitle(_ title: String) throws -> String {
        let trimmed = title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(trimmed.count) else { throw ResponseError.invalidParams("title: required, 1 to 200 characters") }
        return trimmed
    }

    static func level(_ value: Int?, _ field: String) throws -> Int {
        guard let value else { return 2 }
        guard (1...3).contains(value) else { throw ResponseError.invalidParams("\(field): 1 (high), 2 (medium) or 3 (low)") }
        return value
    }

    static func names(_ values: [String]?, _ field: String) throws -> [String] {
        let names = (values ?? []).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        guard names.count <= 50, names.allSatisfy({ $0.count <= 200 }) else {
            throw ResponseError.invalidParams("\(field): at most 50 names of at most 200 characters")
        }
        return Array(Set(names)).sorted()
    }
}

/// What a change does to a problem: columns, history, events.
struct ProblemChanges {
    let current: Problem
    var fields = FieldChanges()
    var events: [EventType<ProblemChange>] = []
    var statusChange: (from: ProblemStatus, to: ProblemStatus, note: String?)?

    var changes: [FieldChanges.Change] { fields.changes }

    mutating func set(_ field: String, _ column: String, _ old: String?, _ new: String?, value: (any PostgresEncodable)? = nil) {
        fields.set(field, column, old, new, value: value)
    }

    mutating func setTime(_ field: String, _ column: String, _ old: Date?, _ new: Date?) {
        fields.setTime(field, column, old, new)
    }
}

extension ListProblems: RecordPeriods {}
