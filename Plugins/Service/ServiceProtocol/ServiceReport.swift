import Foundation
import ITSMCalendar
import ITSMProtocol

/// `service.report` params.
public struct ServiceReportParams: Sendable, Hashable, Codable {
    public var customer: String
    /// The period, `[from, to)`; default the last 30 days.
    public var from: Date?
    public var to: Date?
    /// `json` (default), `markdown` or `html`.
    public var format: String?

    public init(customer: String, from: Date? = nil, to: Date? = nil, format: String? = nil) {
        self.customer = customer
        self.from = from
        self.to = to
        self.format = format
    }
}

/// What was agreed with a customer against what was achieved in a period, from the records:
/// per agreement, each priority's times and how many incidents met them, the requests and how
/// many were fulfilled within their target, every breach with its record, and the previous
/// period beside this one.
public struct ServiceReport: Sendable, Hashable, Codable {
    public struct PriorityResult: Sendable, Hashable, Codable {
        public var priority: String
        public var responseMinutes: Int
        public var resolutionMinutes: Int
        public var created: Int
        public var responseMet: Int
        public var responseMeasured: Int
        public var resolutionMet: Int
        public var resolutionMeasured: Int

        public init(priority: String, responseMinutes: Int, resolutionMinutes: Int, created: Int, responseMet: Int,
                    responseMeasured: Int, resolutionMet: Int, resolutionMeasured: Int) {
            self.priority = priority
            self.responseMinutes = responseMinutes
            self.resolutionMinutes = resolutionMinutes
            self.created = created
            self.responseMet = responseMet
            self.responseMeasured = responseMeasured
            self.resolutionMet = resolutionMet
            self.resolutionMeasured = resolutionMeasured
        }
    }

    public struct Breach: Sendable, Hashable, Codable {
        public var number: String
        public var title: String
        public var priority: String?
        /// `response`, `resolution` or `fulfilment`.
        public var clock: String
        public var targetMinutes: Int

        public init(number: String, title: String, priority: String? = nil, clock: String, targetMinutes: Int) {
            self.number = number
            self.title = title
            self.priority = priority
            self.clock = clock
            self.targetMinutes = targetMinutes
        }
    }

    public struct Requests: Sendable, Hashable, Codable {
        public var raised: Int
        public var fulfilled: Int
        public var withinTarget: Int
        public var withinTargetPercent: Double?

        public init(raised: Int, fulfilled: Int, withinTarget: Int, withinTargetPercent: Double? = nil) {
            self.raised = raised
            self.fulfilled = fulfilled
            self.withinTarget = withinTarget
            self.withinTargetPercent = withinTargetPercent
        }
    }

    public struct AgreementResult: Sendable, Hashable, Codable {
        public var reference: String
        public var service: String
        public var validFrom: String
        public var validTo: String
        public var compliancePercent: Double
        public var availabilityPercent: Double?
        public var fulfilmentPercent: Double?
        public var incidentsCreated: Int
        public var incidentsResolved: Int
        public var priorities: [PriorityResult]
        /// Measured clocks (response and resolution) within their times, in percent; nil when none stopped.
        public var achievedPercent: Double?
        public var compliant: Bool?
        public var requests: Requests
        public var fulfilmentCompliant: Bool?
        public var breaches: [Breach]

        public init(reference: String, service: String, validFrom: String, validTo: String, compliancePercent: Double,
                    availabilityPercent: Double? = nil, fulfilmentPercent: Double? = nil, incidentsCreated: Int,
                    incidentsResolved: Int, priorities: [PriorityResult], achievedPercent: Double? = nil, compliant: Bool? = nil,
                    requests: Requests, fulfilmentCompliant: Bool? = nil, breaches: [Breach]) {
            self.reference = reference
            self.service = service
            self.validFrom = validFrom
            self.validTo = validTo
            self.compliancePercent = compliancePercent
            self.availabilityPercent = availabilityPercent
            self.fulfilmentPercent = fulfilmentPercent
            self.incidentsCreated = incidentsCreated
            self.incidentsResolved = incidentsResolved
            self.priorities = priorities
            self.achievedPercent = achievedPercent
            self.compliant = compliant
            self.requests = requests
            self.fulfilmentCompliant = fulfilmentCompliant
            self.breaches = breaches
        }
    }

    /// The previous period of the same length, for the trend.
    public struct Trend: Sendable, Hashable, Codable {
        public var from: Date
        public var to: Date
        public var incidentsCreated: Int
        public var achievedPercent: Double?
        public var requestsRaised: Int
        public var requestsWithinTargetPercent: Double?

        public init(from: Date, to: Date, incidentsCreated: Int, achievedPercent: Double? = nil, requestsRaised: Int,
                    requestsWithinTargetPercent: Double? = nil) {
            self.from = from
            self.to = to
            self.incidentsCreated = incidentsCreated
            self.achievedPercent = achievedPercent
            self.requestsRaised = requestsRaised
            self.requestsWithinTargetPercent = requestsWithinTargetPercent
        }
    }

    public var customer: String
    public var from: Date
    public var to: Date
    /// Whether incident figures could be had: `available`, `none` (the incident process is not
    /// enabled) or `unavailable` (it did not answer); `note` says what that means.
    public var incidentData: String
    public var note: String?
    public var agreements: [AgreementResult]
    public var previous: Trend
    public var openReviewActions: [String]

    public init(customer: String, from: Date, to: Date, incidentData: String, note: String? = nil, agreements: [AgreementResult],
                previous: Trend, openReviewActions: [String]) {
        self.customer = customer
        self.from = from
        self.to = to
        self.incidentData = incidentData
        self.note = note
        self.agreements = agreements
        self.previous = previous
        self.openReviewActions = openReviewActions
    }
}
