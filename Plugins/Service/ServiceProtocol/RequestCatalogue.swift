import Foundation
import ITSMCalendar
import ITSMProtocol

/// Who decides one approval level: a named person, any member of an assignment group, anyone
/// holding a role, or the requester's manager (the account's `manager`).
public struct Approver: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case user, group, role, manager
    }

    /// What happens when a level waits `timeoutMinutes` without a decision.
    public enum TimeoutRule: String, Sendable, Hashable, Codable, CaseIterable {
        case approve, reject
    }

    public var kind: Kind
    /// The person, group or role; none for the manager.
    public var name: String?
    /// Minutes (wall clock) after which the approvers are reminded, once (`request.approval_reminder`).
    public var remindAfterMinutes: Int?
    /// Minutes after which the level is decided by `onTimeout` (reject unless it says approve).
    public var timeoutMinutes: Int?
    public var onTimeout: TimeoutRule?

    public init(kind: Kind, name: String? = nil, remindAfterMinutes: Int? = nil, timeoutMinutes: Int? = nil, onTimeout: TimeoutRule? = nil) {
        self.kind = kind
        self.name = name
        self.remindAfterMinutes = remindAfterMinutes
        self.timeoutMinutes = timeoutMinutes
        self.onTimeout = onTimeout
    }

    public var description: String { kind == .manager ? "the requester's manager" : "\(kind.rawValue) \(name ?? "")" }
}

/// One fulfilment task of an item. Tasks run in the order listed unless `after` says which
/// tasks each waits for (`[]`: it starts at once, beside the others).
public struct TaskTemplate: Sendable, Hashable, Codable {
    public var name: String
    /// The assignment group that carries it out.
    public var group: String?
    public var after: [String]?

    public init(name: String, group: String? = nil, after: [String]? = nil) {
        self.name = name
        self.group = group
        self.after = after
    }
}

/// An entry of the request catalogue: what can be asked for, and how it is fulfilled.
public struct RequestItem: Sendable, Hashable, Codable {
    public var name: String
    public var service: String
    public var title: String
    public var description: String
    /// The answers' JSON Schema: an object whose properties are the form's fields, each with
    /// its `type`, and optionally `title`, `description` (help), `enum` (options), `default`.
    public var form: JSONValue
    /// The approval levels, in order; empty: no approval.
    public var approvals: [Approver]
    /// The fulfilment tasks, each with the tasks it waits for made explicit.
    public var tasks: [TaskTemplate]
    /// The fulfilment target in business minutes, from the last approval to the last task done.
    public var targetMinutes: Int
    public var calendar: CalendarDefinition
    public var active: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(name: String, service: String, title: String, description: String, form: JSONValue, approvals: [Approver],
                tasks: [TaskTemplate], targetMinutes: Int, calendar: CalendarDefinition, active: Bool, createdAt: Date,
                updatedAt: Date) {
        self.name = name
        self.service = service
        self.title = title
        self.description = description
        self.form = form
        self.approvals = approvals
        self.tasks = tasks
        self.targetMinutes = targetMinutes
        self.calendar = calendar
        self.active = active
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
