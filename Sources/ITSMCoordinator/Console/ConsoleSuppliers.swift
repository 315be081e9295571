import Foundation
import Hummingbird
import ITSMProtocol

/// Suppliers for the supplier manager: each supplier's scorecard for the last 30, 90 or 365 days
/// (`supplier.scorecard`: hand-offs, share within target charted, breaches, times) and the
/// contract milestones ahead (`supplier.milestones`: notice deadlines within 180 days).
extension HTTPAPI {
    static let scorecardPeriods = [30, 90, 365]

    func addSupplierRoutes(to routes: Router<APIRequestContext>) {
        routes.get("console/suppliers") { request, _ in
            await console(request) { page in await suppliersPage(page, request) }
        }
    }

    private func suppliersPage(_ page: ConsolePage, _ request: Request) async -> Response {
        let days = Self.chosenDays(request, among: Self.scorecardPeriods, fallback: 90)
        let (from, to) = Self.lastDays(days, until: Date())
        var context = page.common
        context["title"] = ConsoleStrings.english["suppliers"]!
        context["days"] = days
        context["periods"] = Self.scorecardPeriods.map { ["days": $0, "chosen": $0 == days] }
        switch await page.call("supplier.scorecard", ["from": .string(from), "to": .string(to)]) {
        case .failure(let error):
            context["error"] = error.message
        case .success(let report):
            context.merge(Self.scorecardFigures(report)) { $1 }
        }
        if case .success(let due) = await page.call("supplier.milestones", [:]) {
            context["milestones"] = (due["items"]?.arrayValue ?? []).map { milestone -> [String: Any] in
                let days = milestone["daysToNoticeDeadline"]?.intValue ?? 0
                return ["supplier": milestone["supplier"]?.stringValue ?? "", "name": milestone["name"]?.stringValue ?? "",
                        "contract": milestone["contract"]?.stringValue ?? "", "noticeDeadline": milestone["noticeDeadline"]?.stringValue ?? "",
                        "endsOn": milestone["endsOn"]?.stringValue ?? "", "passed": days < 0, "days": days < 0 ? "\(-days)" : "\(days)"]
            }
        }
        return Self.page("suppliers", context)
    }

    /// The scorecards as a chart of the share within target and a table of every figure; when
    /// the incident process could not be asked, its note instead of zeros.
    static func scorecardFigures(_ report: JSONValue) -> [String: Any] {
        let cards = report["scorecards"]?.arrayValue ?? []
        let scored = cards.compactMap { card -> (label: String, value: Double)? in
            guard let percent = card["withinTargetPercent"]?.doubleValue else { return nil }
            return (card["name"]?.stringValue ?? "", percent)
        }
        var figures: [String: Any] = [
            "scorecards": cards.map { card -> [String: Any] in
                ["supplier": card["supplier"]?.stringValue ?? "", "name": card["name"]?.stringValue ?? "",
                 "volume": figure(card["volume"] ?? .null), "scored": figure(card["scored"] ?? .null),
                 "withinTarget": card["withinTargetPercent"]?.doubleValue.map { figure(.double($0)) + " %" } ?? "—",
                 "breaches": figure(card["breaches"] ?? .null), "mean": figure(card["meanBusinessHours"] ?? .null),
                 "p90": figure(card["p90BusinessHours"] ?? .null), "open": figure(card["open"] ?? .null)]
            },
        ]
        if !scored.isEmpty { figures["chart"] = barChart(title: ConsoleStrings.english["withinTargetShare"]!, bars: scored) }
        if report["incidentData"]?.stringValue != "available" { figures["dataNote"] = report["note"]?.stringValue ?? "" }
        return figures
    }
}
