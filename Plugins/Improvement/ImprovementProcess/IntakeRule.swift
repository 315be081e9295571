import CapacityProtocol
import Foundation
import ImprovementProtocol
import IncidentProtocol
import ITSMProtocol
import ProblemProtocol
import SupplierProtocol

/// How each event type from another process becomes an opportunity: the cluster it belongs
/// to, how many events of the cluster make it worth one, and how the opportunity reads. Each
/// payload is read as its publisher's contract declares it.
struct IntakeRule {
    /// The event types the process listens to.
    static let eventTypes = [
        IncidentEvents.slaBreached.name, IncidentEvents.majorDeclared.name, ProblemEvents.majorDeclared.name,
        SupplierEvents.targetMissed.name, CapacityEvents.exhaustionForecast.name,
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

    /// The item an event makes; nil for a type the process does not take in. A payload that is
    /// not what its publisher declares is refused (-32602), naming the member.
    static func item(for event: EventParams, settings: ImprovementSettings) throws -> Item? {
        let month = String((event.occurredAt).prefix(7)) // YYYY-MM
        switch event.type {
        case IncidentEvents.slaBreached.name:
            // Aggregated: one opportunity per service and month once breaches pass the threshold.
            let breach = try IncidentEvents.slaBreached.decode(event.data)
            let service = breach.incident.service ?? "no service"
            let number = breach.incident.number
            return Item(
                key: "sla_breaches:\(service):\(month)", threshold: settings.slaBreachThreshold,
                title: "SLA breaches on \(service) in \(month)", services: breach.incident.service.map { [$0] } ?? [], reference: number,
                summary: "\(number) breached its \(breach.clock.rawValue) target",
                evaluation: Evaluation(benefit: 4, cost: 3, risk: 2, alignment: 4),
                description: { count in
                    "\(count) incidents on \(service) breached their service level targets in \(month) (threshold \(settings.slaBreachThreshold)). "
                        + "Look for the common cause: staffing, skills, a recurring fault, or a target that no longer fits."
                })
        case IncidentEvents.majorDeclared.name:
            let incident = try IncidentEvents.majorDeclared.decode(event.data).incident
            let number = incident.number
            return Item(
                key: "major_incident:\(number)", threshold: 1, title: "Lessons from major incident \(number)",
                services: incident.service.map { [$0] } ?? [], reference: number,
                summary: "\(number) declared a major incident: \(incident.title)", evaluation: Evaluation(benefit: 4, cost: 3, risk: 3, alignment: 4),
                description: { _ in "Major incident \(number) (\(incident.title)). Review what allowed it and how the response went; agree improvements." })
        case ProblemEvents.majorDeclared.name:
            let declared = try ProblemEvents.majorDeclared.decode(event.data)
            let problem = declared.problem
            return Item(
                key: "major_problem:\(problem.number)", threshold: 1, title: "Prevent recurrence of major problem \(problem.number)",
                services: problem.services, reference: problem.number,
                summary: "\(problem.number) became a major problem (\(declared.reason)): \(problem.title)",
                evaluation: Evaluation(benefit: 5, cost: 3, risk: 3, alignment: 4),
                description: { _ in "Major problem \(problem.number): \(problem.title). Make sure the fix and its lessons reach the services it touched." })
        case SupplierEvents.targetMissed.name:
            let missed = try SupplierEvents.targetMissed.decode(event.data)
            let priority = missed.priority.map { "\($0) " } ?? ""
            return Item(
                key: "supplier_targets:\(missed.supplier):\(month)", threshold: 1, title: "\(missed.name) missing contract targets in \(month)",
                services: [], reference: missed.incident,
                summary: "\(missed.name) missed the \(priority)resolution target on \(missed.incident) "
                    + "(\(missed.actualMinutes) of \(missed.targetMinutes) minutes)",
                evaluation: Evaluation(benefit: 3, cost: 2, risk: 2, alignment: 3),
                description: { count in
                    "\(missed.name) (\(missed.supplier)) missed \(count == 1 ? "a target" : "targets") of contract \(missed.contract) in \(month). "
                        + "Raise it at the next supplier review; consider the contract's targets and the supplier's capacity."
                })
        case CapacityEvents.exhaustionForecast.name:
            let forecast = try CapacityEvents.exhaustionForecast.decode(event.data)
            let (resource, metric, when) = (forecast.resource, forecast.metric, forecast.exhaustionDate)
            return Item(
                key: "capacity:\(resource):\(metric)", threshold: 1, title: "\(resource) \(metric) forecast to run out",
                services: forecast.service.map { [$0] } ?? [], reference: resource,
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
