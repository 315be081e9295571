import Foundation
import ITSMProtocol

/// A notification as recorded: to whom, what, when, how it went.
public struct Delivery: Sendable, Hashable, Codable {
    public var id: UUID
    public var event: String
    public var eventId: UUID
    /// The record it is about (`INC-000042`), when the event names one.
    public var subject: String?
    public var rule: String
    public var channel: String
    public var recipient: String
    public var content: RenderedNotification
    /// pending, sending, sent, failed (given up after the attempts the configuration allows, or
    /// refused for good), skipped (no way to reach the recipient).
    public var status: String
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastError: String?
    public var createdAt: Date
    public var sentAt: Date?

    public init(id: UUID, event: String, eventId: UUID, subject: String?, rule: String, channel: String, recipient: String,
                content: RenderedNotification, status: String, attempts: Int, nextAttemptAt: Date?, lastError: String?, createdAt: Date,
                sentAt: Date?) {
        self.id = id
        self.event = event
        self.eventId = eventId
        self.subject = subject
        self.rule = rule
        self.channel = channel
        self.recipient = recipient
        self.content = content
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.createdAt = createdAt
        self.sentAt = sentAt
    }
}


/// What a notification says, rendered with swift-mustache from the event: a subject, plain
/// text, and HTML for mail. The default wording per event type is below; the text part is
/// rendered as text, the HTML part escapes what it shows.
public struct RenderedNotification: Sendable, Hashable, Codable {
    public var subject: String
    public var text: String
    public var html: String

    public init(subject: String, text: String, html: String) {
        self.subject = subject
        self.text = text
        self.html = html
    }
}

/// `notification.list` params.
public struct ListDeliveries: Sendable, Hashable, Codable {
    public var status: String?
    public var recipient: String?
    /// The record they are about, e.g. INC-000042.
    public var subject: String?
    public var event: String?
    public var limit: Int?
    /// Skip this many (costs as many rows as it skips; prefer `after`).
    public var offset: Int?
    /// The `nextCursor` of the page before.
    public var after: String?
    public var createdFrom: Date?
    public var createdTo: Date?
    public var updatedFrom: Date?
    public var updatedTo: Date?
    public init(status: String? = nil, recipient: String? = nil, subject: String? = nil) {
        self.status = status
        self.recipient = recipient
        self.subject = subject
    }
}

public struct DeliveryList: Sendable, Hashable, Codable {
    public var items: [Delivery]
    /// Exact up to `exactTotalLimit`; beyond it PostgreSQL's estimate, and `totalIsEstimate` says so.
    public var total: Int
    public var totalIsEstimate: Bool?
    /// Pass as `after` for the next page; absent on the last.
    public var nextCursor: String?

    public static let exactTotalLimit = 1_000

    public init(items: [Delivery], total: Int, totalIsEstimate: Bool? = nil, nextCursor: String? = nil) {
        self.items = items
        self.total = total
        self.totalIsEstimate = totalIsEstimate
        self.nextCursor = nextCursor
    }
}

public struct DeliveryKey: Sendable, Hashable, Codable {
    public var id: UUID
    public init(id: UUID) { self.id = id }
}

public struct SetRule: Sendable, Hashable, Codable {
    public var name: String
    public var event: String
    public var filters: RuleFilters?
    public var recipients: [Recipient]
    public var template: RuleTemplate?
    public var enabled: Bool?
    public init(name: String, event: String, filters: RuleFilters? = nil, recipients: [Recipient], template: RuleTemplate? = nil,
                enabled: Bool? = nil) {
        self.name = name
        self.event = event
        self.filters = filters
        self.recipients = recipients
        self.template = template
        self.enabled = enabled
    }
}

public struct RuleKey: Sendable, Hashable, Codable {
    public var name: String
    public init(name: String) { self.name = name }
}

public struct RuleList: Sendable, Hashable, Codable {
    public var items: [Rule]
    public init(items: [Rule]) { self.items = items }
}

