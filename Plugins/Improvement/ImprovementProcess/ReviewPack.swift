import Foundation
import ImprovementProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

extension ImprovementStore {
    public func reviewPack(_ params: ReviewPackParams, source: StatsSource) async throws -> ReviewPack {
        let to = params.to ?? Date()
        let from = params.from ?? Period.month.interval(containing: to).start
        guard from < to else { throw ResponseError.invalidParams("from must be before to") }
        var results: [ReviewPack.ObjectiveResult] = []
        for objective in try await objectives().items {
            let actual = await measure(objective, over: DateInterval(start: from, end: to), source: source)
            let previousInterval = objective.period.previous(before: from)
            let previous = await measure(objective, over: previousInterval, source: source)
            var trend: String?
            if let now = actual.value, let before = previous.value {
                let better = objective.comparator == ">=" ? now > before : now < before
                trend = now == before ? "same" : better ? "better" : "worse"
            }
            results.append(.init(objective: objective, actual: actual, previous: previous, trend: trend))
        }
        let byStatus = try await database.query("SELECT status, count(*) AS n FROM improvement.opportunity GROUP BY status")
            .reduce(into: [String: Int]()) { counts, row in counts[try row.decode(String.self, "status")] = try row.decode(Int.self, "n") }
        let open = try await list(ListOpportunities(limit: 500)).items.filter { $0.status.isOpen }
        let nonconformities = try await listNonconformities(ListNonconformities()).items
        let closed = try await database.query("""
            SELECT count(*) AS n FROM improvement.nonconformity WHERE closed_at >= \(from) AND closed_at < \(to)
            """).single().decode(Int.self, "n")
        var processes: [ReviewPack.ProcessFigures] = []
        let period: JSONValue = ["from": .string(from.formatted(Self.timestamp)), "to": .string(to.formatted(Self.timestamp))]
        for process in ["incident", "problem", "supplier", "capacity"] {
            do {
                processes.append(.init(process: process, available: true, note: nil, figures: try await source("\(process).stats", period)))
            } catch {
                let note = error.kind == "plugin.disabled" ? "not enabled: no figures" : "no figures: \(error.message)"
                processes.append(.init(process: process, available: false, note: note, figures: nil))
            }
        }
        var actions: [String] = []
        for proposal in open where proposal.status == .proposed {
            actions.append("Decide on \(proposal.number) \(proposal.title) (score \(proposal.score), \(proposal.priority))")
        }
        for result in results where result.actual.met == false {
            actions.append("Objective \(result.objective.number) missed: \(result.objective.title) is \(Self.format(result.actual.value)) "
                           + "against \(result.objective.comparator) \(Self.format(result.objective.target)); agree an improvement")
        }
        for nonconformity in nonconformities {
            for action in nonconformity.actions where action.overdue {
                actions.append("Overdue corrective action on \(nonconformity.number): \(action.description) (\(action.owner), due \(action.dueOn))")
            }
        }
        let previous = try await previousManagementReview(reviewedBy: from)
        for action in previous?.actions ?? [] where action.overdue {
            actions.append("Overdue action from management review \(previous!.number): \(action.description) (\(action.owner), due \(action.dueOn))")
        }
        return ReviewPack(from: from, to: to, generatedAt: Date(), objectives: results, improvementsByStatus: byStatus,
                          openImprovements: open, nonconformitiesOpen: nonconformities, nonconformitiesClosedInPeriod: closed,
                          processes: processes, previousReview: previous, proposedActions: actions)
    }

    static func format(_ value: Double?) -> String { value?.figure(fractionDigits: 2) ?? "n/a" }
}

extension ReviewPack {
    /// The pack as Markdown, for a management review's papers.
    public var markdown: String {
        let day = Date.ISO8601FormatStyle().year().month().day()
        var lines = [
            "# Management review: \(from.formatted(day)) to \(to.addingTimeInterval(-1).formatted(day))", "",
            "Generated \(generatedAt.formatted(.iso8601)).", "", "## Objectives", "",
        ]
        if objectives.isEmpty { lines.append("No objectives are defined.") } else {
            lines += ["| Objective | Target | Actual | Previous | Trend | Met |", "|---|---|---|---|---|---|"]
            for result in objectives {
                let actual = result.actual.value.map { ImprovementStore.format($0) } ?? "n/a: \(result.actual.note ?? "no data")"
                lines.append("| \(result.objective.number) \(cell(result.objective.title)) | \(result.objective.comparator) "
                             + "\(ImprovementStore.format(result.objective.target)) | \(cell(actual)) | "
                             + "\(ImprovementStore.format(result.previous.value)) | \(result.trend ?? "-") | "
                             + "\(result.actual.met.map { $0 ? "yes" : "**no**" } ?? "-") |")
            }
        }
        lines += ["", "## Improvements", ""]
        let order = OpportunityStatus.allCases.map(\.rawValue)
        lines.append(order.compactMap { status in improvementsByStatus[status].map { "\(status): \($0)" } }.joined(separator: " · "))
        if !openImprovements.isEmpty {
            lines += ["", "| Number | Title | Status | Score | Owner |", "|---|---|---|---|---|"]
            for item in openImprovements {
                lines.append("| \(item.number) | \(cell(item.title)) | \(item.status.rawValue) | \(item.score) (\(item.priority)) | \(item.owner ?? "-") |")
            }
        }
        lines += ["", "## Nonconformities", "", "Open: \(nonconformitiesOpen.count); closed in the period: \(nonconformitiesClosedInPeriod).", ""]
        for item in nonconformitiesOpen {
            let open = item.actions.filter { $0.status == "open" }.count
            lines.append("- \(item.number) (\(item.severity)) \(item.title): \(item.requirement); \(item.status), \(open) corrective actions open")
        }
        lines += ["", "## Process figures", ""]
        for process in processes {
            lines.append("- **\(process.process)**: " + (process.available ? compactFigures(process.figures) : (process.note ?? "no figures")))
        }
        lines += ["", "## Actions from the previous review", ""]
        if let review = previousReview {
            lines.append("\(review.number), held \(review.heldOn) (chair \(review.chair)).")
            if !review.actions.isEmpty {
                lines += ["", "| Action | Owner | Due | Status |", "|---|---|---|---|"]
                for action in review.actions {
                    let status = action.status == "done" ? "done: \(action.outcome ?? "")" : action.overdue ? "**overdue**" : "open"
                    lines.append("| \(cell(action.description)) | \(cell(action.owner)) | \(action.dueOn) | \(cell(status)) |")
                }
            } else {
                lines += ["", "It agreed no actions."]
            }
        } else {
            lines.append("No earlier management review is recorded.")
        }
        lines += ["", "## Proposed actions", ""]
        lines += proposedActions.isEmpty ? ["None."] : proposedActions.map { "- \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The pack as a standalone HTML page.
    public var html: String { MarkdownPage.html(markdown, title: "Management review") }

    private func cell(_ text: String) -> String { MarkdownPage.cell(text) }

    private func compactFigures(_ figures: JSONValue?) -> String {
        guard case .object(let members)? = figures else { return "-" }
        return members.keys.sorted().compactMap { key -> String? in
            guard let value = members[key], key != "from", key != "to" else { return nil }
            switch value {
            case .int(let number): return "\(key) \(number)"
            case .double(let number): return "\(key) \(ImprovementStore.format(number))"
            case .null: return "\(key) n/a"
            default: return nil
            }
        }.joined(separator: ", ")
    }
}
