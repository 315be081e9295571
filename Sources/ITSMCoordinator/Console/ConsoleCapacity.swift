import Foundation
import Hummingbird
import ITSMProtocol

/// The capacity plan for process owners: each metric's state, utilization, peak, trend,
/// headroom, when it reaches its thresholds, what to do, and its chart, from `capacity.plan`.
extension HTTPAPI {
    func addCapacityRoutes(to routes: Router<APIRequestContext>) {
        routes.get("console/capacity") { request, _ in
            await console(request) { page in await capacityPlanPage(page, request) }
        }
    }

    private func capacityPlanPage(_ page: ConsolePage, _ request: Request) async -> Response {
        let strings = ConsoleStrings.english
        let service = Self.query(request)["service"]?.trimmingCharacters(in: .whitespaces) ?? ""
        var context = page.common
        context["title"] = strings["capacityPlan"]!
        if !service.isEmpty { context["service"] = service }
        switch await page.call("capacity.plan", service.isEmpty ? [:] : ["service": .string(service)]) {
        case .success(let plan):
            let items = (plan["items"]?.arrayValue ?? []).map(Self.planItem)
            context["items"] = items
            context["hasItems"] = !items.isEmpty
            context["horizon"] = plan["horizonDays"]?.intValue ?? 0
        case .failure(let error):
            context["error"] = error.message
            context["hasItems"] = false
        }
        return Self.page("capacity", context)
    }

    /// One metric of the plan as the page shows it. The chart is the process's SVG shown as an
    /// image (`data:`), so whatever it holds cannot run in the page.
    static func planItem(_ item: JSONValue) -> [String: Any] {
        let metric = item["metric"] ?? .object([:])
        let unit = metric["unit"]?.stringValue ?? ""
        func figure(_ value: JSONValue?, suffix: String) -> String {
            guard let number = value?.doubleValue else { return "—" }
            return number.formatted(.number.precision(.fractionLength(0...1))) + suffix
        }
        var shown: [String: Any] = [
            "id": "\(metric["resource"]?.stringValue ?? "")-\(metric["name"]?.stringValue ?? "")",
            "resource": metric["resource"]?.stringValue ?? "", "metric": metric["name"]?.stringValue ?? "", "unit": unit,
            "state": metric["state"]?.stringValue ?? "",
            "utilization": figure(item["utilizationPercent"], suffix: " %"), "peak": figure(item["peak"], suffix: " \(unit)"),
            "trend": figure(item["trendPerDay"], suffix: " \(unit)"), "headroom": figure(item["headroom"], suffix: " \(unit)"),
            "recommendation": item["recommendation"]?.stringValue ?? "",
        ]
        let forecast = item["forecast"] ?? .object([:])
        shown["crossings"] = [("warning", "reachesWarning"), ("critical", "reachesCritical"), ("limit", "reachesLimit")]
            .compactMap { level, label -> [String: Any]? in
                guard let expected = forecast[level]?["expected"]?.stringValue else { return nil }
                return ["label": ConsoleStrings.english[label]!, "at": shortDate(expected)]
            }
        // Absent rather than empty: a template shows a section for any key it is given.
        if let service = metric["service"]?.stringValue, !service.isEmpty { shown["service"] = service }
        if let note = forecast["note"]?.stringValue { shown["note"] = note }
        if let svg = item["chart"]?.stringValue {
            shown["chart"] = "data:image/svg+xml;base64," + Data(svg.utf8).base64EncodedString()
        }
        return shown
    }
}
