import Foundation
import ITSMProtocol

/// The problem process's methods with their params and results: problems, their analysis and
/// links, recurrence detection, and known errors.
public enum ProblemMethods {
    public static let create = MethodType<CreateProblem, Problem>("problem.create")
    public static let get = MethodType<GetProblem, ProblemDetail>("problem.get")
    public static let list = MethodType<ListProblems, ProblemList>("problem.list")
    public static let update = MethodType<UpdateProblem, Problem>("problem.update")
    public static let transition = MethodType<TransitionProblem, Problem>("problem.transition")
    public static let recordRootCause = MethodType<RecordRootCause, Problem>("problem.rca")
    public static let link = MethodType<LinkProblemIncident, ProblemDetail>("problem.link")
    public static let unlink = MethodType<LinkProblemIncident, ProblemDetail>("problem.unlink")
    public static let review = MethodType<ReviewProblem, ProblemReview>("problem.review")
    public static let detect = MethodType<NoParams, DetectionResult>("problem.detect")
    public static let stats = MethodType<ProblemStatsParams, ProblemStats>("problem.stats")
    public static let publishKnownError = MethodType<PublishKnownError, KnownError>("knownerror.publish")
    public static let knownError = MethodType<KnownErrorKey, KnownError>("knownerror.get")
    public static let searchKnownErrors = MethodType<SearchKnownErrors, KnownErrorList>("knownerror.search")
}

/// `problem.create` params.
public struct CreateProblem: Sendable, Hashable, Codable {
    public var title: String
    public var description: String?
    public var services: [String]?
    public var configurationItems: [String]?
    public var category: String?
    /// 1 (high) to 3 (low); 2 when left out.
    public var impact: Int?
    public var urgency: Int?
    public var owner: String?

    public init(title: String, description: String? = nil, services: [String]? = nil, configurationItems: [String]? = nil,
                category: String? = nil, impact: Int? = nil, urgency: Int? = nil, owner: String? = nil) {
        self.title = title
        self.description = description
        self.services = services
        self.configurationItems = configurationItems
        self.category = category
        self.impact = impact
        self.urgency = urgency
        self.owner = owner
    }
}

/// A problem by number, e.g. `PRB-000001`.
public struct ProblemKey: Sendable, Hashable, Codable {
    public var number: String
    public init(number: String) { self.number = number }
}

/// `problem.get` params.
public struct GetProblem: Sendable, Hashable, Codable {
    public var number: String
    public var history: Bool?
    public init(number: String, history: Bool? = nil) {
        self.number = number
        self.history = history
    }
}

/// `problem.update` params: only what is given changes.
public struct UpdateProblem: Sendable, Hashable, Codable {
    public var number: String
    public var title: String?
    public var description: String?
    public var services: [String]?
    public var configurationItems: [String]?
    public var category: String?
    public var impact: Int?
    public var urgency: Int?
    public var owner: String?
    /// The change that fixes it, e.g. `CHG-000042`.
    public var fix: String?

    public init(number: String, title: String? = nil, description: String? = nil, services: [String]? = nil,
                configurationItems: [String]? = nil, category: String? = nil, impact: Int? = nil, urgency: Int? = nil,
                owner: String? = nil, fix: String? = nil) {
        self.number = number
        self.title = title
        self.description = description
        self.services = services
        self.configurationItems = configurationItems
        self.category = category
        self.impact = impact
        self.urgency = urgency
        self.owner = owner
        self.fix = fix
    }
}

/// `problem.transition` params.
public struct TransitionProblem: Sendable, Hashable, Codable {
    public var number: String
    public var to: ProblemStatus
    /// Why; required to close a problem that was never resolved (e.g. a rejected proposal).
    public var note: String?
    public init(number: String, to: ProblemStatus, note: String? = nil) {
        self.number = number
        self.to = to
        self.note = note
    }
}

/// `problem.rca` params: the root cause analysis.
public struct RecordRootCause: Sendable, Hashable, Codable {
    public var number: String
    public var method: String
    public var findings: String
    public var category: String?
    public init(number: String, method: String, findings: String, category: String? = nil) {
        self.number = number
        self.method = method
        self.findings = findings
        self.category = category
    }
}

/// `problem.link` / `problem.unlink` params.
public struct LinkProblemIncident: Sendable, Hashable, Codable {
    public var number: String
    /// The incident's number, e.g. `INC-000042`.
    public var incident: String
    public init(number: String, incident: String) {
        self.number = number
        self.incident = incident
    }
}

/// `problem.list` params.
public struct ListProblems: Sendable, Hashable, Codable {
    public var status: ProblemStatus?
    public var owner: String?
    public var major: Bool?
    /// Periods, each `[from, to)`: when problems were recorded, last changed, resolved, closed.
    public var createdFrom: Date?
    public var createdTo: Date?
    public var updatedFrom: Date?
    public var updatedTo: Date?
    public var resolvedFrom: Date?
    public var resolvedTo: Date?
    public var closedFrom: Date?
    public var closedTo: Date?
    public var limit: Int?
    public var offset: Int?
    /// A `nextCursor` from the page before: the page after it, however deep (instead of `offset`).
    public var after: String?
    public init(status: ProblemStatus? = nil, owner: String? = nil, major: Bool? = nil, limit: Int? = nil, offset: Int? = nil,
                after: String? = nil) {
        self.status = status
        self.owner = owner
        self.major = major
        self.limit = limit
        self.offset = offset
        self.after = after
    }
}

public struct ProblemList: Sendable, Hashable, Codable {
    public var items: [Problem]
    /// The problems that match: counted exactly up to `exactTotalLimit`, estimated beyond it.
    public var total: Int
    /// True when `total` is PostgreSQL's estimate.
    public var totalIsEstimate: Bool?
    /// Pass as `after` for the next page; absent on the last.
    public var nextCursor: String?

    public static let exactTotalLimit = 1_000

    public init(items: [Problem], total: Int, totalIsEstimate: Bool? = nil, nextCursor: String? = nil) {
        self.items = items
        self.total = total
        self.totalIsEstimate = totalIsEstimate
        self.nextCursor = nextCursor
    }
}

/// `problem.review` params: the review a major problem needs before it closes.
public struct ReviewProblem: Sendable, Hashable, Codable {
    public var number: String
    public var summary: String
    public var lessons: String?
    public var actions: [String]?
    public init(number: String, summary: String, lessons: String? = nil, actions: [String]? = nil) {
        self.number = number
        self.summary = summary
        self.lessons = lessons
        self.actions = actions
    }
}

public struct ProblemReview: Sendable, Hashable, Codable {
    public var reviewedBy: String
    public var reviewedAt: Date
    public var summary: String
    public var lessons: String
    public var actions: [String]

    public init(reviewedBy: String, reviewedAt: Date, summary: String, lessons: String, actions: [String]) {
        self.reviewedBy = reviewedBy
        self.reviewedAt = reviewedAt
        self.summary = summary
        self.lessons = lessons
        self.actions = actions
    }
}

/// What `problem.get` answers.
public struct ProblemDetail: Sendable, Hashable, Codable {
    public var problem: Problem
    public var incidents: [LinkedIncident]
    public var impact: BusinessImpact
    public var knownError: KnownError?
    public var review: ProblemReview?
    /// For a resolved or closed problem: did the incidents stop?
    public var recurrence: Recurrence?
    public var history: [HistoryEntry]?

    public init(problem: Problem, incidents: [LinkedIncident], impact: BusinessImpact, knownError: KnownError? = nil,
                review: ProblemReview? = nil, recurrence: Recurrence? = nil, history: [HistoryEntry]? = nil) {
        self.problem = problem
        self.incidents = incidents
        self.impact = impact
        self.knownError = knownError
        self.review = review
        self.recurrence = recurrence
        self.history = history
    }
}

/// `knownerror.publish` params.
public struct PublishKnownError: Sendable, Hashable, Codable {
    public var problem: String
    public var symptoms: String
    public var workaround: String
    /// Defaults to the problem's title and its root cause findings.
    public var title: String?
    public var rootCause: String?
    public init(problem: String, symptoms: String, workaround: String, title: String? = nil, rootCause: String? = nil) {
        self.problem = problem
        self.symptoms = symptoms
        self.workaround = workaround
        self.title = title
        self.rootCause = rootCause
    }
}

/// `knownerror.search` params.
public struct SearchKnownErrors: Sendable, Hashable, Codable {
    public var text: String
    public var limit: Int?
    public init(text: String, limit: Int? = nil) {
        self.text = text
        self.limit = limit
    }
}

public struct KnownErrorList: Sendable, Hashable, Codable {
    public var items: [KnownError]

    public init(items: [KnownError]) {
        self.items = items
    }
}

/// `problem.detect` answers: the proposals made or extended.
public struct DetectionResult: Sendable, Hashable, Codable {
    public struct Finding: Sendable, Hashable, Codable {
        public var problem: String
        public var rule: String
        /// `proposed`: a new proposal; `linked`: the incident joined an existing one.
        public var action: String
        public var incidents: [String]

        public init(problem: String, rule: String, action: String, incidents: [String]) {
            self.problem = problem
            self.rule = rule
            self.action = action
            self.incidents = incidents
        }
    }

    public var findings: [Finding]

    public init(findings: [Finding]) {
        self.findings = findings
    }
}

/// `problem.stats` params and answer: figures for a period, for reviews and KPIs.
public struct ProblemStatsParams: Sendable, Hashable, Codable {
    public var from: Date?
    public var to: Date?

    public init(from: Date? = nil, to: Date? = nil) {
        self.from = from
        self.to = to
    }
}

public struct ProblemStats: Sendable, Hashable, Codable {
    public var from: Date
    public var to: Date
    public var created: Int
    public var proposed: Int
    public var resolved: Int
    public var knownErrorsPublished: Int
    public var openByStatus: [String: Int]
    public var majorOpen: Int
    /// Mean time from creation to resolution of the problems resolved in the period.
    public var meanHoursToResolve: Double?

    public init(from: Date, to: Date, created: Int, proposed: Int, resolved: Int, knownErrorsPublished: Int,
                openByStatus: [String: Int], majorOpen: Int, meanHoursToResolve: Double? = nil) {
        self.from = from
        self.to = to
        self.created = created
        self.proposed = proposed
        self.resolved = resolved
        self.knownErrorsPublished = knownErrorsPublished
        self.openByStatus = openByStatus
        self.majorOpen = majorOpen
        self.meanHoursToResolve = meanHoursToResolve
    }
}

/// A known error by number, e.g. `KE-000001`.
public struct KnownErrorKey: Sendable, Hashable, Codable {
    public var number: String

    public init(number: String) {
        self.number = number
    }
}
