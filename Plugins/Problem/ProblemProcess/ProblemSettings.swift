import Foundation
import ITSMProtocol

/// The problem process's `config:` in itsm.yaml.
///
/// ```yaml
/// - name: problem
///   config:
///     detection: {windowHours: 168, minIncidents: 5, textSimilarity: 0.6, rules: [ci, service_category, text]}
///     major: {priority: 1, linkedIncidents: 10}
/// ```
public struct ProblemSettings: Sendable, Hashable {
    public enum Rule: String, Sendable, Hashable, CaseIterable {
        /// Incidents on one configuration item.
        case ci
        /// Incidents of one category on one service.
        case serviceCategory = "service_category"
        /// Incidents whose titles are nearly the same (trigram similarity).
        case text
    }

    /// Recurring incidents are looked for within this window before each new incident.
    public var window: Duration = .seconds(7 * 24 * 3600)
    /// This many incidents of one cluster, not yet linked to a problem, make a proposal.
    public var minIncidents = 5
    /// Title similarity (0 to 1) for the text rule.
    public var textSimilarity = 0.6
    public var rules: Set<Rule> = Set(Rule.allCases)
    /// A problem at this priority or higher (1 is highest) is major.
    public var majorPriority = 1
    /// A problem with this many linked incidents or more is major.
    public var majorLinkedIncidents = 10

    public init() {}

    public init(config: JSONValue) throws(ResponseError) {
        if let detection = config["detection"] {
            if let hours = detection["windowHours"]?.doubleValue {
                guard hours > 0 else { throw .invalidParams("config.detection.windowHours: must be positive") }
                window = .seconds(hours * 3600)
            }
            if let count = detection["minIncidents"]?.doubleValue {
                guard count >= 2 else { throw .invalidParams("config.detection.minIncidents: at least 2") }
                minIncidents = Int(count)
            }
            if let similarity = detection["textSimilarity"]?.doubleValue {
                guard similarity > 0, similarity <= 1 else { throw .invalidParams("config.detection.textSimilarity: between 0 and 1") }
                textSimilarity = similarity
            }
            if let names = detection["rules"]?.arrayValue {
                rules = try Set(names.map { name throws(ResponseError) in
                    guard let rule = name.stringValue.flatMap(Rule.init(rawValue:)) else {
                        throw .invalidParams("config.detection.rules: each one of ci, service_category, text")
                    }
                    return rule
                })
            }
        }
        if let major = config["major"] {
            if let priority = major["priority"]?.doubleValue { majorPriority = Int(priority) }
            if let linked = major["linkedIncidents"]?.doubleValue { majorLinkedIncidents = Int(linked) }
        }
    }
}
