import Foundation
import ITSMProtocol

/// Where a problem is in its life (ISO/IEC 20000-1 8.6.3).
public enum ProblemStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Found by recurrence detection; a person accepts (`new`) or rejects (`closed`) it.
    case proposed
    case new
    case underInvestigation = "under_investigation"
    /// Root cause known and a workaround published.
    case knownError = "known_error"
    case resolved
    case closed

    /// The moves a problem may make; anything else is refused.
    public var next: Set<ProblemStatus> {
        switch self {
        case .proposed: [.new, .closed]
        case .new: [.underInvestigation, .closed]
        case .underInvestigation: [.knownError, .resolved, .closed]
        case .knownError: [.resolved, .closed]
        case .resolved: [.closed, .underInvestigation] // reopened when the fix did not hold
        case .closed: []
        }
    }

    /// Still being worked on: detection links new incidents to it, and it counts as open.
    public var isActive: Bool { self != .resolved && self != .closed }
}

/// Impact and urgency, 1 (high) to 3 (low); priority is their sum minus one, 1 to 5.
public enum ProblemPriority {
    public static func priority(impact: Int, urgency: Int) -> Int { impact + urgency - 1 }
}

/// How the root cause was found and what it is.
public struct RootCause: Sendable, Hashable, Codable {
    /// e.g. `5-whys`, `fishbone`, `fault-tree`, `kepner-tregoe`.
    public var method: String?
    public var findings: String?
    /// e.g. `software`, `hardware`, `process`, `people`, `supplier`, `capacity`.
    public var category: String?

    public init(method: String? = nil, findings: String? = nil, category: String? = nil) {
        self.method = method
        self.findings = findings
        self.category = category
    }
}

public struct Problem: Sendable, Hashable, Codable {
    public var id: UUID
    public var number: String
    public var title: String
    public var description: String
    public var services: [String]
    public var configurationItems: [String]
    public var category: String?
    public var impact: Int
    public var urgency: Int
    /// `P1` to `P5`.
    public var priority: String
    public var owner: String?
    public var status: ProblemStatus
    public var major: Bool
    public var rootCause: RootCause
    /// The change that fixes it, e.g. `CHG-000042`.
    public var fix: String?
    public var resolution: String?
    /// For a proposal: the rule that found it (`ci`, `service_category`, `text`).
    public var detectionRule: String?
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date
    public var resolvedAt: Date?
    public var closedAt: Date?

    public init(id: UUID, number: String, title: String, description: String, services: [String], configurationItems: [String],
                category: String? = nil, impact: Int, urgency: Int, priority: String, owner: String? = nil, status: ProblemStatus,
                major: Bool, rootCause: RootCause, fix: String? = nil, resolution: String? = nil, detectionRule: String? = nil,
                createdBy: String, createdAt: Date, updatedAt: Date, resolvedAt: Date? = nil, closedAt: Date? = nil) {
        self.id = id
        self.number = number
        self.title = title
        self.description = description
        self.services = services
        self.configurationItems = configurationItems
        self.category = category
        self.impact = impact
        self.urgency = urgency
        self.priority = priority
        self.owner = owner
        self.status = status
        self.major = major
        self.rootCause = rootCause
        self.fix = fix
        self.resolution = resolution
        self.detectionRule = detectionRule
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.resolvedAt = resolvedAt
        self.closedAt = closedAt
    }
}

/// A published known error: symptoms, root cause and the workaround the service desk applies.
public struct KnownError: Sendable, Hashable, Codable {
    public var number: String
    public var problem: String
    public var title: String
    public var symptoms: String
    public var rootCause: String
    public var workaround: String
    public var services: [String]
    public var configurationItems: [String]
    public var category: String?
    public var publishedBy: String
    public var publishedAt: Date
    /// Relevance to a search, 0 to 1; only `knownerror.search` fills it.
    public var score: Double?

    public init(number: String, problem: String, title: String, symptoms: String, rootCause: String, workaround: String,
                services: [String], configurationItems: [String], category: String? = nil, publishedBy: String, publishedAt: Date,
                score: Double? = nil) {
        self.number = number
        self.problem = problem
        self.title = title
        self.symptoms = symptoms
        self.rootCause = rootCause
        self.workaround = workaround
        self.services = services
        self.configurationItems = configurationItems
        self.category = category
        self.publishedBy = publishedBy
        self.publishedAt = publishedAt
        self.score = score
    }
}

/// An incident linked to a problem, as this process knows it.
public struct LinkedIncident: Sendable, Hashable, Codable {
    public var number: String
    public var title: String
    public var priority: String?
    public var status: String
    public var openedAt: Date
    public var resolvedAt: Date?
    /// `manual` or `detected`.
    public var how: String

    public init(number: String, title: String, priority: String? = nil, status: String, openedAt: Date, resolvedAt: Date? = nil,
                how: String) {
        self.number = number
        self.title = title
        self.priority = priority
        self.status = status
        self.openedAt = openedAt
        self.resolvedAt = resolvedAt
        self.how = how
    }
}

/// What a problem costs the business, from its linked incidents.
public struct BusinessImpact: Sendable, Hashable, Codable {
    public var incidents: Int
    public var open: Int
    public var closed: Int
    /// Linked incidents per priority, e.g. `{"P1": 2, "P3": 5}`.
    public var byPriority: [String: Int]
    /// Time from opening to resolution (or until now, for open ones), summed over incidents.
    public var downtimeHours: Double

    public init(incidents: Int, open: Int, closed: Int, byPriority: [String: Int], downtimeHours: Double) {
        self.incidents = incidents
        self.open = open
        self.closed = closed
        self.byPriority = byPriority
        self.downtimeHours = downtimeHours
    }
}

/// Whether the incidents stopped after a problem was resolved.
public struct Recurrence: Sendable, Hashable, Codable {
    public var since: Date
    /// Incidents of the same cluster opened after the resolution.
    public var incidents: [String]
    public var stopped: Bool

    public init(since: Date, incidents: [String], stopped: Bool) {
        self.since = since
        self.incidents = incidents
        self.stopped = stopped
    }
}
