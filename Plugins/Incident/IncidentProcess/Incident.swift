import Foundation
import ITSMProtocol

/// Whether a record reports a disruption or asks for something.
public enum RecordType: String, Sendable, Hashable, Codable, CaseIterable {
    case incident
    case request

    /// Record numbers: `INC-000001`, `REQ-000001`.
    public var numberPrefix: String { self == .incident ? "INC" : "REQ" }

    public static func formatNumber(_ type: RecordType, _ value: Int) -> String {
        let digits = String(value)
        return "\(type.numberPrefix)-\(String(repeating: "0", count: max(0, 6 - digits.count)))\(digits)"
    }
}

/// An incident or service request as callers see it.
public struct Incident: Sendable, Hashable, Codable {
    public var id: UUID
    public var number: String
    public var type: RecordType
    public var title: String
    public var description: String
    public var caller: String?
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

    /// Titles and short references (caller, service, group, ...) are at most this long.
    public static let maximumShortText = 200

    /// The title, trimmed, or `invalidParams` naming what is wrong.
    static func validatedTitle(_ title: String) throws -> String {
        let trimmed = title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ResponseError.invalidParams("title: must not be empty") }
        guard trimmed.count <= maximumShortText else {
            throw ResponseError.invalidParams("title: at most \(maximumShortText) characters, got \(trimmed.count)")
        }
        return trimmed
    }

    /// Checks a short reference field; `invalidParams` names it when it is too long.
    static func checkShortText(_ field: String, _ value: String?) throws {
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
}

