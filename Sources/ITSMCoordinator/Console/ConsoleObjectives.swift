import Foundation
import Hummingbird
import ITSMProtocol

/// Objectives for the process owner preparing a management review: each active objective with
/// its target and its KPI over the last six periods (`objective.trend`), met or missed, and the
/// review pack for the last 30 or 90 days (the API's `GET /api/v1/review-pack`, as a page).
extension HTTPAPI {
    func addObjectiveRoutes(to routes: Router<APIRequestContext>) {
        routes.get("console/objectives") { request, _ in
            await console(request) { page in await objectivesPage(page) }
        }
    }

    private func objectivesPage(_ page: ConsolePage) async -> Response {
        let strings = ConsoleStrings.english
        var context = page.common
        context["title"] = strings["objectives"]!
        let now = Date()
        context["packs"] = [30, 90].map { days in
            let (from, to) = Self.lastDays(days, until: now)
            return ["days": days, "href": "/api/v1/review-pack?format=html&from=\(from)&to=\(to)"]
        }
        switch await page.call("objective.list", [:]) {
        case .failure(let error):
            context["error"] = error.message
        case .success(let list):
            var objectives: [[String: Any]] = []
            for objective in list["items"]?.arrayValue ?? [] {
                guard let number = objective["number"]?.stringValue else { continue }
                var shown = Self.objectiveRow(objective)
                switch await page.call("objective.trend", ["number": .string(number)]) {
                case .success(let trend):
                    shown.merge(Self.trendFigures(trend, objective: objective)) { $1 }
                case .failure(let error):
                    shown["error"] = error.message
                }
                objectives.append(shown)
            }
            context["objectives"] = objectives
        }
        return Self.page("objectives", context)
    }

    /// What an objective is: its KPI, its target and the period it is judged over.
    static func objectiveRow(_ objective: JSONValue) -> [String: Any] {
        let kpi = objective["kpi"] ?? .object([:])
        let comparator = objective["comparator"]?.stringValue == "<=" ? "≤" : "≥"
        return [
            "number": objective["number"]?.stringValue ?? "", "title": objective["title"]?.stringValue ?? "",
            "kpi": [kpi["method"]?.stringValue, kpi["value"]?.stringValue].compactMap { $0 }.joined(separator: " · "),
            "target": "\(comparator) \(figure(objective["target"] ?? .null))", "period": objective["period"]?.stringValue ?? "",
            "owner": objective["owner"]?.stringValue ?? "—",
        ]
    }

    /// A period's short name under its column, from when it starts: `2026-11` for a month,
    /// `2026 Q4`, `2026`, or the Monday a week starts on (`11-23`).
    static func periodLabel(_ from: String, period: String) -> String {
        let day = Array(from.prefix(10))
        guard day.count == 10, let month = Int(String(day[5...6])) else { return String(from.prefix(10)) }
        switch period {
        case "month": return String(day[0...6])
        case "quarter": return "\(String(day[0...3])) Q\((month - 1) / 3 + 1)"
        case "year": return String(day[0...3])
        default: return String(day[5...9])
        }
    }

    /// The trend's chart and its periods as rows: from, value, met or missed, or why there is none.
    static func trendFigures(_ trend: JSONValue, objective: JSONValue) -> [String: Any] {
        let measurements = trend["measurements"]?.arrayValue ?? []
        let period = objective["period"]?.stringValue ?? ""
        let points = measurements.map { measurement in
            (label: periodLabel(measurement["from"]?.stringValue ?? "", period: period), value: measurement["value"]?.doubleValue,
             met: measurement["met"]?.boolValue)
        }
        let title = "\(objective["number"]?.stringValue ?? ""): \(objective["title"]?.stringValue ?? "")"
        let rows = zip(points, measurements).map { point, measurement -> [String: Any] in
            let state = point.met.map { $0 ? "met" : "missed" } ?? "n/a"
            return ["from": String((measurement["from"]?.stringValue ?? "").prefix(10)), "value": point.value.map { figure(.double($0)) } ?? "—", "state": state,
                    "note": measurement["note"]?.stringValue ?? ""]
        }
        return ["chart": trendChart(title: title, points: points, target: objective["target"]?.doubleValue ?? 0), "periods": rows,
                "latest": rows.last?["state"] as? String ?? "n/a"]
    }
}
