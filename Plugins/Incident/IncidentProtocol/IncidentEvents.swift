import Foundation
import ITSMProtocol

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

        public init(field: String, oldValue: String? = nil, newValue: String? = nil) {
            self.field = field
            self.oldValue = oldValue
            self.newValue = newValue
        }
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

    public init(incident: Incident, actor: String, changes: [Field], from: IncidentStatus? = nil, to: IncidentStatus? = nil,
                kind: EscalateIncident.Kind? = nil, reason: String? = nil) {
        self.incident = incident
        self.actor = actor
        self.changes = changes
        self.from = from
        self.to = to
        self.kind = kind
        self.reason = reason
    }
}

/// A service level clock passed its warning point or its deadline.
public struct ServiceLevelCrossing: Sendable, Hashable, Codable {
    public var incident: Incident
    public var clock: ClockKind
    public var targetMinutes: Int
    public var dueAt: Date?

    public init(incident: Incident, clock: ClockKind, targetMinutes: Int, dueAt: Date? = nil) {
        self.incident = incident
        self.clock = clock
        self.targetMinutes = targetMinutes
        self.dueAt = dueAt
    }
}

public struct MajorIncidentReviewed: Sendable, Hashable, Codable {
    public var number: String
    public var summary: String

    public init(number: String, summary: String) {
        self.number = number
        self.summary = summary
    }
}

public struct IncidentsImported: Sendable, Hashable, Codable {
    public var imported: Int
    public var rejected: Int
    public var actor: String

    public init(imported: Int, rejected: Int, actor: String) {
        self.imported = imported
        self.rejected = rejected
        self.actor = actor
    }
}

extension IncidentEvents {
    /// The events that carry the record as it now is: the record itself (`incident.created`),
    /// or `incident` in the payload (the others). A process keeping its own copy of incidents
    /// subscribes to these and reads them with `record(from:)`.
    public static let carryingTheRecord: [String] = [created.name] + [
        updated, assigned, statusChanged, resolved, closed, reopened, majorDeclared, escalated, linked,
    ].map(\.name)

    /// The record an event of `carryingTheRecord` carries; a `DecodingError` naming the member
    /// when the payload is not what this contract says.
    public static func record(from event: EventParams) throws -> Incident {
        event.type == created.name ? try created.decode(event.data) : try event.data.decode(Carrying.self).incident
    }

    private struct Carrying: Decodable {
        var incident: Incident
    }
}
