import Foundation
import ITSMProtocol

/// How each event type from another process becomes an opportunity: the cluster it belongs
/// to, how many events of the cluster make it worth one, and how the opportunity reads.
struct IntakeRule {
    /// The event types the process listens to.
    static let eventTypes = [
        "incident.sla_breached", "incident.major_declared", "problem.major_declared", "supplier.target_missed",
        "capacity.exhaustion_forecast",
    ]

    struct Item {
        var key: String
        var threshold: Int
        var title: String
        var services: [String]
        var reference: String?
        var summary: String
        var evaluation: Evaluation
        var description: (Int) -> String
    }

    static func item(for event: EventParams, settings: ImprovementSettings) -> Item? {
        let data = event.data
        let month = String((event.occurredAt).prefix(7)) // YYYY-MM
        switch event.type {
        case "incident.sla_breached":
            // Aggregated: one opportunity per service and month once breaches pass the threshold.
            let incident = data["incident"] ?? data
            let service = incident["service"]?.stringValue ?? "no service"
            let number = incident["number"]?.stringValue
            return Item(
                key: "sla_breaches:\(service):\(month)", threshold: settings.slaBreachThreshold,
                title: "SLA breaches on \(service) in \(month)", services: service == "no service" ? [] : [service], reference: number,
                summary: "\(number ?? "an incident") breached its \(data["clock"]?.stringValue ?? "resolution") target",
                evaluation: Evaluation(benefit: 4, cost: 3, risk: 2, alignment: 4),
                description: { count in
                    "\(count) incidents on \(service) breached their service level targets in \(month) (threshold \(settings.slaBreachThreshold)). "
                        + "Look for the common cause: staffing, skills, a recurring fault, or a target that no longer fits."
                })
        case "incident.major_declared":
            let incident = data["incident"] ?? data
            guard let number = incident["number"]?.stringValue else { return nil }
            let title = incident["title"]?.stringValue ?? ""
            return Item(
                key: "major_incident:\(number)", threshold: 1, title: "Lessons from major incident \(number)",
                services: incident["service"]?.stringValue.map { [$0] } ?? [], reference: number,
                summary: "\(number) declared a major incident: \(title)", evaluation: Evaluation(benefit: 4, cost: 3, risk: 3, alignment: 4),
                description: { _ in "Major incident \(number) (\(title)). Review what allowed it and how the response went; agree improvements." })
        case "problem.major_declared":
            let problem = data["problem"] ?? data
            guard let number = problem["number"]?.stringValue else { return nil }
            let title = problem["title"]?.stringValue ?? ""
            return Item(
                key: "major_problem:\(number)", threshold: 1, title: "Prevent recurrence of major problem \(number)",
                services: problem["services"]?.arrayValue?.compactMap(\.stringValue) ?? [], reference: number,
                summary: "\(number) became a major problem (\(data["reason"]?.stringValue ?? "criteria met")): \(title)",
                evaluation: Evaluation(benefit: 5, cost: 3, risk: 3, alignment: 4),
                description: { _ in "Major problem \(number): \(title). Make sure the fix and its lessons reach the services it touched." })
        case "supplier.target_missed":
            let supplier = data["supplier"]?.stringValue ?? "unknown"
            let name = data["name"]?.stringValue ?? supplier
            let incident = data["incident"]?.stringValue
            return Item(
                key: "supplier_targets:\(supplier):\(month)", threshold: 1, title: "\(name) missing contract targets in \(month)",
                services: [], reference: incident,
                summary: "\(name) missed the \(data["priority"]?.stringValue ?? "") resolution target on \(incident ?? "an incident") "
                    + "(\(data["actualMinutes"].map { "\($0.doubleValue ?? 0)" } ?? "?") of \(data["targetMinutes"]?.intValue ?? 0) minutes)",
                evaluation: Evaluation(benefit: 3, cost: 2, risk: 2, alignment: 3),
                description: { count in
                    "\(name) (\(supplier)) missed \(count == 1 ? "a target" : "targets") of contract \(data["contract"]?.stringValue ?? "") in \(month). "
                        + "Raise it at the next supplier review; consider the contract's targets and the supplier's capacity."
                })
        case "capacity.exhaustion_forecast":
            let resource = data["resource"]?.stringValue ?? data["service"]?.stringValue ?? "a resource"
            let metric = data["metric"]?.stringValue ?? "capacity"
            let when = data["exhaustionDate"]?.stringValue ?? data["date"]?.stringValue ?? "soon"
            return Item(
                key: "capacity:\(resource):\(metric)", threshold: 1, title: "\(resource) \(metric) forecast to run out",
                services: data["service"]?.stringValue.map { [$0] } ?? [], reference: resource,
                summary: "\(resource) \(metric) is forecast to reach its limit on \(when)",
                evaluation: Evaluation(benefit: 4, cost: 3, risk: 2, alignment: 4),
                description: { _ in "The capacity process forecasts \(resource) \(metric) will be exhausted around \(when). Plan the capacity before then." })
        default:
            return nil
        }
    }
}

/// The improvement process's `config:` in itsm.yaml.
///
/// ```yaml
/// - name: improvement
///   config:
///     slaBreachThreshold: 5     # SLA breaches per service and month that raise an opportunity
/// ```
public struct ImprovementSettings: Sendable, Hashable {
    public var slaBreachThreshold = 5

    public init() {}

    public init(config: JSONValue) throws {
        if let threshold = config["slaBreachThreshold"] {
            guard let value = threshold.intValue, value >= 1 else { throw ResponseError.invalidParams("config.slaBreachThreshold: 1 or more") }
            slaBreachThreshold = Int(value)
        }
    }
}
