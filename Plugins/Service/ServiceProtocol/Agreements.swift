import Foundation
import ITSMCalendar
import ITSMProtocol

/// A review of the service with a customer: who came, what was found, the actions agreed,
/// each tracked until it is done.
public struct ServiceReview: Sendable, Hashable, Codable {
    public var number: String
    public var customer: String
    public var heldOn: String
    public var periodFrom: Date?
    public var periodTo: Date?
    public var attendees: [String]
    public var findings: String
    public var actions: [ReviewAction]
    public var recordedBy: String
    public var recordedAt: Date

    public init(number: String, customer: String, heldOn: String, periodFrom: Date? = nil, periodTo: Date? = nil,
                attendees: [String], findings: String, actions: [ReviewAction], recordedBy: String, recordedAt: Date) {
        self.number = number
        self.customer = customer
        self.heldOn = heldOn
        self.periodFrom = periodFrom
        self.periodTo = periodTo
        self.attendees = attendees
        self.findings = findings
        self.actions = actions
        self.recordedBy = recordedBy
        self.recordedAt = recordedAt
    }
}

public struct ReviewAction: Sendable, Hashable, Codable {
    /// Its place in the review, from 1.
    public var action: Int
    public var description: String
    public var owner: String
    public var dueOn: String
    public var done: Bool
    public var overdue: Bool
    public var doneAt: Date?
    public var doneBy: String?
    public var outcome: String?

    public init(action: Int, description: String, owner: String, dueOn: String, done: Bool, overdue: Bool, doneAt: Date? = nil,
                doneBy: String? = nil, outcome: String? = nil) {
        self.action = action
        self.description = description
        self.owner = owner
        self.dueOn = dueOn
        self.done = done
        self.overdue = overdue
        self.doneAt = doneAt
        self.doneBy = doneBy
        self.outcome = outcome
    }
}

// MARK: - Params

public struct SetCustomer: Sendable, Hashable, Codable {
    public var name: String
    public var description: String?
    /// The accounts who speak for the customer; replaces the list. A person belongs to one customer.
    public var contacts: [String]?
    public var status: Customer.Status?

    public init(name: String, description: String? = nil, contacts: [String]? = nil, status: Customer.Status? = nil) {
        self.name = name
        self.description = description
        self.contacts = contacts
        self.status = status
    }
}

public struct CustomerKey: Sendable, Hashable, Codable {
    public var name: String
    public var history: Bool?
    public init(name: String, history: Bool? = nil) {
        self.name = name
        self.history = history
    }
}

public struct CustomerDetail: Sendable, Hashable, Codable {
    public var customer: Customer
    public var agreements: [Agreement]
    public var reviews: [ServiceReview]
    public var history: [HistoryEntry]?

    public init(customer: Customer, agreements: [Agreement], reviews: [ServiceReview], history: [HistoryEntry]? = nil) {
        self.customer = customer
        self.agreements = agreements
        self.reviews = reviews
        self.history = history
    }
}

public struct ListCustomers: Sendable, Hashable, Codable {
    public var status: Customer.Status?
    public init(status: Customer.Status? = nil) { self.status = status }
}

public struct CustomerList: Sendable, Hashable, Codable {
    public var items: [Customer]

    public init(items: [Customer]) {
        self.items = items
    }
}

/// `agreement.set` params: creates the agreement, or replaces its terms.
public struct SetAgreement: Sendable, Hashable, Codable {
    public var reference: String
    public var customer: String
    public var service: String
    public var status: Agreement.Status?
    public var validFrom: String
    public var validTo: String
    public var reviewDue: String?
    public var targets: AgreementTargets
    /// The hours the times count in; default the service process's calendar.
    public var calendar: CalendarDefinition?

    public init(reference: String, customer: String, service: String, status: Agreement.Status? = nil, validFrom: String, validTo: String,
                reviewDue: String? = nil, targets: AgreementTargets, calendar: CalendarDefinition? = nil) {
        self.reference = reference
        self.customer = customer
        self.service = service
        self.status = status
        self.validFrom = validFrom
        self.validTo = validTo
        self.reviewDue = reviewDue
        self.targets = targets
        self.calendar = calendar
    }
}

public struct AgreementKey: Sendable, Hashable, Codable {
    public var reference: String
    public init(reference: String) { self.reference = reference }
}

public struct ListAgreements: Sendable, Hashable, Codable {
    public var customer: String?
    public var status: Agreement.Status?
    public init(customer: String? = nil, status: Agreement.Status? = nil) {
        self.customer = customer
        self.status = status
    }
}

public struct AgreementList: Sendable, Hashable, Codable {
    public var items: [Agreement]

    public init(items: [Agreement]) {
        self.items = items
    }
}

public struct RecordServiceReview: Sendable, Hashable, Codable {
    public typealias NewAction = ActionToTake

    public var customer: String
    public var heldOn: String
    /// The period reviewed, usually that of the service report discussed.
    public var from: Date?
    public var to: Date?
    public var attendees: [String]
    public var findings: String
    public var actions: [NewAction]?

    public init(customer: String, heldOn: String, from: Date? = nil, to: Date? = nil, attendees: [String], findings: String,
                actions: [NewAction]? = nil) {
        self.customer = customer
        self.heldOn = heldOn
        self.from = from
        self.to = to
        self.attendees = attendees
        self.findings = findings
        self.actions = actions
    }
}

public struct ServiceReviewKey: Sendable, Hashable, Codable {
    public var number: String
    public init(number: String) { self.number = number }
}

public struct CompleteReviewAction: Sendable, Hashable, Codable {
    public var number: String
    public var action: Int
    public var outcome: String
    public init(number: String, action: Int, outcome: String) {
        self.number = number
        self.action = action
        self.outcome = outcome
    }
}

public struct ListServiceReviews: Sendable, Hashable, Codable {
    public var customer: String?
    /// Only reviews with actions not done yet.
    public var openActions: Bool?
    public init(customer: String? = nil, openActions: Bool? = nil) {
        self.customer = customer
        self.openActions = openActions
    }
}

public struct ServiceReviewList: Sendable, Hashable, Codable {
    public var items: [ServiceReview]

    public init(items: [ServiceReview]) {
        self.items = items
    }
}
