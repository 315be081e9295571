import Foundation
import ITSMProtocol

/// A management review meeting (ISO/IEC 20000-1 9.3): when, who, the pack as it was presented
/// (kept whole, so later changes to the data do not rewrite what management saw), the decisions
/// taken and the actions agreed, followed until done. The next pack lists them.
public struct ManagementReview: Sendable, Hashable, Codable {
    public typealias Action = AgreedAction

    public var number: String
    public var heldOn: String
    public var from: Date
    public var to: Date
    public var chair: String
    public var attendees: [String]
    public var decisions: [String]
    public var notes: String
    public var actions: [Action]
    /// The pack as presented, as HTML; only when asked for (`pack: true`).
    public var packHtml: String?
    public var history: [HistoryEntry]?

    public init(number: String, heldOn: String, from: Date, to: Date, chair: String, attendees: [String], decisions: [String],
                notes: String, actions: [Action], packHtml: String? = nil, history: [HistoryEntry]? = nil) {
        self.number = number
        self.heldOn = heldOn
        self.from = from
        self.to = to
        self.chair = chair
        self.attendees = attendees
        self.decisions = decisions
        self.notes = notes
        self.actions = actions
        self.packHtml = packHtml
        self.history = history
    }
}

public struct RecordManagementReview: Sendable, Hashable, Codable {
    public typealias Action = ActionToTake

    public var heldOn: String
    /// The period reviewed, `[from, to)`: the pack presented is generated for it.
    public var from: Date
    public var to: Date
    public var chair: String
    public var attendees: [String]
    public var decisions: [String]?
    public var actions: [Action]?
    public var notes: String?
    public init(heldOn: String, from: Date, to: Date, chair: String, attendees: [String], decisions: [String]? = nil,
                actions: [Action]? = nil, notes: String? = nil) {
        self.heldOn = heldOn
        self.from = from
        self.to = to
        self.chair = chair
        self.attendees = attendees
        self.decisions = decisions
        self.actions = actions
        self.notes = notes
    }
}

public struct ManagementReviewKey: Sendable, Hashable, Codable {
    public var number: String
    /// Include the pack as it was presented (HTML).
    public var pack: Bool?
    public init(number: String, pack: Bool? = nil) {
        self.number = number
        self.pack = pack
    }
}

public struct ListManagementReviews: Sendable, Hashable, Codable {
    /// Periods, each `[from, to)`: when reviews were held, recorded, last changed.
    public var heldFrom: Date?
    public var heldTo: Date?
    public var createdFrom: Date?
    public var createdTo: Date?
    public var updatedFrom: Date?
    public var updatedTo: Date?
    public init(heldFrom: Date? = nil, heldTo: Date? = nil) {
        self.heldFrom = heldFrom
        self.heldTo = heldTo
    }
}

public struct ManagementReviewList: Sendable, Hashable, Codable {
    public var items: [ManagementReview]

    public init(items: [ManagementReview]) {
        self.items = items
    }
}

public struct CompleteReviewAction: Sendable, Hashable, Codable {
    public var id: Int
    /// What was done.
    public var outcome: String
    public init(id: Int, outcome: String) {
        self.id = id
        self.outcome = outcome
    }
}
