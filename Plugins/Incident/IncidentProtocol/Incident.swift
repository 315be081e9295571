import Foundation
import ITSMProtocol

/// Whether a record reports a disruption or asks for something.
public enum RecordType: String, Sendable, Hashable, Codable, CaseIterable {
    case incident
    case request
}

/// An incident or service request as callers see it.
public struct Incident: Sendable, Hashable, Codable {
    public var id: UUID
    public var number: String
    public var type: RecordType
    public var title: String
    public var description: String
    public var caller: String?
    /// The customer the caller speaks for (from the service process's customers), as it was
    /// when the caller was set; what the record's agreement and customer reports follow.
    public var customer: String?
    public var service: String?
    public var configurationItem: String?
    public var category: String?
    public var subcategory: String?
    public var impact: Level
    public var urgency: Level
    public var priority: Priority
    public var status: IncidentStatus
    public var holdReason: HoldReason?
    public var assignmentGroup: String?
    public var assignee: String?
    /// The supplier the record was handed to, if any.
    public var supplier: String?
    public var resolutionCode: String?
    public var resolutionNotes: String?
    public var resolvedAt: Date?
    public var closedAt: Date?
    public var reopenCount: Int
    /// A major incident: declared by whom, when, and why.
    public var major: Bool
    public var majorDeclaredBy: String?
    public var majorDeclaredAt: Date?
    public var majorReason: String?
    /// Raised by each hierarchical escalation.
    public var escalationLevel: Int
    /// The major incident this one is grouped under.
    public var parentId: UUID?
    public var duplicateOf: UUID?
    /// A problem record (`PRB-…`) and a known error, from the problem process.
    public var problem: String?
    public var knownError: String?
    /// The number the record had in the tool it was imported from.
    public var externalRef: String?
    /// When it was imported; imported records run no service-level clocks.
    public var importedAt: Date?
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, number: String, type: RecordType, title: String, description: String, caller: String? = nil,
                service: String? = nil, configurationItem: String? = nil, category: String? = nil, subcategory: String? = nil,
                impact: Level, urgency: Level, priority: Priority, status: IncidentStatus, holdReason: HoldReason? = nil,
                assignmentGroup: String? = nil, assignee: String? = nil, supplier: String? = nil, resolutionCode: String? = nil,
                resolutionNotes: String? = nil, resolvedAt: Date? = nil, closedAt: Date? = nil, reopenCount: Int, major: Bool,
                majorDeclaredBy: String? = nil, majorDeclaredAt: Date? = nil, majorReason: String? = nil, escalationLevel: Int,
                parentId: UUID? = nil, duplicateOf: UUID? = nil, problem: String? = nil, knownError: String? = nil,
                externalRef: String? = nil, importedAt: Date? = nil, createdBy: String, createdAt: Date, updatedAt: Date,
                customer: String? = nil) {
        self.id = id
        self.number = number
        self.type = type
        self.title = title
        self.description = description
        self.caller = caller
        self.customer = customer
        self.service = service
        self.configurationItem = configurationItem
        self.category = category
        self.subcategory = subcategory
        self.impact = impact
        self.urgency = urgency
        self.priority = priority
        self.status = status
        self.holdReason = holdReason
        self.assignmentGroup = assignmentGroup
        self.assignee = assignee
        self.supplier = supplier
        self.resolutionCode = resolutionCode
        self.resolutionNotes = resolutionNotes
        self.resolvedAt = resolvedAt
        self.closedAt = closedAt
        self.reopenCount = reopenCount
        self.major = major
        self.majorDeclaredBy = majorDeclaredBy
        self.majorDeclaredAt = majorDeclaredAt
        self.majorReason = majorReason
        self.escalationLevel = escalationLevel
        self.parentId = parentId
        self.duplicateOf = duplicateOf
        self.problem = problem
        self.knownError = knownError
        self.externalRef = externalRef
        self.importedAt = importedAt
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Titles and short references (caller, service, group, ...) are at most this long.
    public static let maximumShortText = 200

    /// The title, trimmed, or `invalidParams` naming what is wrong.
    public static func validatedTitle(_ title: String) throws -> String {
        let trimmed = title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ResponseError.invalidParams("title: must not be empty") }
        guard trimmed.count <= maximumShortText else {
            throw ResponseError.invalidParams("title: at most \(maximumShortText) characters, got \(trimmed.count)")
        }
        return trimmed
    }

    /// Checks a short reference field; `invalidParams` names it when it is too long.
    public static func checkShortText(_ field: String, _ value: String?) throws {
        if let value, value.count > maximumShortText {
            throw ResponseError.invalidParams("\(field): at most \(maximumShortText) characters")
        }
    }
}

/// A comment on a record: a work note for the desk, or a comment the caller sees.
public struct Comment: Sendable, Hashable, Codable {
    public enum Visibility: String, Sendable, Hashable, Codable, CaseIterable {
        case workNote = "work_note"
        case customer
    }

    public var at: Date
    public var author: String
    public var visibility: Visibility
    public var body: String

    public init(at: Date, author: String, visibility: Visibility, body: String) {
        self.at = at
        self.author = author
        self.visibility = visibility
        self.body = body
    }
}


/// The workaround shown with an incident that has a known error.
public struct Workaround: Sendable, Hashable, Codable {
    public var knownError: String
    public var problem: String
    public var title: String
    public var workaround: String

    public init(knownError: String, problem: String, title: String, workaround: String) {
        self.knownError = knownError
        self.problem = problem
        self.title = title
        self.workaround = workaround
    }
}
