import Foundation
import ITSMProtocol

/// The events the capacity process publishes, each with its payload (docs/events.md).
public enum CapacityEvents {
    public static let thresholdBreached = EventType<ThresholdChange>("capacity.threshold_breached",
        "A metric went from ok to warning or critical, or from warning to critical.")
    public static let thresholdCleared = EventType<ThresholdChange>("capacity.threshold_cleared",
        "A metric is back to ok.")
    public static let exhaustionForecast = EventType<ExhaustionForecast>("capacity.exhaustion_forecast",
        "A metric's forecast reaches its limit on a new date.")
}

public struct ThresholdChange: Sendable, Hashable, Codable {
    public var resource: String
    public var metric: String
    public var service: String?
    public var value: Double
    public var unit: String
    /// The state before and after: `ok`, `warning` or `critical`.
    public var from: String
    public var to: String
    /// When the sample that changed it was taken.
    public var at: Date
    public var limit: Double

    public init(resource: String, metric: String, service: String? = nil, value: Double, unit: String, from: String, to: String,
                at: Date, limit: Double) {
        self.resource = resource
        self.metric = metric
        self.service = service
        self.value = value
        self.unit = unit
        self.from = from
        self.to = to
        self.at = at
        self.limit = limit
    }
}

public struct ExhaustionForecast: Sendable, Hashable, Codable {
    public var resource: String
    public var metric: String
    public var service: String?
    public var unit: String
    public var limit: Double
    /// The expected day, `YYYY-MM-DD`, with the interval around it when the model gives one.
    public var exhaustionDate: String
    public var earliest: Date?
    public var latest: Date?
    public var model: String
    public var follows: String

    public init(resource: String, metric: String, service: String? = nil, unit: String, limit: Double, exhaustionDate: String,
                earliest: Date? = nil, latest: Date? = nil, model: String, follows: String) {
        self.resource = resource
        self.metric = metric
        self.service = service
        self.unit = unit
        self.limit = limit
        self.exhaustionDate = exhaustionDate
        self.earliest = earliest
        self.latest = latest
        self.model = model
        self.follows = follows
    }
}
