import ITSMProtocol

/// The events the service process publishes, each with its payload (docs/events.md).
public enum ServiceEvents {
    public static let serviceChanged = CatalogueEvents.serviceChanged
    public static let customerChanged = CatalogueEvents.customerChanged
    public static let agreementChanged = CatalogueEvents.agreementChanged
    public static let reviewRecorded = EventType<ServiceReview>("service_review.recorded",
        "A service review with a customer was recorded, with its actions.")
    public static let raised = EventType<ServiceRequest>("request.raised",
        "A request was raised from the catalogue.")
    public static let approvalRequested = EventType<ApprovalRequested>("request.approval_requested",
        "A request waits on an approval level's decision.")
    public static let approvalReminder = EventType<ApprovalRequested>("request.approval_reminder",
        "A level waited its item's remindAfterMinutes without a decision; its approvers are reminded once.")
    public static let approved = EventType<ServiceRequest>("request.approved",
        "A request's last approval level approved it; fulfilment starts.")
    public static let rejected = EventType<ServiceRequest>("request.rejected",
        "An approval level rejected a request.")
    public static let taskReady = EventType<TaskReady>("request.task_ready",
        "A fulfilment task can be carried out: the tasks it waits for are done.")
    public static let fulfilled = EventType<ServiceRequest>("request.fulfilled",
        "A request's last task was done; its fulfilment clock stopped.")
    public static let cancelled = EventType<ServiceRequest>("request.cancelled",
        "A request was withdrawn before it was fulfilled.")
}

public struct ApprovalRequested: Sendable, Hashable, Codable {
    public var number: String
    public var item: String
    public var title: String
    public var requester: String
    public var level: Int
    public var approver: Approver

    public init(number: String, item: String, title: String, requester: String, level: Int, approver: Approver) {
        self.number = number
        self.item = item
        self.title = title
        self.requester = requester
        self.level = level
        self.approver = approver
    }
}

public struct TaskReady: Sendable, Hashable, Codable {
    public var number: String
    public var item: String
    public var title: String
    public var requester: String
    public var task: String
    public var group: String?

    public init(number: String, item: String, title: String, requester: String, task: String, group: String? = nil) {
        self.number = number
        self.item = item
        self.title = title
        self.requester = requester
        self.task = task
        self.group = group
    }
}
