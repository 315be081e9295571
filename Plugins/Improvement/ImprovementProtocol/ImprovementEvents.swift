import ITSMProtocol

/// The events the continual improvement process publishes, each with its payload (docs/events.md).
public enum ImprovementEvents {
    public static let proposed = EventType<Opportunity>("improvement.proposed",
        "An improvement opportunity was proposed, by hand or from other processes' events.")
    public static let statusChanged = EventType<OpportunityStatusChange>("improvement.status_changed",
        "An opportunity's status changed.")
    public static let nonconformityRaised = EventType<Nonconformity>("nonconformity.raised",
        "A nonconformity was raised.")
}

public struct OpportunityStatusChange: Sendable, Hashable, Codable {
    public var opportunity: Opportunity
    public var from: OpportunityStatus
    public var to: OpportunityStatus

    public init(opportunity: Opportunity, from: OpportunityStatus, to: OpportunityStatus) {
        self.opportunity = opportunity
        self.from = from
        self.to = to
    }
}
