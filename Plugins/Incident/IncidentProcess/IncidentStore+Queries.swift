import Foundation
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// Full-text search and figures for dashboards.
extension IncidentStore {
    /// Searches titles, descriptions, resolution notes and comments with PostgreSQL full-text
    /// search (English stemming), best match first.
    public func search(_ params: SearchIncidents) async throws -> [SearchHit] {
        let text = params.query.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...500).contains(text.count) else { throw ResponseError.invalidParams("query: 1 to 500 characters") }
        let limit = params.limit ?? 20
        guard (1...100).contains(limit) else { throw ResponseError.invalidParams("limit: between 1 and 100") }
        var query: PostgresQuery = """
            WITH q AS (SELECT websearch_to_tsquery('english', \(text)) AS query),
            hits AS (
                SELECT i.id, ts_rank(i.search, q.query) AS rank FROM incident.incident i, q WHERE i.search @@ q.query
                UNION ALL
                SELECT c.incident_id, 0.5 * ts_rank(to_tsvector('english', c.body), q.query) FROM incident.comment c, q
                WHERE to_tsvector('english', c.body) @@ q.query AND (\(viewer?.isRequester != true) OR c.visibility = 'customer')
            ),
            best AS (SELECT id, sum(rank) AS rank FROM hits GROUP BY id)
            SELECT \(unsafeSQL: Incident.columns(qualifiedBy: "i")),
                   best.rank::float8 AS rank,
                   ts_headline('english', i.title || ' — ' || i.description, q.query, 'MaxWords=25, MinWords=8, ShortWord=2') AS snippet
            FROM best JOIN incident.incident i ON i.id = best.id, q
            WHERE true
            """
        if params.open == true { query.append(" AND i.status NOT IN ('resolved', 'closed', 'cancelled')") }
        if let viewer { query.append(viewer.condition(alias: "i")) }
        query.append(" ORDER BY best.rank DESC, i.created_at DESC LIMIT \(limit)")
        return try await database.query(query).map { row in
            SearchHit(incident: try Incident(row: row), rank: (try row.decode(Double.self, "rank") * 10_000).rounded() / 10_000,
                      snippet: try row.decode(String.self, "snippet"))
        }
    }

    public func stats(_ params: IncidentStatsParams, now: Date = Date()) async throws -> IncidentStats {
        let to = params.to ?? now
        let from = params.from ?? to.addingTimeInterval(-30 * 24 * 3600)
        guard from < to else { throw ResponseError.invalidParams("from must be before to") }
        let open = "status IN \(Self.openStatuses)"

        var openByPriority: [String: Int] = [:]
        var openByStatus: [String: Int] = [:]
        for row in try await database.query("""
            SELECT priority, status, count(*) AS n FROM incident.incident WHERE \(unsafeSQL: open) GROUP BY priority, status
            """) {
            let count = try row.decode(Int.self, "n")
            openByPriority["P\(try row.decode(Int.self, "priority"))", default: 0] += count
            openByStatus[try row.decode(String.self, "status"), default: 0] += count
        }
        // The breached queue's own count: the standing migration 15's trigger keeps, by its index.
        let breached = try await database.query("""
            SELECT count(*) AS n FROM incident.incident WHERE sla_breached AND \(unsafeSQL: open)
            """).single().decode(Int.self, "n")
        let flows = try await database.query("""
            SELECT count(*) FILTER (WHERE created_at >= \(from) AND created_at < \(to)) AS created,
                   count(*) FILTER (WHERE resolved_at >= \(from) AND resolved_at < \(to)) AS resolved
            FROM incident.incident
            """).single()

        var byPriority: [String: IncidentStats.PriorityFigures] = [:]
        for row in try await database.query("""
            SELECT priority, count(*) AS resolved, avg(extract(epoch FROM resolved_at - created_at)) / 60 AS mean_minutes
            FROM incident.incident WHERE resolved_at >= \(from) AND resolved_at < \(to) GROUP BY priority
            """) {
            let mean = try row.decode(Double?.self, "mean_minutes").map { ($0 * 10).rounded() / 10 }
            byPriority["P\(try row.decode(Int.self, "priority"))"] = .init(
                resolved: try row.decode(Int.self, "resolved"), meanMinutesToResolve: mean, measured: 0, withinTarget: 0)
        }
        for row in try await database.query("""
            SELECT i.priority, count(*) AS measured, count(*) FILTER (WHERE c.met) AS within
            FROM incident.sla_clock c JOIN incident.incident i ON i.id = c.incident_id
            WHERE c.kind = 'resolution' AND c.stopped_at >= \(from) AND c.stopped_at < \(to) AND c.met IS NOT NULL
            GROUP BY i.priority
            """) {
            let key = "P\(try row.decode(Int.self, "priority"))"
            var figures = byPriority[key] ?? .init(resolved: 0, meanMinutesToResolve: nil, measured: 0, withinTarget: 0)
            figures.measured = try row.decode(Int.self, "measured")
            figures.withinTarget = try row.decode(Int.self, "within")
            byPriority[key] = figures
        }
        return IncidentStats(from: from, to: to, openByPriority: openByPriority, openByStatus: openByStatus, openBreached: breached,
                             createdInPeriod: try flows.decode(Int.self, "created"), resolvedInPeriod: try flows.decode(Int.self, "resolved"),
                             byPriority: byPriority)
    }
}
