import Foundation
import ITSMCalendar
import ITSMProtocol

/// A request raised from the catalogue, with where it stands: each approval level, each task,
/// and its fulfilment clock.
public struct ServiceRequest: Sendable, Hashable, Codable {
    public var number: String
    public var item: String
    public var title: String
    public var service: String
    public var requester: String
    public var answers: JSONValue
    public var status: RequestStatus
    public var approvals: [ApprovalStep]
    public var tasks: [RequestTask]
    public var clock: FulfilmentClock
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date
    public var history: [HistoryEntry]?

    public init(number: String, item: String, title: String, service: String, requester: String, answers: JSONValue,
                status: RequestStatus, approvals: [ApprovalStep], tasks: [RequestTask], clock: FulfilmentClock, createdBy: String,
                createdAt: Date, updatedAt: Date, history: [HistoryEntry]? = nil) {
        self.number = number
        self.item = item
        self.title = title
        self.service = service
        self.requester = requester
        self.answers = answers
        self.status = status
        self.approvals = approvals
        self.tasks = tasks
        self.clock = clock
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.history = history
    }
}

public enum RequestStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case awaitingApproval = "awaiting_approval"
    case inFulfilment = "in_fulfilment"
    case fulfilled, rejected, cancelled

    public var isOpen: Bool { self == .awaitingApproval || self == .inFulfilment }
}

/// One approval level: who decides, and what they decided.
public struct ApprovalStep: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable, CaseIterable {
        /// A level after the one that is open.
        case waiting
        /// The level the request waits on now.
        case pending
        case approved, rejected
        /// Not needed: the request ended before this level.
        case skipped
    }

    public var level: Int
    public var approver: Approver
    public var state: State
    public var decidedBy: String?
    public var comment: String?
    public var decidedAt: Date?

    public init(level: Int, approver: Approver, state: State, decidedBy: String? = nil, comment: String? = nil,
                decidedAt: Date? = nil) {
        self.level = level
        self.approver = approver
        self.state = state
        self.decidedBy = decidedBy
        self.comment = comment
        self.decidedAt = decidedAt
    }
}

public struct RequestTask: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable, CaseIterable {
        case waiting, ready, done, cancelled
    }

    public var name: String
    public var group: String?
    public var after: [String]
    public var state: State
    public var assignee: String?
    public var readyAt: Date?
    public var doneAt: Date?
    public var doneBy: String?
    public var notes: String

    public init(name: String, group: String? = nil, after: [String], state: State, assignee: String? = nil, readyAt: Date? = nil,
                doneAt: Date? = nil, doneBy: String? = nil, notes: String) {
        self.name = name
        self.group = group
        self.after = after
        self.state = state
        self.assignee = assignee
        self.readyAt = readyAt
        self.doneAt = doneAt
        self.doneBy = doneBy
        self.notes = notes
    }
}

/// The fulfilment clock: it starts when the last approval is given (at once without
/// approvals), runs in the item's business hours, and stops when the last task is done.
public struct FulfilmentClock: Sendable, Hashable, Codable {
    public var targetMinutes: Int
    /// The customer's agreement the target comes from; nil: the item's own.
    public var agreement: String?
    public var startedAt: Date?
    public var dueAt: Date?
    public var endedAt: Date?
    /// Business minutes from start to end, once ended.
    public var businessMinutes: Double?
    /// Whether it ended within the target; nil while it runs.
    public var met: Bool?

    public init(targetMinutes: Int, agreement: String? = nil, startedAt: Date? = nil, dueAt: Date? = nil, endedAt: Date? = nil,
                businessMinutes: Double? = nil, met: Bool? = nil) {
        self.targetMinutes = targetMinutes
        self.agreement = agreement
        self.startedAt = startedAt
        self.dueAt = dueAt
        self.endedAt = endedAt
        self.businessMinutes = businessMinutes
        self.met = met
    }
}
