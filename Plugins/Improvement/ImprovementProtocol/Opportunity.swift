import Foundation
import ITSMProtocol

/// Where an opportunity is in its life (ISO/IEC 20000-1 10.2).
public enum OpportunityStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case proposed, approved, rejected
    case inProgress = "in_progress"
    case implemented
    case benefitsVerified = "benefits_verified"
    case closed

    public var next: Set<OpportunityStatus> {
        switch self {
        case .proposed: [.approved, .rejected]
        case .approved: [.inProgress, .rejected]
        case .inProgress: [.implemented]
        case .implemented: [.benefitsVerified, .inProgress]
        case .benefitsVerified: [.closed]
        case .rejected: [.closed]
        case .closed: []
        }
    }

    public var isOpen: Bool { ![.rejected, .closed].contains(self) }
}

public enum OpportunitySource: String, Sendable, Hashable, Codable, CaseIterable {
    case manual, audit
    case managementReview = "management_review"
    case customerFeedback = "customer_feedback"
    case event
}

/// Benefit, cost, risk and alignment with the objectives, each 1 (least) to 5 (most).
public struct Evaluation: Sendable, Hashable, Codable {
    public var benefit: Int
    public var cost: Int
    public var risk: Int
    public var alignment: Int

    public init(benefit: Int = 3, cost: Int = 3, risk: Int = 3, alignment: Int = 3) {
        self.benefit = benefit
        self.cost = cost
        self.risk = risk
        self.alignment = alignment
    }

    /// 0 to 100: benefit and alignment count twice, low cost and low risk once each.
    public var score: Int {
        let points = 2 * (benefit - 1) + 2 * (alignment - 1) + (5 - cost) + (5 - risk)
        return Int((Double(points) * 100 / 24).rounded())
    }

    public var priority: String { score >= 70 ? "high" : score >= 45 ? "medium" : "low" }

    /// Throws `invalidParams` naming the score that is not 1 to 5.
    public func validate() throws {
        for (name, value) in [("benefit", benefit), ("cost", cost), ("risk", risk), ("alignment", alignment)] where !(1...5).contains(value) {
            throw ResponseError.invalidParams("\(name): 1 to 5")
        }
    }
}

public struct Opportunity: Sendable, Hashable, Codable {
    public var id: UUID
    public var number: String
    public var title: String
    public var description: String
    public var source: OpportunitySource
    public var services: [String]
    public var evaluation: Evaluation
    public var score: Int
    public var priority: String
    public var owner: String?
    public var status: OpportunityStatus
    public var targetDate: String?
    public var expectedBenefit: String
    public var measuredBenefit: String?
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, number: String, title: String, description: String, source: OpportunitySource, services: [String],
                evaluation: Evaluation, score: Int, priority: String, owner: String? = nil, status: OpportunityStatus,
                targetDate: String? = nil, expectedBenefit: String, measuredBenefit: String? = nil, createdBy: String,
                createdAt: Date, updatedAt: Date) {
        self.id = id
        self.number = number
        self.title = title
        self.description = description
        self.source = source
        self.services = services
        self.evaluation = evaluation
        self.score = score
        self.priority = priority
        self.owner = owner
        self.status = status
        self.targetDate = targetDate
        self.expectedBenefit = expectedBenefit
        self.measuredBenefit = measuredBenefit
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// An event an opportunity came from.
public struct OpportunitySourceEvent: Sendable, Hashable, Codable {
    public var eventId: UUID
    public var eventType: String
    public var process: String
    /// The record in that process, e.g. `INC-000042`.
    public var reference: String?
    public var summary: String
    public var occurredAt: Date

    public init(eventId: UUID, eventType: String, process: String, reference: String? = nil, summary: String, occurredAt: Date) {
        self.eventId = eventId
        self.eventType = eventType
        self.process = process
        self.reference = reference
        self.summary = summary
        self.occurredAt = occurredAt
    }
}

// MARK: - Params

public struct CreateOpportunity: Sendable, Hashable, Codable {
    public var title: String
    public var description: String?
    public var source: OpportunitySource?
    public var services: [String]?
    public var evaluation: Evaluation?
    public var owner: String?
    public var targetDate: String?
    public var expectedBenefit: String?

    public init(title: String, description: String? = nil, source: OpportunitySource? = nil, services: [String]? = nil,
                evaluation: Evaluation? = nil, owner: String? = nil, targetDate: String? = nil, expectedBenefit: String? = nil) {
        self.title = title
        self.description = description
        self.source = source
        self.services = services
        self.evaluation = evaluation
        self.owner = owner
        self.targetDate = targetDate
        self.expectedBenefit = expectedBenefit
    }
}

public struct OpportunityKey: Sendable, Hashable, Codable {
    public var number: String
    public init(number: String) { self.number = number }
}

public struct UpdateOpportunity: Sendable, Hashable, Codable {
    public var number: String
    public var title: String?
    public var description: String?
    public var services: [String]?
    public var evaluation: Evaluation?
    public var owner: String?
    public var targetDate: String?
    public var expectedBenefit: String?
    public var measuredBenefit: String?

    public init(number: String, title: String? = nil, description: String? = nil, services: [String]? = nil, evaluation: Evaluation? = nil,
                owner: String? = nil, targetDate: String? = nil, expectedBenefit: String? = nil, measuredBenefit: String? = nil) {
        self.number = number
        self.title = title
        self.description = description
        self.services = services
        self.evaluation = evaluation
        self.owner = owner
        self.targetDate = targetDate
        self.expectedBenefit = expectedBenefit
        self.measuredBenefit = measuredBenefit
    }
}

public struct TransitionOpportunity: Sendable, Hashable, Codable {
    public var number: String
    public var to: OpportunityStatus
    public var note: String?
    public init(number: String, to: OpportunityStatus, note: String? = nil) {
        self.number = number
        self.to = to
        self.note = note
    }
}

public struct ListOpportunities: Sendable, Hashable, Codable {
    public var status: OpportunityStatus?
    public var owner: String?
    /// Periods, each `[from, to)`: when opportunities were proposed, last changed, closed.
    public var createdFrom: Date?
    public var createdTo: Date?
    public var updatedFrom: Date?
    public var updatedTo: Date?
    public var closedFrom: Date?
    public var closedTo: Date?
    public var limit: Int?
    public init(status: OpportunityStatus? = nil, owner: String? = nil, limit: Int? = nil) {
        self.status = status
        self.owner = owner
        self.limit = limit
    }
}

public struct OpportunityList: Sendable, Hashable, Codable {
    public var items: [Opportunity]

    public init(items: [Opportunity]) {
        self.items = items
    }
}

public struct OpportunityDetail: Sendable, Hashable, Codable {
    public var opportunity: Opportunity
    public var sources: [OpportunitySourceEvent]
    public var history: [HistoryEntry]

    public init(opportunity: Opportunity, sources: [OpportunitySourceEvent], history: [HistoryEntry]) {
        self.opportunity = opportunity
        self.sources = sources
        self.history = history
    }
}

/// An action someone agreed to take by a date: a corrective action on a nonconformity, or an
/// action from a management review (which records its outcome when done).
public struct AgreedAction: Sendable, Hashable, Codable {
    public var id: Int
    public var description: String
    public var owner: String
    public var dueOn: String
    /// open or done.
    public var status: String
    /// Open past its due date.
    public var overdue: Bool
    public var outcome: String?

    public init(id: Int, description: String, owner: String, dueOn: String, status: String, overdue: Bool, outcome: String? = nil) {
        self.id = id
        self.description = description
        self.owner = owner
        self.dueOn = dueOn
        self.status = status
        self.overdue = overdue
        self.outcome = outcome
    }

}
