import Foundation
import ITSMCalendar
import ITSMProtocol

/// A service in the catalogue: the one place other records name a service from.
public struct Service: Sendable, Hashable, Codable {
    public var name: String
    public var description: String
    public var owner: String?
    public var status: ServiceStatus
    /// The customers (organisations) the service is provided to.
    public var customers: [String]
    public var configurationItems: [String]
    public var createdAt: Date
    public var updatedAt: Date

    public init(name: String, description: String, owner: String? = nil, status: ServiceStatus, customers: [String],
                configurationItems: [String], createdAt: Date, updatedAt: Date) {
        self.name = name
        self.description = description
        self.owner = owner
        self.status = status
        self.customers = customers
        self.configurationItems = configurationItems
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public enum ServiceStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case pipeline, live, retired
}

/// An organisation services are provided to, with the people who speak for it: their incidents
/// and requests are measured against the customer's agreements.
public struct Customer: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case active, inactive
    }

    public var name: String
    public var description: String
    public var status: Status
    /// Account names.
    public var contacts: [String]
    public var createdAt: Date
    public var updatedAt: Date

    public init(name: String, description: String, status: Status, contacts: [String], createdAt: Date, updatedAt: Date) {
        self.name = name
        self.description = description
        self.status = status
        self.contacts = contacts
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Response and resolution times agreed for one priority.
public struct PriorityTarget: Sendable, Hashable, Codable {
    /// `P1` to `P5`.
    public var priority: String
    public var responseMinutes: Int
    public var resolutionMinutes: Int

    public init(priority: String, responseMinutes: Int, resolutionMinutes: Int) {
        self.priority = priority
        self.responseMinutes = responseMinutes
        self.resolutionMinutes = resolutionMinutes
    }
}

/// What an agreement commits to.
public struct AgreementTargets: Sendable, Hashable, Codable {
    /// Incident response and resolution times, by priority, counted in the agreement's hours.
    public var priorities: [PriorityTarget]
    /// The share of incidents to be responded to and resolved within those times (default 95).
    public var compliancePercent: Double?
    /// The share of requests to be fulfilled within their target.
    public var fulfilmentPercent: Double?
    /// The customer's own fulfilment time for requests on this service, in the agreement's
    /// hours; replaces the item's target for requests its contacts raise.
    public var fulfilmentMinutes: Int?
    /// Availability agreed for the service; shown in reports, not measured by the toolkit.
    public var availabilityPercent: Double?

    public init(priorities: [PriorityTarget], compliancePercent: Double? = nil, fulfilmentPercent: Double? = nil,
                fulfilmentMinutes: Int? = nil, availabilityPercent: Double? = nil) {
        self.priorities = priorities
        self.compliancePercent = compliancePercent
        self.fulfilmentPercent = fulfilmentPercent
        self.fulfilmentMinutes = fulfilmentMinutes
        self.availabilityPercent = availabilityPercent
    }
}

/// A service level agreement: one customer, one service, a period, its targets.
public struct Agreement: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case draft, active, terminated
    }

    public var reference: String
    public var customer: String
    public var service: String
    public var status: Status
    /// Dates as `YYYY-MM-DD`; the agreement applies from the first to the last, both included.
    public var validFrom: String
    public var validTo: String
    public var reviewDue: String?
    public var targets: AgreementTargets
    public var calendar: CalendarDefinition
    public var createdAt: Date
    public var updatedAt: Date

    public init(reference: String, customer: String, service: String, status: Status, validFrom: String, validTo: String,
                reviewDue: String? = nil, targets: AgreementTargets, calendar: CalendarDefinition, createdAt: Date,
                updatedAt: Date) {
        self.reference = reference
        self.customer = customer
        self.service = service
        self.status = status
        self.validFrom = validFrom
        self.validTo = validTo
        self.reviewDue = reviewDue
        self.targets = targets
        self.calendar = calendar
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// The events about the catalogue, customers and agreements, which other processes read: the
/// incident process measures records by the agreements and checks services against the
/// catalogue. (Request events are the service process's own: `ServiceEvents`.)
public enum CatalogueEvents {
    public static let serviceChanged = EventType<Service>("service.changed",
        "A service was added to the catalogue or its fields changed.")
    public static let customerChanged = EventType<Customer>("customer.changed",
        "A customer was recorded, or its contacts or status changed.")
    public static let agreementChanged = EventType<Agreement>("agreement.changed",
        "A service level agreement was made or its terms changed; the incident process measures the customer's incidents by it.")
}
