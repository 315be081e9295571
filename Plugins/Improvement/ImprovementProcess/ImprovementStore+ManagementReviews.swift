import Foundation
import ImprovementProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

extension ImprovementStore {
    public func recordManagementReview(_ params: RecordManagementReview, actor: String, source: StatsSource) async throws -> ManagementReview {
        try Validation.date(params.heldOn, "heldOn")
        let chair = try Validation.text(params.chair, "chair", max: 200)
        guard !params.attendees.isEmpty else { throw ResponseError.invalidParams("attendees: at least one person") }
        let attendees = try params.attendees.enumerated().map { try Validation.text($1, "attendees[\($0)]", max: 200) }
        let decisions = try (params.decisions ?? []).enumerated().map { try Validation.text($1, "decisions[\($0)]", max: 2_000) }
        for (index, action) in (params.actions ?? []).enumerated() {
            _ = try Validation.text(action.description, "actions[\(index)].description", max: 500)
            _ = try Validation.text(action.owner, "actions[\(index)].owner", max: 200)
            try Validation.date(action.dueOn, "actions[\(index)].dueOn")
        }
        guard params.from < params.to else { throw ResponseError.invalidParams("to: after from; the period would be empty") }
        // The pack is generated before the meeting's record exists, so it shows the previous review's actions.
        let pack = try await reviewPack(ReviewPackParams(from: params.from, to: params.to), source: source)
        return try await database.withTransaction { tx in
            let row = try await tx.query("""
                INSERT INTO improvement.management_review (held_on, period_from, period_to, chair, attendees, decisions, notes, pack,
                    pack_html, created_by)
                VALUES (\(params.heldOn)::date, \(params.from), \(params.to), \(chair), \(attendees), \(decisions), \(params.notes ?? ""),
                    \(String(decoding: try JSONValue(encoding: pack).serialized(), as: UTF8.self))::jsonb, \(pack.html), \(actor))
                RETURNING id, number
                """).single()
            let (id, number) = (try row.decode(UUID.self, "id"), try row.decode(String.self, "number"))
            for action in params.actions ?? [] {
                try await tx.query("""
                    INSERT INTO improvement.review_action (review_id, description, owner, due_on)
                    VALUES (\(id), \(action.description.trimmingCharacters(in: .whitespacesAndNewlines)),
                        \(action.owner.trimmingCharacters(in: .whitespacesAndNewlines)), \(action.dueOn)::date)
                    """)
            }
            try await recordHistory(tx, number, actor: actor, field: "recorded", old: nil,
                                    new: "\(decisions.count) decisions, \(params.actions?.count ?? 0) actions")
            return try await loadManagementReview(tx, number, withPack: false)
        }
    }

    public func managementReview(_ params: ManagementReviewKey) async throws -> ManagementReview {
        try await database.withTransaction { tx in
            var review = try await loadManagementReview(tx, params.number, withPack: params.pack == true)
            review.history = try await history(tx, params.number)
            return review
        }
    }

    public func listManagementReviews(_ params: ListManagementReviews) async throws -> ManagementReviewList {
        var query: PostgresQuery = "SELECT number FROM improvement.management_review WHERE true"
        try query.appendPeriods([PeriodFilter("held", column: "held_on", from: params.heldFrom, to: params.heldTo)] + params.recordPeriods)
        query.append(" ORDER BY held_on DESC, number DESC")
        return try await database.withTransaction { tx in
            var items: [ManagementReview] = []
            for row in try await tx.query(query) {
                items.append(try await loadManagementReview(tx, try row.decode(String.self, "number"), withPack: false))
            }
            return ManagementReviewList(items: items)
        }
    }

    public func completeReviewAction(_ params: CompleteReviewAction, actor: String) async throws -> ManagementReview {
        let outcome = try Validation.text(params.outcome, "outcome", max: 2_000)
        return try await database.withTransaction { tx in
            guard let number = try await tx.query("""
                UPDATE improvement.review_action a SET status = 'done', outcome = \(outcome), done_at = now()
                FROM improvement.management_review r WHERE a.id = \(params.id) AND a.status = 'open' AND r.id = a.review_id
                RETURNING r.number
                """).first?.decode(String.self, "number") else {
                throw ResponseError.business(kind: "management_review.invalid_transition", message: "no open review action \(params.id)")
            }
            try await tx.query("UPDATE improvement.management_review SET updated_at = now() WHERE number = \(number)")
            try await recordHistory(tx, number, actor: actor, field: "action \(params.id)", old: "open", new: "done: \(outcome)")
            return try await loadManagementReview(tx, number, withPack: false)
        }
    }

    /// The latest review of a period that ended by `start`: the one a pack for a period from
    /// `start` follows up.
    func previousManagementReview(reviewedBy start: Date) async throws -> ManagementReview? {
        try await database.withTransaction { tx in
            guard let number = try await tx.query("""
                SELECT number FROM improvement.management_review WHERE period_to <= \(start)
                ORDER BY period_to DESC, held_on DESC, number DESC LIMIT 1
                """).first?.decode(String.self, "number") else { return nil }
            return try await loadManagementReview(tx, number, withPack: false)
        }
    }

    func loadManagementReview(_ tx: PluginTransaction, _ number: String, withPack: Bool) async throws -> ManagementReview {
        guard let row = try await tx.query("""
            SELECT id, number, held_on::text AS held_on, period_from, period_to, chair, attendees, decisions, notes,
                   CASE WHEN \(withPack) THEN pack_html END AS pack_html
            FROM improvement.management_review WHERE number = \(number)
            """).first else {
            throw ResponseError.business(kind: "management_review.not_found", message: "no management review \(number)")
        }
        let actions = try await tx.query("""
            SELECT id, description, owner, due_on::text AS due_on, status, outcome, (status = 'open' AND due_on < current_date) AS overdue
            FROM improvement.review_action WHERE review_id = \(try row.decode(UUID.self, "id")) ORDER BY id
            """).map(AgreedAction.init(row:))
        return ManagementReview(
            number: try row.decode(String.self, "number"), heldOn: try row.decode(String.self, "held_on"),
            from: try row.decode(Date.self, "period_from"), to: try row.decode(Date.self, "period_to"),
            chair: try row.decode(String.self, "chair"), attendees: try row.decode([String].self, "attendees"),
            decisions: try row.decode([String].self, "decisions"), notes: try row.decode(String.self, "notes"), actions: actions,
            packHtml: try row.decode(String?.self, "pack_html"), history: nil)
    }
}
