import ITSMProtocol

/// The events the supplier process publishes, each with its payload (docs/events.md).
public enum SupplierEvents {
    public static let created = EventType<Supplier>("supplier.created",
        "A supplier was recorded.")
    public static let updated = EventType<Supplier>("supplier.updated",
        "A supplier's fields or status changed.")
    public static let contractAdded = EventType<Contract>("supplier.contract_added",
        "A contract was added to a supplier.")
    public static let contractExpiring = EventType<ContractMilestone>("supplier.contract_expiring",
        "A contract's notice deadline is near (`expiryWarningDays` before it).")
    public static let contractExpired = EventType<ContractMilestone>("supplier.contract_expired",
        "A contract reached its end date.")
    public static let targetMissed = EventType<SupplierTargetMissed>("supplier.target_missed",
        "A hand-off to a supplier was resolved later than its contract's target.")
}

/// A contract reaching its notice deadline or its end.
public struct ContractMilestone: Sendable, Hashable, Codable {
    public var contract: String
    public var supplier: String
    public var name: String
    /// Dates as `YYYY-MM-DD`.
    public var endsOn: String
    public var noticeDeadline: String
    public var daysToNoticeDeadline: Int

    public init(contract: String, supplier: String, name: String, endsOn: String, noticeDeadline: String, daysToNoticeDeadline: Int) {
        self.contract = contract
        self.supplier = supplier
        self.name = name
        self.endsOn = endsOn
        self.noticeDeadline = noticeDeadline
        self.daysToNoticeDeadline = daysToNoticeDeadline
    }
}

public struct SupplierTargetMissed: Sendable, Hashable, Codable {
    public var supplier: String
    public var name: String
    /// The incident's number.
    public var incident: String
    public var priority: String?
    public var contract: String
    public var targetMinutes: Int
    public var actualMinutes: Double

    public init(supplier: String, name: String, incident: String, priority: String? = nil, contract: String, targetMinutes: Int,
                actualMinutes: Double) {
        self.supplier = supplier
        self.name = name
        self.incident = incident
        self.priority = priority
        self.contract = contract
        self.targetMinutes = targetMinutes
        self.actualMinutes = actualMinutes
    }
}
