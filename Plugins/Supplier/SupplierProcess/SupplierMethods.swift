import Foundation
import ITSMPluginKit
import ITSMCalendar

/// `supplier.create` params.
public struct CreateSupplier: Sendable, Hashable, Codable {
    public var name: String
    public var kind: SupplierKind
    public var contacts: [Contact]?
    public var services: [String]?
    public var configurationItems: [String]?
    public var owner: String?
    public init(name: String, kind: SupplierKind, contacts: [Contact]? = nil, services: [String]? = nil,
                configurationItems: [String]? = nil, owner: String? = nil) {
        self.name = name
        self.kind = kind
        self.contacts = contacts
        self.services = services
        self.configurationItems = configurationItems
        self.owner = owner
    }
}

/// A supplier by number (`SUP-000001`) or name.
public struct SupplierKey: Sendable, Hashable, Codable {
    public var supplier: String
    public var history: Bool?
    public init(supplier: String, history: Bool? = nil) {
        self.supplier = supplier
        self.history = history
    }
}

public struct UpdateSupplier: Sendable, Hashable, Codable {
    public var supplier: String
    public var name: String?
    public var kind: SupplierKind?
    public var contacts: [Contact]?
    public var services: [String]?
    public var configurationItems: [String]?
    public var owner: String?
    public var status: SupplierStatus?
    public init(supplier: String, name: String? = nil, kind: SupplierKind? = nil, contacts: [Contact]? = nil, services: [String]? = nil,
                configurationItems: [String]? = nil, owner: String? = nil, status: SupplierStatus? = nil) {
        self.supplier = supplier
        self.name = name
        self.kind = kind
        self.contacts = contacts
        self.services = services
        self.configurationItems = configurationItems
        self.owner = owner
        self.status = status
    }
}

public struct ListSuppliers: Sendable, Hashable, Codable {
    public var status: SupplierStatus?
    public var kind: SupplierKind?
    /// Periods, each `[from, to)`: when suppliers were recorded, last changed.
    public var createdFrom: Date?
    public var createdTo: Date?
    public var updatedFrom: Date?
    public var updatedTo: Date?
    public init(status: SupplierStatus? = nil, kind: SupplierKind? = nil) {
        self.status = status
        self.kind = kind
    }
}

/// `supplier.add_contract` params.
public struct AddContract: Sendable, Hashable, Codable {
    public var supplier: String
    public var reference: String
    public var scope: String?
    public var startsOn: String
    public var endsOn: String
    public var noticeDays: Int?
    public var renewal: Renewal?
    public var value: Double?
    public var currency: String?
    public var documents: [String]?
    /// The supplier's support hours for business-time targets; default from the process's config.
    public var calendar: CalendarDefinition?
    public var targets: [Target]?
    public init(supplier: String, reference: String, scope: String? = nil, startsOn: String, endsOn: String, noticeDays: Int? = nil,
                renewal: Renewal? = nil, value: Double? = nil, currency: String? = nil, documents: [String]? = nil,
                calendar: CalendarDefinition? = nil, targets: [Target]? = nil) {
        self.supplier = supplier
        self.reference = reference
        self.scope = scope
        self.startsOn = startsOn
        self.endsOn = endsOn
        self.noticeDays = noticeDays
        self.renewal = renewal
        self.value = value
        self.currency = currency
        self.documents = documents
        self.calendar = calendar
        self.targets = targets
    }
}

/// `supplier.update_contract` params: a renewal moves `endsOn`, which brings new milestones.
public struct UpdateContract: Sendable, Hashable, Codable {
    public var reference: String
    public var endsOn: String?
    public var noticeDays: Int?
    public var renewal: Renewal?
    public var value: Double?
    public var documents: [String]?
    /// `active` or `terminated`.
    public var status: String?
    public init(reference: String, endsOn: String? = nil, noticeDays: Int? = nil, renewal: Renewal? = nil, value: Double? = nil,
                documents: [String]? = nil, status: String? = nil) {
        self.reference = reference
        self.endsOn = endsOn
        self.noticeDays = noticeDays
        self.renewal = renewal
        self.value = value
        self.documents = documents
        self.status = status
    }
}

public struct SupplierDetail: Sendable, Hashable, Codable {
    public var supplier: Supplier
    public var contracts: [Contract]
    public var reviews: [SupplierReview]
    public var disputes: [Dispute]
    public var actions: [SupplierAction]
    public var history: [HistoryEntry]?
}

public struct HistoryEntry: Sendable, Hashable, Codable {
    public var at: Date
    public var actor: String
    public var record: String
    public var field: String
    public var oldValue: String?
    public var newValue: String?
}

public struct SupplierList: Sendable, Hashable, Codable {
    public var items: [Supplier]
}

/// `supplier.scorecard` params.
public struct ScorecardParams: Sendable, Hashable, Codable {
    public var supplier: String?
    public var from: Date?
    public var to: Date?
    public init(supplier: String? = nil, from: Date? = nil, to: Date? = nil) {
        self.supplier = supplier
        self.from = from
        self.to = to
    }
}

public struct ScorecardReport: Sendable, Hashable, Codable {
    public var from: Date
    public var to: Date
    /// Whether incident data could be had; when not, says why instead of showing zeros.
    public var incidentData: String
    public var note: String?
    public var scorecards: [Scorecard]
}

public struct RecordReview: Sendable, Hashable, Codable {
    public typealias ActionItem = ActionToTake

    public var supplier: String
    public var heldOn: String
    public var attendees: [String]
    public var findings: String
    public var actions: [ActionItem]?
    public init(supplier: String, heldOn: String, attendees: [String], findings: String, actions: [ActionItem]? = nil) {
        self.supplier = supplier
        self.heldOn = heldOn
        self.attendees = attendees
        self.findings = findings
        self.actions = actions
    }
}

public struct OpenDispute: Sendable, Hashable, Codable {
    public var supplier: String
    public var contract: String?
    public var subject: String
    public var description: String?
    public var amount: Double?
    public var currency: String?
    public init(supplier: String, contract: String? = nil, subject: String, description: String? = nil, amount: Double? = nil,
                currency: String? = nil) {
        self.supplier = supplier
        self.contract = contract
        self.subject = subject
        self.description = description
        self.amount = amount
        self.currency = currency
    }
}

public struct ResolveDispute: Sendable, Hashable, Codable {
    public var id: Int
    public var resolution: String
    public init(id: Int, resolution: String) {
        self.id = id
        self.resolution = resolution
    }
}

public struct AddAction: Sendable, Hashable, Codable {
    public var supplier: String
    public var description: String
    public var owner: String
    public var dueOn: String
    public var dispute: Int?
}

public struct ActionKey: Sendable, Hashable, Codable {
    public var id: Int
    public init(id: Int) { self.id = id }
}

public struct SupplierStatsParams: Sendable, Hashable, Codable {
    public var from: Date?
    public var to: Date?
}

/// Figures for the improvement process and management reviews.
public struct SupplierStats: Sendable, Hashable, Codable {
    public var from: Date
    public var to: Date
    public var activeSuppliers: Int
    public var handoffsResolved: Int
    public var withinTargetPercent: Double?
    public var targetsMissed: Int
    public var contractsEndingWithin90Days: Int
    public var openDisputes: Int
    public var overdueActions: Int
}
