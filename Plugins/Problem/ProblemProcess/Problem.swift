import Foundation
import ITSMPostgres
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

    static let columns = """
        id, number, title, description, services, cis, category, impact, urgency, priority, owner, status, major,
        rca_method, rca_findings, cause_category, fix_change, resolution, detection_rule, created_by, created_at,
        updated_at, resolved_at, closed_at
        """

    init(row: PostgresRow) throws {
        id = try row.decode(UUID.self, "id")
        number = try row.decode(String.self, "number")
        title = try row.decode(String.self, "title")
        description = try row.decode(String.self, "description")
        services = try row.decode([String].self, "services")
        configurationItems = try row.decode([String].self, "cis")
        category = try row.decode(String?.self, "category")
        impact = try row.decode(Int.self, "impact")
        urgency = try row.decode(Int.self, "urgency")
        priority = "P\(try row.decode(Int.self, "priority"))"
        owner = try row.decode(String?.self, "owner")
        let status = try row.decode(String.self, "status")
        guard let known = ProblemStatus(rawValue: status) else { throw ResponseError.internalError("unknown problem status \(status)") }
        self.status = known
        major = try row.decode(Bool.self, "major")
        rootCause = RootCause(method: try row.decode(String?.self, "rca_method"), findings: try row.decode(String?.self, "rca_findings"),
                              category: try row.decode(String?.self, "cause_category"))
        fix = try row.decode(String?.self, "fix_change")
        resolution = try row.decode(String?.self, "resolution")
        detectionRule = try row.decode(String?.self, "detection_rule")
        createdBy = try row.decode(String.self, "created_by")
        createdAt = try row.decode(Date.self, "created_at")
        updatedAt = try row.decode(Date.self, "updated_at")
        resolvedAt = try row.decode(Date?.self, "resolved_at")
        closedAt = try row.decode(Date?.self, "closed_at")
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

    static let columns = """
        k.number, p.number AS problem, k.title, k.symptoms, k.root_cause, k.workaround, k.services, k.cis, k.category,
        k.published_by, k.published_at
        """

    init(row: PostgresRow) throws {
        number = try row.decode(String.self, "number")
        problem = try row.decode(String.self, "problem")
        title = try row.decode(String.self, "title")
        symptoms = try row.decode(String.self, "symptoms")
        rootCause = try row.decode(String.self, "root_cause")
        workaround = try row.decode(String.self, "workaround")
        services = try row.decode([String].self, "services")
        configurationItems = try row.decode([String].self, "cis")
        category = try row.decode(String?.self, "category")
        publishedBy = try row.decode(String.self, "published_by")
        publishedAt = try row.decode(Date.self, "published_at")
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
}

/// Whether the incidents stopped after a problem was resolved.
public struct Recurrence: Sendable, Hashable, Codable {
    public var since: Date
    /// Incidents of the same cluster opened after the resolution.
    public var incidents: [String]
    public var stopped: Bool
}
