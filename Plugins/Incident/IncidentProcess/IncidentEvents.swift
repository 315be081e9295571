import Foundation
import ITSMPluginKit

/// The events the incident process publishes, each with its payload (docs/events.md).
public enum IncidentEvents {
    public static let created = EventType<Incident>("incident.created",
        "A record was created (an incident or a service request).")
    public static let updated = EventType<IncidentChange>("incident.updated",
        "Fields of a record changed.")
    public static let assigned = EventType<IncidentChange>("incident.assigned",
        "A record was assigned to a group or a person.")
    public static let statusChanged = EventType<IncidentChange>("incident.status_changed",
        "A record's status changed; `from` and `to` say how.")
    public static let resolved = EventType<IncidentChange>("incident.resolved",
        "A record was resolved.")
    public static let closed = EventType<IncidentChange>("incident.closed",
        "A record was closed.")
    public static let reopened = EventType<IncidentChange>("incident.reopened",
        "A resolved record was reopened.")
    public static let slaWarning = EventType<ServiceLevelCrossing>("incident.sla_warning",
        "A service level clock passed its warning point.")
    public static let slaBreached = EventType<ServiceLevelCrossing>("incident.sla_breached",
        "A service level clock passed its deadline.")
    public static let majorDeclared = EventType<IncidentChange>("incident.major_declared",
        "A record was declared a major incident.")
    public static let reviewed = EventType<MajorIncidentReviewed>("incident.reviewed",
        "The post-incident review of a major incident was recorded.")
    public static let escalated = EventType<IncidentChange>("incident.escalated",
        "A record was escalated; `kind` says how and `reason` why.")
    public static let linked = EventType<IncidentChange>("incident.linked",
        "A record was linked to a parent, a duplicate, a problem or a known error.")
    public static let imported = EventType<IncidentsImported>("incident.imported",
        "A staged import was committed.")
}

/// A change to a record: the record as it is now, who changed it and what changed.
public struct IncidentChange: Sendable, Hashable, Codable {
    public struct Field: Sendable, Hashable, Codable {
        public var field: String
        public var oldValue: String?
        public var newValue: String?
    }

    public var incident: Incident
    public var actor: String
    public var changes: [Field]
    /// The status before and after (`incident.status_changed`).
    public var from: IncidentStatus?
    public var to: IncidentStatus?
    /// How it was escalated, and why (`incident.escalated`).
    public var kind: EscalateIncident.Kind?
    public var reason: String?
}

/// A service level clock passed its warning point or its deadline.
public struct ServiceLevelCrossing: Sendable, Hashable, Codable {
    public var incident: Incident
    public var clock: ClockKind
    public var targetMinutes: Int
    public var dueAt: Date?
}

public struct MajorIncidentReviewed: Sendable, Hashable, Codable {
    public var number: String
    public var summary: String
}

public struct IncidentsImported: Sendable, Hashable, Codable {
    public var imported: Int
    public var rejected: Int
    public var actor: String
}
