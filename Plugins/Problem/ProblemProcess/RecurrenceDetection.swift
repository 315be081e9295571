import Foundation
import IncidentProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// This process's own copy of what it needs to know about incidents, kept from incident
/// events (and from `incident.get` when an incident is linked by hand). Detection reads only
/// this table, with indexes, never the incident schema.
enum IncidentProjection {
    struct Record: Sendable {
        var id: UUID
        var number: String
        var title: String
        var service: String?
        var ci: String?
        var category: String?
        var priority: Int?
        var openedAt: Date
    }

    /// Records an incident from an event (`sequence`: its number) or an `incident.get` answer
    /// (nil). An event older than the one the row holds (a redelivery, a retry arriving after
    /// later ones) changes nothing; an answer only fills a row no event has written yet.
    @discardableResult
    static func record(_ tx: PluginTransaction, _ incident: Incident, sequence: Int64?) async throws -> Record {
        try await tx.query("""
            INSERT INTO problem.incident AS i (id, number, title, service, ci, category, priority, status, opened_at, resolved_at,
                source_updated_at, source_sequence)
            VALUES (\(incident.id), \(incident.number), \(incident.title), \(incident.service), \(incident.configurationItem),
                    \(incident.category), \(incident.priority.rawValue), \(incident.status.rawValue), \(incident.createdAt),
                    \(incident.resolvedAt), \(incident.updatedAt), \(sequence ?? 0))
            ON CONFLICT (id) DO UPDATE SET title = excluded.title, service = excluded.service, ci = excluded.ci,
                category = excluded.category, priority = excluded.priority, status = excluded.status,
                resolved_at = excluded.resolved_at, source_updated_at = excluded.source_updated_at,
                source_sequence = excluded.source_sequence
                WHERE \(unsafeSQL: ProjectionVersion.newer(alias: "i", sequence: "source_sequence", time: "source_updated_at",
                                                           sameReplaces: true))
            """)
        guard let record = try await load(tx, id: incident.id) else { throw ResponseError.internalError("the incident just recorded is missing") }
        return record
    }

    static func load(_ tx: PluginTransaction, id: UUID) async throws -> Record? {
        try await tx.query("""
            SELECT id, number, title, service, ci, category, priority, opened_at FROM problem.incident WHERE id = \(id)
            """).first.map { row in
            Record(id: try row.decode(UUID.self, "id"), number: try row.decode(String.self, "number"),
                   title: try row.decode(String.self, "title"), service: try row.decode(String?.self, "service"),
                   ci: try row.decode(String?.self, "ci"), category: try row.decode(String?.self, "category"),
                   priority: try row.decode(Int?.self, "priority"), openedAt: try row.decode(Date.self, "opened_at"))
        }
    }
}

/// Finds recurring incidents: `minIncidents` or more in the window before a new incident with
/// the same CI, or the same service and category, or nearly the same title. Such a cluster
/// becomes one proposed problem with its incidents linked; later incidents of the cluster join
/// that proposal instead of making another.
extension ProblemStore {
    /// Takes in an incident from an event (`sequence`: the event's number): records it and,
    /// when `detect`, looks for its cluster. Runs in the event's transaction, so a redelivered
    /// event changes nothing.
    public func observe(_ tx: PluginTransaction, incident: Incident, sequence: Int64? = nil,
                        detect shouldDetect: Bool) async throws -> [DetectionResult.Finding] {
        let record = try await IncidentProjection.record(tx, incident, sequence: sequence)
        return shouldDetect ? try await detect(tx, incident: record.id, actor: "plugin:problem") : []
    }

    /// Runs detection for one incident already in the projection; linked incidents are skipped.
    public func detect(incident id: UUID, actor: String = "plugin:problem") async throws -> DetectionResult {
        try await database.withTransaction { tx in DetectionResult(findings: try await detect(tx, incident: id, actor: actor)) }
    }

    /// Runs detection for every unlinked incident opened within the window, oldest first.
    public func detectRecent(actor: String) async throws -> DetectionResult {
        let since = Date().addingTimeInterval(-settings.window.inSeconds)
        let candidates = try await database.query("""
            SELECT i.id FROM problem.incident i
            WHERE i.opened_at >= \(since) AND NOT EXISTS (SELECT 1 FROM problem.link l WHERE l.incident_id = i.id)
            ORDER BY i.opened_at LIMIT 10000
            """).map { try $0.decode(UUID.self, "id") }
        var findings: [DetectionResult.Finding] = []
        for id in candidates {
            findings += try await detect(incident: id, actor: actor).findings
        }
        return DetectionResult(findings: findings)
    }

    func detect(_ tx: PluginTransaction, incident id: UUID, actor: String) async throws -> [DetectionResult.Finding] {
        guard let incident = try await IncidentProjection.load(tx, id: id),
              try await tx.query("SELECT 1 FROM problem.link WHERE incident_id = \(id)").first == nil else { return [] }
        let windowStart = incident.openedAt.addingTimeInterval(-settings.window.inSeconds)
        for rule in ProblemSettings.Rule.allCases where settings.rules.contains(rule) {
            guard let cluster = try await members(tx, of: incident, rule: rule, since: windowStart) else { continue }
            // A proposal for this cluster already being worked on: the incident joins it.
            if let existing = cluster.activeProblem {
                try await attach(tx, incidents: [incident], to: existing, how: "detected", actor: actor)
                _ = try await declareMajorIfDue(tx, existing, actor: actor)
                return [.init(problem: existing.number, rule: rule.rawValue, action: "linked", incidents: [incident.number])]
            }
            guard cluster.unlinked.count >= settings.minIncidents else { continue }
            let problem = try await propose(tx, cluster: cluster.unlinked, rule: rule, key: cluster.key, trigger: incident, actor: actor)
            return [.init(problem: problem.number, rule: rule.rawValue, action: "proposed", incidents: cluster.unlinked.map(\.number))]
        }
        return []
    }

    private struct Cluster {
        var key: String?
        var unlinked: [IncidentProjection.Record]
        var activeProblem: Problem?
    }

    /// The active problem this rule already proposed for `incident`'s cluster within the window,
    /// or else the cluster's unlinked incidents. The problem is looked for first, without reading
    /// the cluster: in an outage, thousands of incidents join one proposal, and reading every
    /// member for each new one made every event slower to take in than the one before.
    private func members(_ tx: PluginTransaction, of incident: IncidentProjection.Record, rule: ProblemSettings.Rule,
                         since: Date) async throws -> Cluster? {
        var condition: PostgresQuery
        var key: String?
        switch rule {
        case .ci:
            guard let ci = incident.ci else { return nil }
            condition = "i.ci = \(ci)"
            key = "ci:\(ci)"
        case .serviceCategory:
            guard let service = incident.service, let category = incident.category else { return nil }
            condition = "i.service = \(service) AND i.category = \(category)"
            key = "service_category:\(service)|\(category)"
        case .text:
            guard incident.title.count >= 8 else { return nil }
            try await tx.query("SELECT set_config('pg_trgm.similarity_threshold', \(String(settings.textSimilarity)), true)")
            condition = "i.title % \(incident.title)"
        }
        var window: PostgresQuery = "i.opened_at >= \(since) AND i.opened_at <= \(incident.openedAt) AND "
        window.append(condition)

        let active: Problem?
        if let key {
            active = try await tx.query("""
                SELECT \(unsafeSQL: Problem.columns) FROM problem.problem
                WHERE detection_key = \(key) AND status NOT IN ('resolved', 'closed') FOR UPDATE
                """).first.map(Problem.init(row:))
        } else {
            // A text cluster has no key: its problem is an active one of this rule with a member
            // like this incident, the oldest if several. Active problems are few; each is probed
            // (LATERAL … LIMIT 1) only until one member matches, which in an outage is the first.
            var linked: PostgresQuery = """
                SELECT \(unsafeSQL: Problem.columns) FROM problem.problem p
                CROSS JOIN LATERAL (
                    SELECT 1 FROM problem.link l JOIN problem.incident i ON i.id = l.incident_id
                    WHERE l.problem_id = p.id AND
                """
            linked.append(" ")
            linked.append(window)
            linked.append("""
                 LIMIT 1) AS member
                WHERE p.status NOT IN ('resolved', 'closed') AND p.detection_rule = \(rule.rawValue)
                ORDER BY p.created_at, p.number LIMIT 1 FOR UPDATE OF p
                """)
            active = try await tx.query(linked).first.map(Problem.init(row:))
        }
        if let active { return Cluster(key: key, unlinked: [], activeProblem: active) }

        var select: PostgresQuery = """
            SELECT i.id, i.number, i.title, i.service, i.ci, i.category, i.priority, i.opened_at FROM problem.incident i
            WHERE NOT EXISTS (SELECT 1 FROM problem.link l WHERE l.incident_id = i.id) AND
            """
        select.append(" ")
        select.append(window)
        select.append(" ORDER BY i.opened_at, i.number LIMIT 1000")
        let unlinked = try await tx.query(select).map { row in
            IncidentProjection.Record(
                id: try row.decode(UUID.self, "id"), number: try row.decode(String.self, "number"), title: try row.decode(String.self, "title"),
                service: try row.decode(String?.self, "service"), ci: try row.decode(String?.self, "ci"),
                category: try row.decode(String?.self, "category"), priority: try row.decode(Int?.self, "priority"),
                openedAt: try row.decode(Date.self, "opened_at"))
        }
        return Cluster(key: key, unlinked: unlinked, activeProblem: nil)
    }

    private func propose(_ tx: PluginTransaction, cluster: [IncidentProjection.Record], rule: ProblemSettings.Rule, key: String?,
                         trigger: IncidentProjection.Record, actor: String) async throws -> Problem {
        let title: String
        switch rule {
        case .ci: title = "Recurring incidents on \(trigger.ci ?? "")"
        case .serviceCategory: title = "Recurring \(trigger.category ?? "") incidents on \(trigger.service ?? "")"
        case .text: title = "Recurring incidents like \"\(trigger.title.prefix(120))\""
        }
        // The most urgent incident of the cluster sets the proposal's impact.
        let best = cluster.compactMap(\.priority).min() ?? 3
        let impact = best <= 2 ? 1 : (best <= 3 ? 2 : 3)
        let numbers = cluster.map(\.number)
        let problem = try await insert(
            tx, title: String(title.prefix(200)),
            description: "Proposed by recurrence detection (\(rule.rawValue)): \(cluster.count) incidents within "
                + "\(Int(settings.window.inSeconds / 3600)) hours: \(numbers.joined(separator: ", ")).",
            services: Array(Set(cluster.compactMap(\.service))).sorted(), items: Array(Set(cluster.compactMap(\.ci))).sorted(),
            category: rule == .text ? nil : trigger.category, impact: impact, urgency: 2, owner: nil, status: .proposed,
            detection: (rule.rawValue, key ?? "text:\(trigger.number)"), actor: actor)
        try await attach(tx, incidents: cluster, to: problem, how: "detected", actor: actor)
        try await tx.publish(ProblemEvents.proposed, subject: problem.id.uuidString.lowercased(),
                             data: ProblemProposed(problem: problem, rule: rule.rawValue, incidents: numbers))
        _ = try await declareMajorIfDue(tx, problem, actor: actor)
        return problem
    }
}
