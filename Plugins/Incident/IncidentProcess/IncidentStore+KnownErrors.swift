import Foundation
import ProblemProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// Known errors from the problem process: learned from its events, attached to matching open
/// incidents when published, and suggested to new incidents as they are created. A match is
/// the same CI, or the same service and category, or the problem the incident is linked to,
/// or a title similar enough to the known error's title and symptoms.
extension IncidentStore {
    /// Stores (or refreshes) a known error and attaches it to the open incidents it matches.
    func learn(_ knownError: KnownError, in tx: PluginTransaction, now: Date = Date()) async throws {
        try await tx.query("""
            INSERT INTO incident.known_error (number, problem, title, symptoms, workaround, services, cis, category, published_at)
            VALUES (\(knownError.number), \(knownError.problem), \(knownError.title), \(knownError.symptoms), \(knownError.workaround),
                \(knownError.services), \(knownError.configurationItems), \(knownError.category), \(knownError.publishedAt))
            ON CONFLICT (number) DO UPDATE SET title = excluded.title, symptoms = excluded.symptoms, workaround = excluded.workaround,
                services = excluded.services, cis = excluded.cis, category = excluded.category, published_at = excluded.published_at
            """)
        try await tx.query("SELECT set_config('pg_trgm.word_similarity_threshold', \(String(knownErrorSimilarity)), true)")
        let text = knownError.title + " " + knownError.symptoms
        let matching = try await tx.query("""
            SELECT id FROM incident.incident
            WHERE status NOT IN ('resolved', 'closed', 'cancelled') AND known_error_ref IS NULL AND (
                problem_ref = \(knownError.problem)
                OR ci = ANY(\(knownError.configurationItems))
                OR (\(knownError.category)::text IS NOT NULL AND service = ANY(\(knownError.services)) AND category = \(knownError.category))
                OR title <% \(text))
            ORDER BY number LIMIT 1000
            """).map { try $0.decode(UUID.self, "id") }
        for id in matching {
            _ = try await apply(tx, id: id, number: nil, actor: "plugin:problem", now: now) { current in
                var plan = ChangePlan(current: current)
                plan.set("knownError", "known_error_ref", current.knownError, knownError.number)
                plan.events.append(IncidentEvents.linked)
                return plan
            }
        }
    }

    /// The known error that best matches `incident`, if any (`suggestKnownError`).
    func knownErrorMatch(for incident: Incident) -> PostgresQuery {
        // `word_similarity` compared here, not `<%` with its threshold set first: no index
        // serves this side, and the setting cost a round trip on every create.
        """
        SELECT number FROM incident.known_error k
        WHERE (\(incident.configurationItem)::text IS NOT NULL AND \(incident.configurationItem) = ANY(k.cis))
           OR (k.category IS NOT NULL AND \(incident.service) = ANY(k.services) AND k.category = \(incident.category))
           OR word_similarity(\(incident.title), k.title || ' ' || k.symptoms) >= \(knownErrorSimilarity)
        ORDER BY (\(incident.configurationItem) = ANY(k.cis)) IS TRUE DESC,
                 (k.category = \(incident.category) AND \(incident.service) = ANY(k.services)) IS TRUE DESC,
                 word_similarity(\(incident.title), k.title || ' ' || k.symptoms) DESC, k.published_at DESC
        LIMIT 1
        """
    }

    /// At creation: the best matching known error `matches` found (`knownErrorMatch`), if any,
    /// recorded on the new incident.
    func suggestKnownError(_ tx: PluginTransaction, for incident: Incident, actor: String, now: Date, matches: PostgresRows) async throws -> Incident {
        guard let match = try matches.first?.decode(String.self, "number") else { return incident }
        let row = try await tx.query("""
            UPDATE incident.incident SET known_error_ref = \(match) WHERE id = \(incident.id) RETURNING \(unsafeSQL: Incident.columns)
            """).single()
        try await tx.query("""
            INSERT INTO incident.history (incident_id, at, actor, field, old_value, new_value)
            VALUES (\(incident.id), \(now), \(actor), 'knownError', \(String?.none), \(match))
            """)
        return try Incident(row: row)
    }

    /// `problem.incident_linked` / `_unlinked`: the incident shows the problem it belongs to.
    func recordProblemLink(_ link: ProblemIncidentLink, linked: Bool, in tx: PluginTransaction, now: Date = Date()) async throws {
        let (problem, number) = (link.problem, link.incident)
        do {
            _ = try await apply(tx, id: nil, number: number, actor: "plugin:problem", now: now) { current in
                var plan = ChangePlan(current: current)
                if linked {
                    plan.set("problem", "problem_ref", current.problem, problem)
                } else if current.problem == problem {
                    plan.set("problem", "problem_ref", current.problem, nil)
                }
                if !plan.changes.isEmpty { plan.events.append(IncidentEvents.linked) }
                return plan
            }
        } catch let error as ResponseError where error.kind == "incident.not_found" {
            return // an incident this installation never had (imported elsewhere): nothing to show it on
        }
    }

    /// The workaround of the incident's known error, when this process knows it.
    func workaround(for incident: Incident) async throws -> Workaround? {
        guard let number = incident.knownError else { return nil }
        return try await database.query("""
            SELECT number, problem, title, workaround FROM incident.known_error WHERE number = \(number)
            """).first.map { row in
            Workaround(knownError: try row.decode(String.self, "number"), problem: try row.decode(String.self, "problem"),
                       title: try row.decode(String.self, "title"), workaround: try row.decode(String.self, "workaround"))
        }
    }
}
