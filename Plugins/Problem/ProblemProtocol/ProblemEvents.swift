import ITSMProtocol

/// The events the problem process publishes, each with its payload (docs/events.md).
public enum ProblemEvents {
    public static let created = EventType<Problem>("problem.created",
        "A problem was recorded.")
    public static let updated = EventType<ProblemChange>("problem.updated",
        "Fields of a problem changed.")
    public static let statusChanged = EventType<ProblemStatusChange>("problem.status_changed",
        "A problem's status changed.")
    public static let resolved = EventType<ProblemChange>("problem.resolved",
        "A problem was resolved.")
    public static let proposed = EventType<ProblemProposed>("problem.proposed",
        "Recurrence detection proposed a problem from a cluster of incidents.")
    public static let majorDeclared = EventType<ProblemMajorDeclared>("problem.major_declared",
        "A problem was declared major.")
    public static let knownErrorPublished = EventType<KnownError>("problem.known_error_published",
        "A problem's known error (symptoms and workaround) was published or republished.")
    public static let incidentLinked = EventType<ProblemIncidentLink>("problem.incident_linked",
        "An incident was linked to a problem.")
    public static let incidentUnlinked = EventType<ProblemIncidentLink>("problem.incident_unlinked",
        "An incident was unlinked from a problem.")
}

/// A problem as it is after a change, and who made it.
public struct ProblemChange: Sendable, Hashable, Codable {
    public var problem: Problem
    public var actor: String

    public init(problem: Problem, actor: String) {
        self.problem = problem
        self.actor = actor
    }
}

public struct ProblemStatusChange: Sendable, Hashable, Codable {
    public var problem: Problem
    public var from: ProblemStatus
    public var to: ProblemStatus
    /// Why, when the transition was given a note.
    public var note: String?
    public var actor: String

    public init(problem: Problem, from: ProblemStatus, to: ProblemStatus, note: String? = nil, actor: String) {
        self.problem = problem
        self.from = from
        self.to = to
        self.note = note
        self.actor = actor
    }
}

public struct ProblemProposed: Sendable, Hashable, Codable {
    public var problem: Problem
    /// The detection rule that matched: `ci`, `service_category` or `text`.
    public var rule: String
    /// The incidents' numbers.
    public var incidents: [String]

    public init(problem: Problem, rule: String, incidents: [String]) {
        self.problem = problem
        self.rule = rule
        self.incidents = incidents
    }
}

public struct ProblemMajorDeclared: Sendable, Hashable, Codable {
    public var problem: Problem
    public var reason: String

    public init(problem: Problem, reason: String) {
        self.problem = problem
        self.reason = reason
    }
}

/// A problem's and an incident's numbers.
public struct ProblemIncidentLink: Sendable, Hashable, Codable {
    public var problem: String
    public var incident: String

    public init(problem: String, incident: String) {
        self.problem = problem
        self.incident = incident
    }
}
