import Foundation
import ITSMProtocol

/// The management review pack for a period (ISO/IEC 20000-1 9.3): objectives against
/// actuals with their trend, the improvement register by status, nonconformities, each
/// process's figures, and the actions proposed. JSON for tools, Markdown and HTML for people.
public struct ReviewPack: Sendable, Hashable, Codable {
    public struct ObjectiveResult: Sendable, Hashable, Codable {
        public var objective: Objective
        public var actual: Measurement
        public var previous: Measurement
        /// `better`, `worse`, `same`, or nil when either period has no value.
        public var trend: String?

        public init(objective: Objective, actual: Measurement, previous: Measurement, trend: String? = nil) {
            self.objective = objective
            self.actual = actual
            self.previous = previous
            self.trend = trend
        }
    }

    public struct ProcessFigures: Sendable, Hashable, Codable {
        public var process: String
        public var available: Bool
        public var note: String?
        public var figures: JSONValue?

        public init(process: String, available: Bool, note: String? = nil, figures: JSONValue? = nil) {
            self.process = process
            self.available = available
            self.note = note
            self.figures = figures
        }
    }

    public var from: Date
    public var to: Date
    public var generatedAt: Date
    public var objectives: [ObjectiveResult]
    public var improvementsByStatus: [String: Int]
    public var openImprovements: [Opportunity]
    public var nonconformitiesOpen: [Nonconformity]
    public var nonconformitiesClosedInPeriod: Int
    public var processes: [ProcessFigures]
    /// The review of an earlier period, with its actions as they stand now.
    public var previousReview: ManagementReview?
    /// What the review is asked to decide: proposals to approve, objectives missed, overdue actions.
    public var proposedActions: [String]

    public init(from: Date, to: Date, generatedAt: Date, objectives: [ObjectiveResult], improvementsByStatus: [String: Int],
                openImprovements: [Opportunity], nonconformitiesOpen: [Nonconformity], nonconformitiesClosedInPeriod: Int,
                processes: [ProcessFigures], previousReview: ManagementReview? = nil, proposedActions: [String]) {
        self.from = from
        self.to = to
        self.generatedAt = generatedAt
        self.objectives = objectives
        self.improvementsByStatus = improvementsByStatus
        self.openImprovements = openImprovements
        self.nonconformitiesOpen = nonconformitiesOpen
        self.nonconformitiesClosedInPeriod = nonconformitiesClosedInPeriod
        self.processes = processes
        self.previousReview = previousReview
        self.proposedActions = proposedActions
    }
}

public struct ReviewPackParams: Sendable, Hashable, Codable {
    public var from: Date?
    public var to: Date?
    /// json (default), markdown or html.
    public var format: String?
    public init(from: Date? = nil, to: Date? = nil, format: String? = nil) {
        self.from = from
        self.to = to
        self.format = format
    }
}
