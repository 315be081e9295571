import Foundation
import ITSMCalendar
import ITSMProtocol

/// The supplier process's methods with their params and results: what it serves, and what the
/// command line and other processes send and read.
public enum SupplierMethods {
    public static let create = MethodType<CreateSupplier, Supplier>("supplier.create")
    public static let get = MethodType<SupplierKey, SupplierDetail>("supplier.get")
    public static let list = MethodType<ListSuppliers, SupplierList>("supplier.list")
    public static let update = MethodType<UpdateSupplier, Supplier>("supplier.update")
    public static let addContract = MethodType<AddContract, Contract>("supplier.add_contract")
    public static let updateContract = MethodType<UpdateContract, Contract>("supplier.update_contract")
    public static let scorecard = MethodType<ScorecardParams, ScorecardReport>("supplier.scorecard")
    public static let recordReview = MethodType<RecordReview, SupplierDetail>("supplier.record_review")
    public static let openDispute = MethodType<OpenDispute, Dispute>("supplier.open_dispute")
    public static let resolveDispute = MethodType<ResolveDispute, Dispute>("supplier.resolve_dispute")
    public static let addAction = MethodType<AddAction, SupplierAction>("supplier.add_action")
    public static let completeAction = MethodType<ActionKey, SupplierAction>("supplier.complete_action")
    public static let stats = MethodType<SupplierStatsParams, SupplierStats>("supplier.stats")
    public static let milestones = MethodType<MilestonesParams, ContractMilestones>("supplier.milestones")
}

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
    public var history: [SupplierHistoryEntry]?

    public init(supplier: Supplier, contracts: [Contract], reviews: [SupplierReview], disputes: [Dispute],
                actions: [SupplierAction], history: [SupplierHistoryEntry]? = nil) {
        self.supplier = supplier
        self.contracts = contracts
        self.reviews = reviews
        self.disputes = disputes
        self.actions = actions
        self.history = history
    }
}

/// One change to a supplier or to one of its contracts: `record` says which (the supplier's
/// number or the contract's reference).
public struct SupplierHistoryEntry: Sendable, Hashable, Codable {
    public var at: Date
    public var actor: String
    public var record: String
    public var field: String
    public var oldValue: String?
    public var newValue: String?

    public init(at: Date, actor: String, record: String, field: String, oldValue: String? = nil, newValue: String? = nil) {
        self.at = at
        self.actor = actor
        self.record = record
        self.field = field
        self.oldValue = oldValue
        self.newValue = newValue
    }
}

public struct SupplierList: Sendable, Hashable, Codable {
    public var items: [Supplier]

    public init(items: [Supplier]) {
        self.items = items
    }
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

    public init(from: Date, to: Date, incidentData: String, note: String? = nil, scorecards: [Scorecard]) {
        self.from = from
        self.to = to
        self.incidentData = incidentData
        self.note = note
        self.scorecards = scorecards
    }
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

    public init(supplier: String, description: String, owner: String, dueOn: String, dispute: Int? = nil) {
        self.supplier = supplier
        self.description = description
        self.owner = owner
        self.dueOn = dueOn
        self.dispute = dispute
    }
}

public struct ActionKey: Sendable, Hashable, Codable {
    public var id: Int
    public init(id: Int) { self.id = id }
}

public struct SupplierStatsParams: Sendable, Hashable, Codable {
    public var from: Date?
    public var to: Date?

    public init(from: Date? = nil, to: Date? = nil) {
        self.from = from
        self.to = to
    }
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

    public init(from: Date, to: Date, activeSuppliers: Int, handoffsResolved: Int, withinTargetPercent: Double? = nil,
                targetsMissed: Int, contractsEndingWithin90Days: Int, openDisputes: Int, overdueActions: Int) {
        self.from = from
        self.to = to
        self.activeSuppliers = activeSuppliers
        self.handoffsResolved = handoffsResolved
        self.withinTargetPercent = withinTargetPercent
        self.targetsMissed = targetsMissed
        self.contractsEndingWithin90Days = contractsEndingWithin90Days
        self.openDisputes = openDisputes
        self.overdueActions = overdueActions
    }
}

/// `supplier.milestones` params: how far ahead to look.
public struct MilestonesParams: Sendable, Hashable, Codable {
    /// 1 to 3650; default 180.
    public var withinDays: Int?

    public init(withinDays: Int? = nil) {
        self.withinDays = withinDays
    }

    public var days: Int { withinDays ?? 180 }

    public func validate() throws {
        guard (1...3650).contains(days) else { throw ResponseError.invalidParams("withinDays: 1 to 3650") }
    }
}

/// Active contracts whose notice deadline falls within the days asked (or has passed while they
/// still run), soonest deadline first: what must be decided, renewed or ended, and by when.
public struct ContractMilestones: Sendable, Hashable, Codable {
    public var items: [ContractMilestone]

    public init(items: [ContractMilestone]) {
        self.items = items
    }
}
