import Foundation
import ITSMProtocol

/// The incident process's methods with their params and results: what it serves, and what
/// another process calling it sends and reads.
public enum IncidentMethods {
    public static let create = MethodType<CreateIncident, Incident>("incident.create")
    public static let get = MethodType<GetIncident, IncidentDetail>("incident.get")
    public static let list = MethodType<ListIncidents, IncidentPage>("incident.list")
    public static let update = MethodType<UpdateIncident, Incident>("incident.update")
    public static let assign = MethodType<AssignIncident, Incident>("incident.assign")
    public static let transition = MethodType<TransitionIncident, Incident>("incident.transition")
    public static let comment = MethodType<CommentOnIncident, Comment>("incident.comment")
    public static let declareMajor = MethodType<DeclareMajor, Incident>("incident.declare_major")
    public static let review = MethodType<ReviewIncident, Review>("incident.review")
    public static let escalate = MethodType<EscalateIncident, Incident>("incident.escalate")
    public static let link = MethodType<LinkIncident, Incident>("incident.link")
    public static let search = MethodType<SearchIncidents, [SearchHit]>("incident.search")
    public static let stats = MethodType<IncidentStatsParams, IncidentStats>("incident.stats")
    public static let serviceLevels = MethodType<NoParams, [ServiceLevelDefinition]>("incident.sla.list")
    public static let defineServiceLevel = MethodType<ServiceLevelDefinition, ServiceLevelDefinition>("incident.sla.define")
    public static let priorityMatrix = MethodType<NoParams, [PriorityCell]>("incident.priority_matrix")
    public static let serviceNames = MethodType<NoParams, [ServiceName]>("incident.service_names")
    public static let customerFigures = MethodType<CustomerFiguresParams, CustomerFigures>("incident.customer_figures")
    public static let beginImport = MethodType<BeginImport, ImportReport>("incident.import.begin")
    public static let stageImportRows = MethodType<StageImportRows, ImportReport>("incident.import.rows")
    public static let commitImport = MethodType<CommitImport, ImportReport>("incident.import.commit")
}

/// `incident.create` params.
public struct CreateIncident: Sendable, Hashable, Codable {
    public var type: RecordType?
    public var title: String
    public var description: String?
    public var caller: String?
    public var service: String?
    public var configurationItem: String?
    public var category: String?
    public var subcategory: String?
    public var impact: Level?
    public var urgency: Level?
    public var assignmentGroup: String?
    public var assignee: String?

    public init(title: String, type: RecordType? = nil, impact: Level? = nil, urgency: Level? = nil) {
        self.title = title
        self.type = type
        self.impact = impact
        self.urgency = urgency
    }

    /// Checks what the types alone cannot; throws `invalidParams` naming the field.
    public func validate() throws {
        _ = try Incident.validatedTitle(title)
        let optionalFields: [(String, String?)] = [
            ("caller", caller), ("service", service), ("configurationItem", configurationItem), ("category", category),
            ("subcategory", subcategory), ("assignmentGroup", assignmentGroup), ("assignee", assignee),
        ]
        for (name, value) in optionalFields { try Incident.checkShortText(name, value) }
        guard (description?.count ?? 0) <= 100_000 else {
            throw ResponseError.invalidParams("description: at most 100000 characters")
        }
    }
}

/// `incident.get` params: the id or the number.
public struct GetIncident: Sendable, Hashable, Codable {
    public var id: UUID?
    public var number: String?
    /// Include the change history.
    public var history: Bool?
    /// Include work notes and customer comments.
    public var comments: Bool?

    public init(id: UUID? = nil, number: String? = nil, history: Bool? = nil, comments: Bool? = nil) {
        self.id = id
        self.number = number
        self.history = history
        self.comments = comments
    }
}

/// `incident.get` result.
public struct IncidentDetail: Sendable, Hashable, Codable {
    public var incident: Incident
    public var history: [HistoryEntry]?
    public var comments: [Comment]?
    /// The response and resolution clocks, when a service level applies.
    public var serviceLevels: [ServiceLevelClock]
    /// For a major incident: the records grouped under it, and its review.
    public var children: [String]?
    public var review: Review?
    /// The workaround of the known error attached to it, from the problem process.
    public var workaround: Workaround?

    public init(incident: Incident, history: [HistoryEntry]? = nil, comments: [Comment]? = nil,
                serviceLevels: [ServiceLevelClock], children: [String]? = nil, review: Review? = nil,
                workaround: Workaround? = nil) {
        self.incident = incident
        self.history = history
        self.comments = comments
        self.serviceLevels = serviceLevels
        self.children = children
        self.review = review
        self.workaround = workaround
    }
}

/// `incident.list` params: filters, newest first. Pages follow `after` (the previous page's
/// `nextCursor`), which costs the same at any depth; `offset` is kept for existing clients and
/// costs as many rows as it skips.
public struct ListIncidents: Sendable, Hashable, Codable {
    public var status: IncidentStatus?
    public var priority: Priority?
    public var assignee: String?
    public var assignmentGroup: String?
    /// Only the records of this customer (`Incident.customer`).
    public var customer: String?
    public var service: String?
    public var type: RecordType?
    public var category: String?
    public var configurationItem: String?
    public var major: Bool?
    /// Only records with (true) or without (false) a breached service level.
    public var breached: Bool?
    /// Only records with (true) or without (false) a service level at risk: its warning raised,
    /// its clock running, not breached.
    public var atRisk: Bool?
    /// Only open records (new, assigned, in progress, on hold) or, false, only the others.
    public var open: Bool?
    /// Only records nobody is assigned to (true), or only those someone is (false).
    public var unassigned: Bool?
    /// Periods, each `[from, to)`: when records were created, last changed, resolved, closed.
    public var createdFrom: Date?
    public var createdTo: Date?
    public var updatedFrom: Date?
    public var updatedTo: Date?
    public var resolvedFrom: Date?
    public var resolvedTo: Date?
    public var closedFrom: Date?
    public var closedTo: Date?
    /// `created` (default), `updated`, `priority` or `number`.
    public var sort: Sort?
    /// `desc` (default) or `asc`.
    public var order: Order?
    public var limit: Int?
    public var offset: Int?
    /// The previous page's `nextCursor`: the page after it, in the same sort and order.
    public var after: String?

    public enum Sort: String, Sendable, Hashable, Codable, CaseIterable {
        case created, updated, priority, number
    }

    public enum Order: String, Sendable, Hashable, Codable, CaseIterable {
        case asc, desc
    }

    public static let maximumLimit = 500

    public init(status: IncidentStatus? = nil, priority: Priority? = nil, assignee: String? = nil, assignmentGroup: String? = nil,
                service: String? = nil, type: RecordType? = nil, limit: Int? = nil, offset: Int? = nil) {
        self.status = status
        self.priority = priority
        self.assignee = assignee
        self.assignmentGroup = assignmentGroup
        self.service = service
        self.type = type
        self.limit = limit
        self.offset = offset
    }
}

/// `incident.list` result.
public struct IncidentPage: Sendable, Hashable, Codable {
    public var items: [Incident]
    /// The records that match: counted exactly up to `exactTotalLimit`, estimated beyond it.
    public var total: Int
    /// True when `total` is PostgreSQL's estimate: more than `exactTotalLimit` records match.
    public var totalIsEstimate: Bool?
    /// Pass as `after` for the next page; absent on the last page.
    public var nextCursor: String?
    /// Pass as `offset` for the next page (when this page was asked for by offset); absent on the last page.
    public var nextOffset: Int?

    /// Counting stops here, so a page costs the same whatever the size of the history.
    public static let exactTotalLimit = 1_000

    public init(items: [Incident], total: Int, totalIsEstimate: Bool? = nil, nextCursor: String? = nil, nextOffset: Int? = nil) {
        self.items = items
        self.total = total
        self.totalIsEstimate = totalIsEstimate
        self.nextCursor = nextCursor
        self.nextOffset = nextOffset
    }
}

/// `incident.update` params: the record (`id` or `number`) and the fields to change. An empty
/// string clears an optional text field. Changing impact or urgency recomputes the priority.
public struct UpdateIncident: Sendable, Hashable, Codable {
    public var id: UUID?
    public var number: String?
    public var title: String?
    public var description: String?
    public var caller: String?
    public var service: String?
    public var configurationItem: String?
    public var category: String?
    public var subcategory: String?
    public var impact: Level?
    public var urgency: Level?
    public var supplier: String?

    public init(id: UUID? = nil, number: String? = nil) {
        self.id = id
        self.number = number
    }
}

/// `incident.assign` params: a group, an assignee, or both. A new record becomes `assigned`.
public struct AssignIncident: Sendable, Hashable, Codable {
    public var id: UUID?
    public var number: String?
    public var assignmentGroup: String?
    public var assignee: String?

    public init(id: UUID? = nil, number: String? = nil, assignmentGroup: String? = nil, assignee: String? = nil) {
        self.id = id
        self.number = number
        self.assignmentGroup = assignmentGroup
        self.assignee = assignee
    }
}

/// `incident.transition` params: the target status and what it needs.
public struct TransitionIncident: Sendable, Hashable, Codable {
    public var id: UUID?
    public var number: String?
    public var to: IncidentStatus
    public var holdReason: HoldReason?
    public var resolutionCode: String?
    public var resolutionNotes: String?

    public init(id: UUID? = nil, number: String? = nil, to: IncidentStatus, holdReason: HoldReason? = nil,
                resolutionCode: String? = nil, resolutionNotes: String? = nil) {
        self.id = id
        self.number = number
        self.to = to
        self.holdReason = holdReason
        self.resolutionCode = resolutionCode
        self.resolutionNotes = resolutionNotes
    }
}

/// `incident.comment` params.
public struct CommentOnIncident: Sendable, Hashable, Codable {
    public var id: UUID?
    public var number: String?
    public var body: String
    /// `work_note` (default) for the desk, `customer` for the caller.
    public var visibility: Comment.Visibility?

    public init(id: UUID? = nil, number: String? = nil, body: String, visibility: Comment.Visibility? = nil) {
        self.id = id
        self.number = number
        self.body = body
        self.visibility = visibility
    }
}

/// `incident.declare_major` params.
public struct DeclareMajor: Sendable, Hashable, Codable {
    public var id: UUID?
    public var number: String?
    /// Why: what makes it major (scope, impact on the business).
    public var reason: String

    public init(id: UUID? = nil, number: String? = nil, reason: String) {
        self.id = id
        self.number = number
        self.reason = reason
    }
}

/// `incident.review` params: the post-incident review of a resolved major incident.
public struct ReviewIncident: Sendable, Hashable, Codable {
    public var id: UUID?
    public var number: String?
    public var summary: String
    public var rootCause: String?
    public var actions: [String]?
    public var lessonsLearned: String?

    public init(id: UUID? = nil, number: String? = nil, summary: String, rootCause: String? = nil,
                actions: [String]? = nil, lessonsLearned: String? = nil) {
        self.id = id
        self.number = number
        self.summary = summary
        self.rootCause = rootCause
        self.actions = actions
        self.lessonsLearned = lessonsLearned
    }
}

/// A post-incident review.
public struct Review: Sendable, Hashable, Codable {
    public var summary: String
    public var rootCause: String?
    public var actions: [String]
    public var lessonsLearned: String?
    public var reviewedBy: String
    public var reviewedAt: Date

    public init(summary: String, rootCause: String? = nil, actions: [String], lessonsLearned: String? = nil, reviewedBy: String,
                reviewedAt: Date) {
        self.summary = summary
        self.rootCause = rootCause
        self.actions = actions
        self.lessonsLearned = lessonsLearned
        self.reviewedBy = reviewedBy
        self.reviewedAt = reviewedAt
    }
}

/// `incident.escalate` params.
public struct EscalateIncident: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// To a group with more skill: the record is reassigned to `toGroup`.
        case functional
        /// Up the management line: the level rises and `incident.escalated` tells whoever notifies managers.
        case hierarchical
    }

    public var id: UUID?
    public var number: String?
    public var kind: Kind
    public var toGroup: String?
    public var reason: String?

    public init(id: UUID? = nil, number: String? = nil, kind: Kind, toGroup: String? = nil, reason: String? = nil) {
        self.id = id
        self.number = number
        self.kind = kind
        self.toGroup = toGroup
        self.reason = reason
    }
}

/// `incident.link` params: relations to set; `""` removes one. Records are given by number or id.
public struct LinkIncident: Sendable, Hashable, Codable {
    public var id: UUID?
    public var number: String?
    /// The major incident to group this one under.
    public var parent: String?
    public var duplicateOf: String?
    /// A problem record, e.g. `PRB-000012`.
    public var problem: String?
    public var knownError: String?

    public init(id: UUID? = nil, number: String? = nil, parent: String? = nil, duplicateOf: String? = nil,
                problem: String? = nil, knownError: String? = nil) {
        self.id = id
        self.number = number
        self.parent = parent
        self.duplicateOf = duplicateOf
        self.problem = problem
        self.knownError = knownError
    }
}

/// `incident.search` params: words as people type them (`"mail relay" -smtp`, `vpn or wifi`).
public struct SearchIncidents: Sendable, Hashable, Codable {
    public var query: String
    /// Only open records.
    public var open: Bool?
    public var limit: Int?

    public init(query: String, open: Bool? = nil, limit: Int? = nil) {
        self.query = query
        self.open = open
        self.limit = limit
    }
}

/// One search hit: the record, its relevance, and where the words were found.
public struct SearchHit: Sendable, Hashable, Codable {
    public var incident: Incident
    public var rank: Double
    public var snippet: String

    public init(incident: Incident, rank: Double, snippet: String) {
        self.incident = incident
        self.rank = rank
        self.snippet = snippet
    }
}

/// `incident.stats` params: a period, default the last 30 days.
public struct IncidentStatsParams: Sendable, Hashable, Codable {
    public var from: Date?
    public var to: Date?

    public init(from: Date? = nil, to: Date? = nil) {
        self.from = from
        self.to = to
    }
}

/// Figures for dashboards and reviews.
public struct IncidentStats: Sendable, Hashable, Codable {
    public struct PriorityFigures: Sendable, Hashable, Codable {
        public var resolved: Int
        /// Mean time to resolve, wall-clock minutes from creation to resolution.
        public var meanMinutesToResolve: Double?
        /// Resolution clocks that stopped in the period, and how many met their target.
        public var measured: Int
        public var withinTarget: Int

        public init(resolved: Int, meanMinutesToResolve: Double? = nil, measured: Int, withinTarget: Int) {
            self.resolved = resolved
            self.meanMinutesToResolve = meanMinutesToResolve
            self.measured = measured
            self.withinTarget = withinTarget
        }
    }

    public var from: Date
    public var to: Date
    /// Now, not just in the period.
    public var openByPriority: [String: Int]
    public var openByStatus: [String: Int]
    public var openBreached: Int
    public var createdInPeriod: Int
    public var resolvedInPeriod: Int
    /// Per priority, for records resolved in the period.
    public var byPriority: [String: PriorityFigures]

    public init(from: Date, to: Date, openByPriority: [String: Int], openByStatus: [String: Int], openBreached: Int,
                createdInPeriod: Int, resolvedInPeriod: Int, byPriority: [String: PriorityFigures]) {
        self.from = from
        self.to = to
        self.openByPriority = openByPriority
        self.openByStatus = openByStatus
        self.openBreached = openBreached
        self.createdInPeriod = createdInPeriod
        self.resolvedInPeriod = resolvedInPeriod
        self.byPriority = byPriority
    }
}
