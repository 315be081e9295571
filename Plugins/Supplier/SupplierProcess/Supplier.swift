import Foundation
import ITSMCalendar
import ITSMPostgres
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

    static let columns = "id, number, name, kind, contacts, services, cis, owner, status, created_at, updated_at"

    init(row: PostgresRow) throws {
        id = try row.decode(UUID.self, "id")
        number = try row.decode(String.self, "number")
        name = try row.decode(String.self, "name")
        kind = SupplierKind(rawValue: try row.decode(String.self, "kind")) ?? .external
        contacts = try row.decode(PostgresJSON.self, "contacts").decode([Contact].self)
        services = try row.decode([String].self, "services")
        configurationItems = try row.decode([String].self, "cis")
        owner = try row.decode(String?.self, "owner")
        status = SupplierStatus(rawValue: try row.decode(String.self, "status")) ?? .active
        createdAt = try row.decode(Date.self, "created_at")
        updatedAt = try row.decode(Date.self, "updated_at")
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

    static let columns = """
        c.id, s.number AS supplier, c.reference, c.scope, c.starts_on::text AS starts_on, c.ends_on::text AS ends_on, c.notice_days,
        (c.ends_on - c.notice_days)::text AS notice_deadline, c.renewal, c.value::float8 AS value, c.currency, c.documents,
        c.calendar, c.status
        """

    init(row: PostgresRow, targets: [Target]) throws {
        id = try row.decode(UUID.self, "id")
        supplier = try row.decode(String.self, "supplier")
        reference = try row.decode(String.self, "reference")
        scope = try row.decode(String.self, "scope")
        startsOn = try row.decode(String.self, "starts_on")
        endsOn = try row.decode(String.self, "ends_on")
        noticeDays = try row.decode(Int.self, "notice_days")
        noticeDeadline = try row.decode(String.self, "notice_deadline")
        renewal = Renewal(rawValue: try row.decode(String.self, "renewal")) ?? .manual
        value = try row.decode(Double?.self, "value")
        currency = try row.decode(String?.self, "currency")
        documents = try row.decode([String].self, "documents")
        calendar = try row.decode(PostgresJSON.self, "calendar").decode(CalendarDefinition.self)
        status = try row.decode(String.self, "status")
        self.targets = targets
    }
}

public struct SupplierReview: Sendable, Hashable, Codable {
    public var id: Int
    public var heldOn: String
    public var attendees: [String]
    public var findings: String
    public var recordedBy: String
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
}
