import Foundation
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// The known error database: published from a problem, searched by the service desk.
extension ProblemStore {
    /// Publishes (or republishes) the problem's known error, moves a problem under
    /// investigation to `known_error`, and announces it so the incident process can attach the
    /// workaround to matching incidents.
    public func publishKnownError(_ params: PublishKnownError, actor: String) async throws -> KnownError {
        let symptoms = params.symptoms.trimmingCharacters(in: .whitespacesAndNewlines)
        let workaround = params.workaround.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !symptoms.isEmpty, !workaround.isEmpty else { throw ResponseError.invalidParams("symptoms and workaround: required") }
        return try await database.withTransaction { tx in
            var problem = try await load(tx, number: params.problem, lock: true)
            guard [.new, .underInvestigation, .knownError, .resolved].contains(problem.status) else {
                throw ResponseError.business(kind: "problem.invalid_transition",
                                             message: "\(problem.number) is \(problem.status.rawValue); accept or reopen it before publishing a known error")
            }
            guard let rootCause = (params.rootCause ?? problem.rootCause.findings)?.trimmingCharacters(in: .whitespacesAndNewlines),
                  !rootCause.isEmpty else {
                throw ResponseError.business(kind: "problem.root_cause_required",
                                             message: "record the root cause (problem.rca) or give rootCause")
            }
            let title = try Self.validatedTitle(params.title ?? problem.title)
            let row = try await tx.query("""
                WITH saved AS (
                    INSERT INTO problem.known_error (problem_id, title, symptoms, root_cause, workaround, services, cis, category,
                        published_by)
                    VALUES (\(problem.id), \(title), \(symptoms), \(rootCause), \(workaround), \(problem.services),
                        \(problem.configurationItems), \(problem.category), \(actor))
                    ON CONFLICT (problem_id) DO UPDATE SET title = excluded.title, symptoms = excluded.symptoms,
                        root_cause = excluded.root_cause, workaround = excluded.workaround, services = excluded.services,
                        cis = excluded.cis, category = excluded.category, published_by = excluded.published_by, published_at = now()
                    RETURNING *)
                SELECT \(unsafeSQL: KnownError.columns) FROM saved k JOIN problem.problem p ON p.id = k.problem_id
                """).single()
            let knownError = try KnownError(row: row)
            try await recordHistory(tx, problem.id, actor: actor, field: "knownError", old: nil, new: knownError.number)
            if problem.status == .new || problem.status == .underInvestigation {
                let from = problem.status
                problem = try Problem(row: try await tx.query("""
                    UPDATE problem.problem SET status = 'known_error', updated_at = now(),
                        rca_findings = coalesce(rca_findings, \(rootCause))
                    WHERE id = \(problem.id) RETURNING \(unsafeSQL: Problem.columns)
                    """).single())
                try await recordHistory(tx, problem.id, actor: actor, field: "status", old: from.rawValue, new: problem.status.rawValue)
                try await tx.publish(ProblemEvents.statusChanged, subject: problem.id.uuidString.lowercased(),
                                     data: ProblemStatusChange(problem: problem, from: from, to: problem.status, actor: actor))
            }
            try await tx.publish(ProblemEvents.knownErrorPublished, subject: problem.id.uuidString.lowercased(), data: knownError)
            return knownError
        }
    }

    public func knownError(number: String) async throws -> KnownError {
        guard let row = try await database.query("""
            SELECT \(unsafeSQL: KnownError.columns) FROM problem.known_error k JOIN problem.problem p ON p.id = k.problem_id
            WHERE k.number = \(number)
            """).first else {
            throw ResponseError.business(kind: "knownerror.not_found", message: "no known error \(number)")
        }
        return try KnownError(row: row)
    }

    /// Full-text search over title, symptoms, root cause and workaround, with any word
    /// counting (paraphrases share some words, rarely all), ranked together with trigram
    /// similarity so near spellings still score.
    public func searchKnownErrors(_ params: SearchKnownErrors) async throws -> KnownErrorList {
        let text = params.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (2...1000).contains(text.count) else { throw ResponseError.invalidParams("text: 2 to 1000 characters") }
        let limit = params.limit ?? 10
        guard (1...100).contains(limit) else { throw ResponseError.invalidParams("limit: 1 to 100") }
        let rows = try await database.query("""
            WITH q AS (SELECT nullif(replace(plainto_tsquery('english', \(text))::text, '&', '|'), '')::tsquery AS query),
            scored AS (
                SELECT k.*, coalesce(ts_rank_cd(k.search, q.query, 32), 0) AS rank,
                       word_similarity(\(text), k.title || ' ' || k.symptoms) AS similarity
                FROM problem.known_error k, q
                WHERE (q.query IS NOT NULL AND k.search @@ q.query) OR \(text) <% (k.title || ' ' || k.symptoms))
            SELECT \(unsafeSQL: KnownError.columns), (k.rank * 0.7 + k.similarity * 0.3)::float8 AS score
            FROM scored k JOIN problem.problem p ON p.id = k.problem_id
            ORDER BY score DESC, k.published_at DESC LIMIT \(limit)
            """)
        return KnownErrorList(items: try rows.map { row in
            var knownError = try KnownError(row: row)
            knownError.score = (try row.decode(Double.self, "score") * 1000).rounded() / 1000
            return knownError
        })
    }
}
