import Foundation
import ITSMProtocol

/// A key performance indicator read from another process's figures, through the protocol: a
/// `*.stats` method called with the period (`{"from", "to"}`), and the path of the value in its
/// answer, optionally divided by another path and scaled (a percentage). A path segment `*`
/// sums over every member of an object.
///
/// ```json
/// {"method": "incident.stats", "value": "byPriority.P1.withinTarget", "per": "byPriority.P1.measured", "scale": 100}
/// ```
public struct KPI: Sendable, Hashable, Codable {
    public var method: String
    public var value: String
    public var per: String?
    public var scale: Double?
    /// The catalogue name it was given by, if any.
    public var name: String?
    /// The figure is a count as things stand (open breaches, open disputes), not a figure of
    /// the period asked for: it has a value for the current period only.
    public var pointInTime: Bool?

    public init(method: String, value: String, per: String? = nil, scale: Double? = nil, name: String? = nil, pointInTime: Bool? = nil) {
        self.method = method
        self.value = value
        self.per = per
        self.scale = scale
        self.name = name
        self.pointInTime = pointInTime
    }

    /// The process that answers it: the method's first segment.
    public var process: String { String(method.prefix { $0 != "." }) }

    /// Well-known KPIs by name; those ending in `:P` take a priority, e.g.
    /// `incident.resolution_within_sla_percent:P1`.
    public static func named(_ text: String) -> KPI? {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let name = parts.first else { return nil } // "" or ":" names nothing
        let priority = parts.count == 2 ? parts[1] : "*"
        guard priority == "*" || priority.range(of: "^P[1-5]$", options: .regularExpression) != nil else { return nil }
        var kpi: KPI
        switch name {
        case "incident.resolution_within_sla_percent":
            kpi = KPI(method: "incident.stats", value: "byPriority.\(priority).withinTarget", per: "byPriority.\(priority).measured", scale: 100)
        case "incident.resolved":
            kpi = KPI(method: "incident.stats", value: parts.count == 2 ? "byPriority.\(priority).resolved" : "resolvedInPeriod")
        case "incident.created" where parts.count == 1: kpi = KPI(method: "incident.stats", value: "createdInPeriod")
        case "incident.open_breached" where parts.count == 1: kpi = KPI(method: "incident.stats", value: "openBreached", pointInTime: true)
        case "problem.resolved" where parts.count == 1: kpi = KPI(method: "problem.stats", value: "resolved")
        case "problem.known_errors_published" where parts.count == 1: kpi = KPI(method: "problem.stats", value: "knownErrorsPublished")
        case "problem.mean_hours_to_resolve" where parts.count == 1: kpi = KPI(method: "problem.stats", value: "meanHoursToResolve")
        case "problem.major_open" where parts.count == 1: kpi = KPI(method: "problem.stats", value: "majorOpen", pointInTime: true)
        case "supplier.within_target_percent" where parts.count == 1: kpi = KPI(method: "supplier.stats", value: "withinTargetPercent")
        case "supplier.targets_missed" where parts.count == 1: kpi = KPI(method: "supplier.stats", value: "targetsMissed")
        case "supplier.overdue_actions" where parts.count == 1: kpi = KPI(method: "supplier.stats", value: "overdueActions", pointInTime: true)
        case "supplier.open_disputes" where parts.count == 1: kpi = KPI(method: "supplier.stats", value: "openDisputes", pointInTime: true)
        default: return nil
        }
        kpi.name = text
        return kpi
    }

    public static let catalogue = [
        "incident.resolution_within_sla_percent[:P1..P5]", "incident.resolved[:P1..P5]", "incident.created", "incident.open_breached",
        "problem.resolved", "problem.known_errors_published", "problem.mean_hours_to_resolve", "problem.major_open",
        "supplier.within_target_percent", "supplier.targets_missed", "supplier.overdue_actions", "supplier.open_disputes",
    ]

    /// The KPI's value for `period` in `answer`; `nil` with a reason when the figures hold none
    /// for it, never a zero standing in for "no data". An answer that does not echo the period
    /// (`from`, `to`) describes the present, as does a point-in-time KPI: it has a value for
    /// the period containing `now` only, so a past period is never given today's figure.
    public func evaluate(_ answer: JSONValue, for period: DateInterval, now: Date = Date()) -> (value: Double?, note: String?) {
        func echoed(_ key: String, _ date: Date) -> Bool {
            answer[key]?.stringValue.flatMap(JSONCoding.date(from:)).map { abs($0.timeIntervalSince(date)) < 1 } ?? false
        }
        let ofThePeriod = pointInTime != true && echoed("from", period.start) && echoed("to", period.end)
        // A period ending as it is measured (a review pack up to now) is the present too.
        if !ofThePeriod, !(period.start <= now && now < period.end.addingTimeInterval(60)) {
            return (nil, "\(method) gives \(value) as it stands now, not for a past or future period")
        }
        guard let numerator = Self.number(at: value, in: answer) else {
            return (nil, "\(method) gave no value at \(value) for the period")
        }
        guard let per else { return (numerator * (scale ?? 1), nil) }
        guard let denominator = Self.number(at: per, in: answer), denominator != 0 else {
            return (nil, "nothing was measured in the period (\(per) is 0)")
        }
        return (numerator / denominator * (scale ?? 1), nil)
    }

    static func number(at path: String, in value: JSONValue) -> Double? {
        var current: [JSONValue] = [value]
        for segment in path.split(separator: ".") {
            current = current.flatMap { node -> [JSONValue] in
                guard case .object(let members) = node else { return [] }
                if segment == "*" { return Array(members.values) }
                return members[String(segment)].map { [$0] } ?? []
            }
        }
        let numbers = current.compactMap(\.doubleValue)
        return numbers.isEmpty ? nil : numbers.reduce(0, +)
    }
}

/// A reporting period in UTC.
public enum Period: String, Sendable, Hashable, Codable, CaseIterable {
    case week, month, quarter, year

    /// The period that contains `date`.
    public func interval(containing date: Date) -> DateInterval {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start: Date
        let end: Date
        switch self {
        case .week:
            start = calendar.dateInterval(of: .weekOfYear, for: date)!.start
            end = calendar.date(byAdding: .day, value: 7, to: start)!
        case .month:
            start = calendar.dateInterval(of: .month, for: date)!.start
            end = calendar.date(byAdding: .month, value: 1, to: start)!
        case .quarter:
            let month = calendar.component(.month, from: date)
            let year = calendar.component(.year, from: date)
            start = calendar.date(from: DateComponents(year: year, month: (month - 1) / 3 * 3 + 1, day: 1))!
            end = calendar.date(byAdding: .month, value: 3, to: start)!
        case .year:
            start = calendar.dateInterval(of: .year, for: date)!.start
            end = calendar.date(byAdding: .year, value: 1, to: start)!
        }
        return DateInterval(start: start, end: end)
    }

    /// The period before the one containing `date`.
    public func previous(before date: Date) -> DateInterval {
        interval(containing: interval(containing: date).start.addingTimeInterval(-1))
    }
}
