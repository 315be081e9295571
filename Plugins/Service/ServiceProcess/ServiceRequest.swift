import Foundation
import ITSMCalendar
import ITSMPluginKit
import ITSMPostgres
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
}

public enum RequestStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case awaitingApproval = "awaiting_approval"
    case inFulfilment = "in_fulfilment"
    case fulfilled, rejected, cancelled

    var isOpen: Bool { self == .awaitingApproval || self == .inFulfilment }
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
}

/// The item as a request keeps it: what was approved and how it is measured.
struct ItemSnapshot: Sendable, Hashable, Codable {
    var name: String
    var title: String
    var service: String
    var approvals: [Approver]
    var tasks: [TaskTemplate]
    var targetMinutes: Int
    var calendar: CalendarDefinition
    /// The agreement whose fulfilment time and hours replaced the item's, if any.
    var agreement: String?
}
