import Foundation
import ITSMProtocol

/// The capacity process's methods with their params and results: what it serves, and what the
/// command line and other processes send and read.
public enum CapacityMethods {
    public static let define = MethodType<DefineResource, [Metric]>("capacity.define")
    public static let metrics = MethodType<ServiceFilter, [Metric]>("capacity.metrics")
    public static let ingest = MethodType<IngestSamples, IngestResult>("capacity.ingest")
    public static let ingestPrometheus = MethodType<PrometheusBody, IngestResult>("capacity.ingest_prometheus")
    public static let forecast = MethodType<MetricKey, MetricForecast>("capacity.forecast")
    /// The plan as JSON, or as a Markdown document with its charts (`format`).
    public static let plan = MethodType<PlanParams, JSONValue>("capacity.plan")
    public static let stats = MethodType<NoParams, CapacityStats>("capacity.stats")
}

/// Which way a metric runs out: `above` (usage rising to its limit: disk used, CPU) or `below`
/// (what is left falling to its limit: free disk, free memory).
public enum ThresholdDirection: String, Sendable, Hashable, Codable, CaseIterable {
    case above
    case below
}

/// The rollup figure a metric's forecast is fitted on.
public enum ForecastSeries: String, Sendable, Hashable, Codable, CaseIterable {
    case avg, max, min, p95
}

public struct Metric: Sendable, Hashable, Codable {
    public var resource: String
    public var name: String
    public var unit: String
    public var limit: Double
    public var warning: Double
    public var critical: Double
    public var direction: ThresholdDirection
    /// The rollup figure forecasts follow.
    public var forecastOn: ForecastSeries
    public var owner: String?
    /// ok, warning or critical.
    public var state: String
    public var lastValue: Double?
    public var lastAt: Date?
    public var service: String?
    public init(resource: String, name: String, unit: String, limit: Double, warning: Double, critical: Double,
                direction: ThresholdDirection, forecastOn: ForecastSeries, owner: String? = nil, state: String,
                lastValue: Double? = nil, lastAt: Date? = nil, service: String? = nil) {
        self.resource = resource
        self.name = name
        self.unit = unit
        self.limit = limit
        self.warning = warning
        self.critical = critical
        self.direction = direction
        self.forecastOn = forecastOn
        self.owner = owner
        self.state = state
        self.lastValue = lastValue
        self.lastAt = lastAt
        self.service = service
    }
}

/// `capacity.define` params: a resource and its metrics, replacing an earlier definition.
public struct DefineResource: Sendable, Hashable, Codable {
    public struct MetricDefinition: Sendable, Hashable, Codable {
        public var name: String
        public var unit: String
        public var limit: Double
        public var warning: Double
        public var critical: Double
        /// `above` (default) or `below`.
        public var direction: ThresholdDirection?
        /// `avg`, `max`, `min` or `p95` of each day (or hour); default `max` above, `min` below.
        public var forecastOn: ForecastSeries?
        public var owner: String?
        public init(name: String, unit: String, limit: Double, warning: Double, critical: Double,
                    direction: ThresholdDirection? = nil, forecastOn: ForecastSeries? = nil, owner: String? = nil) {
            self.name = name
            self.unit = unit
            self.limit = limit
            self.warning = warning
            self.critical = critical
            self.direction = direction
            self.forecastOn = forecastOn
            self.owner = owner
        }
    }

    public var name: String
    /// technical (default) or human (a service desk group: name it as the assignment group).
    public var kind: String?
    public var service: String?
    public var configurationItem: String?
    public var owner: String?
    public var metrics: [MetricDefinition]
    public init(name: String, kind: String? = nil, service: String? = nil, configurationItem: String? = nil, owner: String? = nil,
                metrics: [MetricDefinition]) {
        self.name = name
        self.kind = kind
        self.service = service
        self.configurationItem = configurationItem
        self.owner = owner
        self.metrics = metrics
    }
}

/// `capacity.metrics` params: one service's metrics, or all.
public struct ServiceFilter: Sendable, Hashable, Codable {
    public var service: String?
    public init(service: String? = nil) { self.service = service }
}

public struct IngestSamples: Sendable, Hashable, Codable {
    public var samples: [Sample]
    public init(samples: [Sample]) { self.samples = samples }
}

/// A Prometheus text exposition body for one resource.
public struct PrometheusBody: Sendable, Hashable, Codable {
    public var resource: String
    public var body: String
    public init(resource: String, body: String) {
        self.resource = resource
        self.body = body
    }
}

public struct IngestResult: Sendable, Hashable, Codable {
    public struct Rejection: Sendable, Hashable, Codable {
        /// The sample's position in the batch, from 0.
        public var index: Int?
        /// The line of a Prometheus body, from 1.
        public var line: Int?
        public var reason: String
        public init(index: Int?, line: Int? = nil, reason: String) {
            self.index = index
            self.line = line
            self.reason = reason
        }
    }

    public var accepted: Int
    public var rejected: [Rejection]
    /// Threshold changes this batch caused, e.g. `db-1/disk: ok → critical`.
    public var thresholdChanges: [String]
    /// Prometheus series no defined metric selects.
    public var skippedSeries: Int?
    public init(accepted: Int, rejected: [Rejection], thresholdChanges: [String], skippedSeries: Int? = nil) {
        self.accepted = accepted
        self.rejected = rejected
        self.thresholdChanges = thresholdChanges
        self.skippedSeries = skippedSeries
    }
}

/// A metric of a resource.
public struct MetricKey: Sendable, Hashable, Codable {
    public var resource: String
    public var metric: String
    public init(resource: String, metric: String) {
        self.resource = resource
        self.metric = metric
    }
}

/// How a forecast was fitted: the model chosen and how well it and the other one did on the
/// held-out points.
public struct ForecastFit: Sendable, Hashable, Codable {
    public enum Model: String, Sendable, Hashable, Codable, CaseIterable {
        case linear
        case holtWinters = "holt_winters"
    }

    public var model: Model
    /// Mean absolute error on the held-out points.
    public var holdoutError: Double
    public var alternativeHoldoutError: Double?
    public var start: Date
    /// Seconds between points.
    public var step: TimeInterval
    public var points: Int
    /// Standard deviation of the one-step errors.
    public var residualDeviation: Double
    public init(model: Model, holdoutError: Double, alternativeHoldoutError: Double?, start: Date, step: TimeInterval, points: Int,
                residualDeviation: Double) {
        self.model = model
        self.holdoutError = holdoutError
        self.alternativeHoldoutError = alternativeHoldoutError
        self.start = start
        self.step = step
        self.points = points
        self.residualDeviation = residualDeviation
    }
}

/// When a level is expected to be reached, and the interval around it.
public struct ForecastCrossing: Sendable, Hashable, Codable {
    public var level: Double
    public var expected: Date?
    public var earliest: Date?
    public var latest: Date?
    public init(level: Double, expected: Date? = nil, earliest: Date? = nil, latest: Date? = nil) {
        self.level = level
        self.expected = expected
        self.earliest = earliest
        self.latest = latest
    }
}

/// A metric's forecast: the model chosen and when it reaches warning, critical and its limit.
public struct MetricForecast: Sendable, Hashable, Codable {
    public var resource: String
    public var metric: String
    public var unit: String
    /// `hour` or `day`: the rollups it was fitted on.
    public var granularity: String
    /// Which figure of each rollup: `max` (the peaks), `min`, `p95` or `avg`.
    public var series: ForecastSeries
    public var direction: ThresholdDirection
    /// The newest sample; with no sample for `staleAfterHours` the metric is stale, and its
    /// forecast describes the past: it is shown but never announced.
    public var lastSampleAt: Date?
    public var stale: Bool
    /// What the forecast follows, in words: `daily max`, `hourly avg`.
    public var follows: String { "\(granularity == "day" ? "daily" : "hourly") \(series.rawValue)" }
    public var forecast: ForecastFit?
    public var warning: ForecastCrossing?
    public var critical: ForecastCrossing?
    public var limit: ForecastCrossing?
    /// Why there is no forecast (too little data).
    public var note: String?
    public init(resource: String, metric: String, unit: String, granularity: String, series: ForecastSeries,
                direction: ThresholdDirection, lastSampleAt: Date?, stale: Bool, forecast: ForecastFit? = nil,
                warning: ForecastCrossing? = nil, critical: ForecastCrossing? = nil, limit: ForecastCrossing? = nil, note: String? = nil) {
        self.resource = resource
        self.metric = metric
        self.unit = unit
        self.granularity = granularity
        self.series = series
        self.direction = direction
        self.lastSampleAt = lastSampleAt
        self.stale = stale
        self.forecast = forecast
        self.warning = warning
        self.critical = critical
        self.limit = limit
        self.note = note
    }
}

/// `capacity.plan` params.
public struct PlanParams: Sendable, Hashable, Codable {
    public enum Format: String, Sendable, Hashable, Codable, CaseIterable {
        case json, markdown
    }

    public var service: String?
    /// json (default) or markdown, with an SVG chart per metric.
    public var format: Format?
    public init(service: String? = nil, format: Format? = nil) {
        self.service = service
        self.format = format
    }
}

/// `capacity.stats` result.
public struct CapacityStats: Sendable, Hashable, Codable {
    public var metrics: Int
    /// Metrics by state: ok, warning, critical.
    public var byState: [String: Int]
    /// Metrics expected to reach their limit, announced and not yet past.
    public var exhaustionForecasts: Int
    public init(metrics: Int, byState: [String: Int], exhaustionForecasts: Int) {
        self.metrics = metrics
        self.byState = byState
        self.exhaustionForecasts = exhaustionForecasts
    }
}
