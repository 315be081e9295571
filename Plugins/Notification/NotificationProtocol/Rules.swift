import Foundation
import ITSMProtocol

/// A notification rule: an event type, filters on the record it is about, and who hears of it.
public struct Rule: Sendable, Hashable, Codable {
    public var id: Int
    public var name: String
    public var event: String
    public var filters: RuleFilters
    public var recipients: [Recipient]
    /// The rule's own wording; the event's default when absent.
    public var template: RuleTemplate?
    public var enabled: Bool
    /// One of the defaults the process starts with; it can be changed or disabled, not removed.
    public var builtin: Bool
    public var history: [HistoryEntry]?

    public init(id: Int, name: String, event: String, filters: RuleFilters, recipients: [Recipient], template: RuleTemplate? = nil,
                enabled: Bool, builtin: Bool, history: [HistoryEntry]? = nil) {
        self.id = id
        self.name = name
        self.event = event
        self.filters = filters
        self.recipients = recipients
        self.template = template
        self.enabled = enabled
        self.builtin = builtin
        self.history = history
    }
}

/// A rule's own wording, in swift-mustache: `{{record.number}}`, `{{record.title}}`, any member
/// of the record (`{{record.priority}}`, `{{record.assignee}}`), and for SLA events `{{clock}}`
/// and `{{dueAt}}`. The text is plain; the mail's HTML part is the same text, escaped.
public struct RuleTemplate: Sendable, Hashable, Codable {
    public var subject: String?
    public var text: String?
    public init(subject: String? = nil, text: String? = nil) {
        self.subject = subject
        self.text = text
    }
}

/// Each filter set narrows the rule; one not set lets everything through.
public struct RuleFilters: Sendable, Hashable, Codable {
    public var priority: [String]?
    public var service: [String]?
    public var assignmentGroup: [String]?
    /// Only major incidents (true) or only the others (false).
    public var major: Bool?
    /// For SLA events: response or resolution.
    public var clock: [String]?
    /// incident or request.
    public var type: [String]?
    /// The supplier an incident names, or the supplier a supplier event is about (by name or number).
    public var supplier: [String]?

    public init(priority: [String]? = nil, service: [String]? = nil, assignmentGroup: [String]? = nil, major: Bool? = nil,
                clock: [String]? = nil, type: [String]? = nil, supplier: [String]? = nil) {
        self.priority = priority
        self.service = service
        self.assignmentGroup = assignmentGroup
        self.major = major
        self.clock = clock
        self.type = type
        self.supplier = supplier
    }
}

/// Who hears of it: the record's assignee, caller or requester, the approvers of the level a
/// request waits on (a person, a group's members or a role's holders), the members (or leads)
/// of a group (the record's assignment group, or a task's group, when none is named), the
/// holders of a role, all mailed at their account's address; a fixed address; or a webhook
/// named in the configuration.
public struct Recipient: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case assignee, caller, requester, approver, group, groupLeads, role, address, webhook
    }

    public var kind: Kind
    /// The group, role, address or webhook; none for assignee and caller (and, for a group,
    /// the record's assignment group).
    public var value: String?

    public init(kind: Kind, value: String? = nil) {
        self.kind = kind
        self.value = value
    }
}
