import Foundation
import ITSMProtocol

/// A service management objective: a KPI, a target and a period (ISO/IEC 20000-1 6.2, 9.1).
public struct Objective: Sendable, Hashable, Codable {
    public var number: String
    public var title: String
    public var kpi: KPI
    /// `>=` or `<=`.
    public var comparator: String
    public var target: Double
    public var period: Period
    public var owner: String?
    public var active: Bool

    public init(number: String, title: String, kpi: KPI, comparator: String, target: Double, period: Period, owner: String? = nil,
                active: Bool) {
        self.number = number
        self.title = title
        self.kpi = kpi
        self.comparator = comparator
        self.target = target
        self.period = period
        self.owner = owner
        self.active = active
    }
}

/// One period's measurement. When the process that holds the figures is disabled or down,
/// `available` is false and `note` says so: no zero stands in for missing data.
public struct Measurement: Sendable, Hashable, Codable {
    public var objective: String
    public var from: Date
    public var to: Date
    public var value: Double?
    public var available: Bool
    public var met: Bool?
    public var note: String?

    public init(objective: String, from: Date, to: Date, value: Double? = nil, available: Bool, met: Bool? = nil,
                note: String? = nil) {
        self.objective = objective
        self.from = from
        self.to = to
        self.value = value
        self.available = available
        self.met = met
        self.note = note
    }
}

public struct CreateObjective: Sendable, Hashable, Codable {
    public var title: String
    /// A catalogue name (`incident.resolution_within_sla_percent:P1`) or a spec `{method, value, per?, scale?}`.
    public var kpi: JSONValue
    public var comparator: String
    public var target: Double
    public var period: Period
    public var owner: String?
    public init(title: String, kpi: JSONValue, comparator: String, target: Double, period: Period, owner: String? = nil) {
        self.title = title
        self.kpi = kpi
        self.comparator = comparator
        self.target = target
        self.period = period
        self.owner = owner
    }
}

public struct MeasureObjective: Sendable, Hashable, Codable {
    public var number: String
    /// Any moment in the period to measure; default: now (the current period so far).
    public var at: Date?
    public init(number: String, at: Date? = nil) {
        self.number = number
        self.at = at
    }
}

public struct ObjectiveList: Sendable, Hashable, Codable {
    public var items: [Objective]

    public init(items: [Objective]) {
        self.items = items
    }
}

/// `objective.trend` params: how many periods back from the current one.
public struct ObjectiveTrendParams: Sendable, Hashable, Codable {
    public var number: String
    /// 1 to 24; default 6.
    public var periods: Int?

    public init(number: String, periods: Int? = nil) {
        self.number = number
        self.periods = periods
    }

    public var count: Int { periods ?? 6 }

    public func validate() throws {
        guard (1...24).contains(count) else { throw ResponseError.invalidParams("periods: 1 to 24") }
    }
}

/// An objective with its KPI measured in each of its last periods, oldest first, the current
/// one (so far) last. Measured as asked, not recorded: reading a trend changes nothing.
public struct ObjectiveTrend: Sendable, Hashable, Codable {
    public var objective: Objective
    public var measurements: [Measurement]

    public init(objective: Objective, measurements: [Measurement]) {
        self.objective = objective
        self.measurements = measurements
    }
}
