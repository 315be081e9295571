import Foundation

/// `incident.customer_figures` params.
public struct CustomerFiguresParams: Sendable, Hashable, Codable {
    public var customer: String
    /// Only the records of this service.
    public var service: String?
    public var from: Date
    public var to: Date
    public init(customer: String, service: String? = nil, from: Date, to: Date) {
        self.customer = customer
        self.service = service
        self.from = from
        self.to = to
    }
}

/// A customer's incidents in a period, measured against the clocks they ran.
public struct CustomerFigures: Sendable, Hashable, Codable {
    public struct PriorityFigures: Sendable, Hashable, Codable {
        public var priority: String
        public var created: Int
        /// Clocks that stopped, and those that stopped within their target.
        public var responseMeasured: Int
        public var responseMet: Int
        public var resolutionMeasured: Int
        public var resolutionMet: Int

        public init(priority: String, created: Int, responseMeasured: Int, responseMet: Int, resolutionMeasured: Int,
                    resolutionMet: Int) {
            self.priority = priority
            self.created = created
            self.responseMeasured = responseMeasured
            self.responseMet = responseMet
            self.resolutionMeasured = resolutionMeasured
            self.resolutionMet = resolutionMet
        }
    }

    public struct Breach: Sendable, Hashable, Codable {
        public var number: String
        public var title: String
        public var priority: String
        public var service: String?
        public var clock: String
        public var targetMinutes: Int
        /// Nil while the clock still runs past its deadline.
        public var stoppedAt: Date?

        public init(number: String, title: String, priority: String, service: String? = nil, clock: String, targetMinutes: Int,
                    stoppedAt: Date? = nil) {
            self.number = number
            self.title = title
            self.priority = priority
            self.service = service
            self.clock = clock
            self.targetMinutes = targetMinutes
            self.stoppedAt = stoppedAt
        }
    }

    public var customer: String
    public var service: String?
    public var from: Date
    public var to: Date
    public var created: Int
    public var resolved: Int
    public var byPriority: [PriorityFigures]
    public var breaches: [Breach]

    public init(customer: String, service: String? = nil, from: Date, to: Date, created: Int, resolved: Int,
                byPriority: [PriorityFigures], breaches: [Breach]) {
        self.customer = customer
        self.service = service
        self.from = from
        self.to = to
        self.created = created
        self.resolved = resolved
        self.byPriority = byPriority
        self.breaches = breaches
    }
}

/// A service name the records use, with how many use it (`incident.service_names`).
public struct ServiceName: Sendable, Hashable, Codable {
    public var name: String
    public var records: Int

    public init(name: String, records: Int) {
        self.name = name
        self.records = records
    }
}
