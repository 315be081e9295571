import Foundation

/// What Prometheus Alertmanager posts to a webhook receiver (payload version 4).
public struct AlertmanagerNotification: Sendable, Hashable, Codable {
    public struct Alert: Sendable, Hashable, Codable {
        /// firing or resolved.
        public var status: String
        public var labels: [String: String]
        public var annotations: [String: String]?
        public var startsAt: String?
        public var endsAt: String?
        public var generatorURL: String?
        /// Alertmanager's identity of the alert: its labels, hashed.
        public var fingerprint: String?
    }

    public var version: String?
    /// Stable for an alert group: the key its incident is found by.
    public var groupKey: String
    public var truncatedAlerts: Int?
    /// firing while any alert of the group fires; resolved once all have.
    public var status: String
    public var receiver: String?
    public var groupLabels: [String: String]?
    public var commonLabels: [String: String]?
    public var commonAnnotations: [String: String]?
    public var externalURL: String?
    public var alerts: [Alert]
}

public struct AlertIntakeResult: Sendable, Hashable, Codable {
    /// The incident the group is recorded on.
    public var incident: String?
    /// created, updated (new alerts noted), resolved, unchanged, or ignored (a resolution for a group with no open incident).
    public var action: String
    public init(incident: String?, action: String) {
        self.incident = incident
        self.action = action
    }
}

/// A message read from the desk's mailbox and what became of it.
public struct InboundRecord: Sendable, Hashable, Codable {
    public var messageId: String
    public var sender: String
    public var subject: String
    /// created (an incident), commented (a customer comment on the record it names), ignored.
    public var action: String
    public var record: String?
    /// Why it was ignored: an auto-reply, a bounce, our own mail.
    public var reason: String?
    public var receivedAt: Date

    public init(messageId: String, sender: String, subject: String, action: String, record: String?, reason: String?, receivedAt: Date) {
        self.messageId = messageId
        self.sender = sender
        self.subject = subject
        self.action = action
        self.record = record
        self.reason = reason
        self.receivedAt = receivedAt
    }
}

public struct ListInbound: Sendable, Hashable, Codable {
    public var action: String?
    public var limit: Int?
    public init(action: String? = nil, limit: Int? = nil) {
        self.action = action
        self.limit = limit
    }
}

public struct InboundList: Sendable, Hashable, Codable {
    public var items: [InboundRecord]
    public init(items: [InboundRecord]) { self.items = items }
}
