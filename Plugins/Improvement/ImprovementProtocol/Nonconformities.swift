import Foundation
import ITSMProtocol

/// A requirement not met (ISO/IEC 20000-1 10.1): the correction, the root cause, corrective
/// actions, and a check that they worked. open → actions_in_progress → awaiting_verification →
/// closed (effective) or back to actions_in_progress (not effective: more actions).
public struct Nonconformity: Sendable, Hashable, Codable {
    public typealias Action = AgreedAction

    public var number: String
    public var title: String
    /// The requirement not met, e.g. `ISO/IEC 20000-1:2018 8.3.4.1` or an internal policy.
    public var requirement: String
    public var description: String
    public var source: String
    public var severity: String
    public var detectedOn: String
    public var owner: String?
    public var correction: String?
    public var rootCause: String?
    public var status: String
    public var effectivenessCheckedOn: String?
    public var effective: Bool?
    public var effectivenessNotes: String?
    public var actions: [Action]
    public var history: [HistoryEntry]?

    public init(number: String, title: String, requirement: String, description: String, source: String, severity: String,
                detectedOn: String, owner: String? = nil, correction: String? = nil, rootCause: String? = nil, status: String,
                effectivenessCheckedOn: String? = nil, effective: Bool? = nil, effectivenessNotes: String? = nil,
                actions: [Action], history: [HistoryEntry]? = nil) {
        self.number = number
        self.title = title
        self.requirement = requirement
        self.description = description
        self.source = source
        self.severity = severity
        self.detectedOn = detectedOn
        self.owner = owner
        self.correction = correction
        self.rootCause = rootCause
        self.status = status
        self.effectivenessCheckedOn = effectivenessCheckedOn
        self.effective = effective
        self.effectivenessNotes = effectivenessNotes
        self.actions = actions
        self.history = history
    }
}

public struct CreateNonconformity: Sendable, Hashable, Codable {
    public var title: String
    public var requirement: String
    public var description: String?
    /// audit, management_review, incident, complaint, other.
    public var source: String?
    /// minor or major.
    public var severity: String?
    public var detectedOn: String?
    public var owner: String?
    public init(title: String, requirement: String, description: String? = nil, source: String? = nil, severity: String? = nil,
                detectedOn: String? = nil, owner: String? = nil) {
        self.title = title
        self.requirement = requirement
        self.description = description
        self.source = source
        self.severity = severity
        self.detectedOn = detectedOn
        self.owner = owner
    }
}

public struct NonconformityKey: Sendable, Hashable, Codable {
    public var number: String
    public init(number: String) { self.number = number }
}

public struct RecordCorrection: Sendable, Hashable, Codable {
    public var number: String
    public var correction: String
    public var rootCause: String?
    public init(number: String, correction: String, rootCause: String? = nil) {
        self.number = number
        self.correction = correction
        self.rootCause = rootCause
    }
}

public struct AddCorrectiveAction: Sendable, Hashable, Codable {
    public var number: String
    public var description: String
    public var owner: String
    public var dueOn: String
    public init(number: String, description: String, owner: String, dueOn: String) {
        self.number = number
        self.description = description
        self.owner = owner
        self.dueOn = dueOn
    }
}

public struct CompleteCorrectiveAction: Sendable, Hashable, Codable {
    public var id: Int
    public init(id: Int) { self.id = id }
}

public struct VerifyEffectiveness: Sendable, Hashable, Codable {
    public var number: String
    public var effective: Bool
    public var notes: String
    public init(number: String, effective: Bool, notes: String) {
        self.number = number
        self.effective = effective
        self.notes = notes
    }
}

public struct NonconformityList: Sendable, Hashable, Codable {
    public var items: [Nonconformity]

    public init(items: [Nonconformity]) {
        self.items = items
    }
}

public struct ListNonconformities: Sendable, Codable {
    /// Closed ones too (implied by a `closed` period).
    public var all: Bool?
    /// Periods, each `[from, to)`: when nonconformities were raised, last changed, closed.
    public var createdFrom: Date?
    public var createdTo: Date?
    public var updatedFrom: Date?
    public var updatedTo: Date?
    public var closedFrom: Date?
    public var closedTo: Date?

    public init(all: Bool? = nil, createdFrom: Date? = nil, createdTo: Date? = nil, closedFrom: Date? = nil, closedTo: Date? = nil) {
        self.all = all
        self.createdFrom = createdFrom
        self.createdTo = createdTo
        self.closedFrom = closedFrom
        self.closedTo = closedTo
    }
}
