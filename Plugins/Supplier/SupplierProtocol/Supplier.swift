import Foundation
import ITSMCalendar
import ITSMProtocol

public enum SupplierKind: String, Sendable, Hashable, Codable, CaseIterable {
    case external, `internal`, customer
}

public enum SupplierStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case active
    case onHold = "on_hold"
    case inactive
}

public struct Contact: Sendable, Hashable, Codable {
    public var name: String
    public var role: String?
    public var email: String?
    public var phone: String?
    public init(name: String, role: String? = nil, email: String? = nil, phone: String? = nil) {
        self.name = name
        self.role = role
        self.email = email
        self.phone = phone
    }
}

public struct Supplier: Sendable, Hashable, Codable {
    public var id: UUID
    public var number: String
    public var name: String
    public var kind: SupplierKind
    public var contacts: [Contact]
    public var services: [String]
    public var configurationItems: [String]
    /// The relationship owner on our side.
    public var owner: String?
    public var status: SupplierStatus
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, number: String, name: String, kind: SupplierKind, contacts: [Contact], services: [String],
                configurationItems: [String], owner: String? = nil, status: SupplierStatus, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.number = number
        self.name = name
        self.kind = kind
        self.contacts = contacts
        self.services = services
        self.configurationItems = configurationItems
        self.owner = owner
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public enum TargetKind: String, Sendable, Hashable, Codable, CaseIterable {
    case response, resolution, availability, other
}

/// A documented target of a contract: e.g. resolution of P2 within 480 business minutes.
public struct Target: Sendable, Hashable, Codable {
    public var id: Int?
    public var kind: TargetKind
    /// `P1`…`P5`; none: every priority.
    public var priority: String?
    public var minutes: Int?
    /// Minutes counted on the contract's calendar (true) or around the clock.
    public var businessHours: Bool?
    /// For availability targets.
    public var percent: Double?
    public var description: String?

    public init(kind: TargetKind, priority: String? = nil, minutes: Int? = nil, businessHours: Bool? = nil, percent: Double? = nil,
                description: String? = nil) {
        self.kind = kind
        self.priority = priority
        self.minutes = minutes
        self.businessHours = businessHours
        self.percent = percent
        self.description = description
    }
}

public enum Renewal: String, Sendable, Hashable, Codable, CaseIterable {
    case fixedTerm = "fixed_term"
    case autoRenew = "auto_renew"
    case manual
}

public struct Contract: Sendable, Hashable, Codable {
    public var id: UUID
    public var supplier: String
    public var reference: String
    public var scope: String
    /// `YYYY-MM-DD`.
    public var startsOn: String
    public var endsOn: String
    public var noticeDays: Int
    /// The last day notice can be given: `endsOn` minus `noticeDays`.
    public var noticeDeadline: String
    public var renewal: Renewal
    public var value: Double?
    public var currency: String?
    public var documents: [String]
    public var calendar: CalendarDefinition
    public var status: String
    public var targets: [Target]

    public init(id: UUID, supplier: String, reference: String, scope: String, startsOn: String, endsOn: String, noticeDays: Int,
                noticeDeadline: String, renewal: Renewal, value: Double? = nil, currency: String? = nil, documents: [String],
                calendar: CalendarDefinition, status: String, targets: [Target]) {
        self.id = id
        self.supplier = supplier
        self.reference = reference
        self.scope = scope
        self.startsOn = startsOn
        self.endsOn = endsOn
        self.noticeDays = noticeDays
        self.noticeDeadline = noticeDeadline
        self.renewal = renewal
        self.value = value
        self.currency = currency
        self.documents = documents
        self.calendar = calendar
        self.status = status
        self.targets = targets
    }
}

public struct SupplierReview: Sendable, Hashable, Codable {
    public var id: Int
    public var heldOn: String
    public var attendees: [String]
    public var findings: String
    public var recordedBy: String

    public init(id: Int, heldOn: String, attendees: [String], findings: String, recordedBy: String) {
        self.id = id
        self.heldOn = heldOn
        self.attendees = attendees
        self.findings = findings
        self.recordedBy = recordedBy
    }
}

public struct Dispute: Sendable, Hashable, Codable {
    public var id: Int
    public var contract: String?
    public var subject: String
    public var description: String
    public var amount: Double?
    public var currency: String?
    public var status: String
    public var resolution: String?
    public var raisedBy: String
    public var raisedAt: Date

    public init(id: Int, contract: String? = nil, subject: String, description: String, amount: Double? = nil,
                currency: String? = nil, status: String, resolution: String? = nil, raisedBy: String, raisedAt: Date) {
        self.id = id
        self.contract = contract
        self.subject = subject
        self.description = description
        self.amount = amount
        self.currency = currency
        self.status = status
        self.resolution = resolution
        self.raisedBy = raisedBy
        self.raisedAt = raisedAt
    }
}

public struct SupplierAction: Sendable, Hashable, Codable {
    public var id: Int
    public var description: String
    public var owner: String
    public var dueOn: String
    public var status: String
    public var overdue: Bool
    public var review: Int?
    public var dispute: Int?

    public init(id: Int, description: String, owner: String, dueOn: String, status: String, overdue: Bool, review: Int? = nil,
                dispute: Int? = nil) {
        self.id = id
        self.description = description
        self.owner = owner
        self.dueOn = dueOn
        self.status = status
        self.overdue = overdue
        self.review = review
        self.dispute = dispute
    }
}

/// A supplier's performance in a period, measured from the incidents handed to it.
public struct Scorecard: Sendable, Hashable, Codable {
    public var supplier: String
    public var name: String
    /// Hand-offs resolved in the period.
    public var volume: Int
    /// Of those, how many had a target to meet, and met it.
    public var scored: Int
    public var withinTarget: Int
    public var withinTargetPercent: Double?
    public var breaches: Int
    public var meanBusinessHours: Double?
    public var p90BusinessHours: Double?
    /// Still with the supplier at the end of the period.
    public var open: Int

    public init(supplier: String, name: String, volume: Int, scored: Int, withinTarget: Int, withinTargetPercent: Double? = nil,
                breaches: Int, meanBusinessHours: Double? = nil, p90BusinessHours: Double? = nil, open: Int) {
        self.supplier = supplier
        self.name = name
        self.volume = volume
        self.scored = scored
        self.withinTarget = withinTarget
        self.withinTargetPercent = withinTargetPercent
        self.breaches = breaches
        self.meanBusinessHours = meanBusinessHours
        self.p90BusinessHours = p90BusinessHours
        self.open = open
    }
}
