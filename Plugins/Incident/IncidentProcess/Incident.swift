import Foundation
import ITSMPostgres
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

    /// The columns `init(row:)` reads, in SQL.
    static let columns = """
        id, number, type, title, description, caller, service, ci, category, subcategory, impact, urgency,
        priority, status, hold_reason, assignment_group, assignee, supplier, resolution_code, resolution_notes,
        resolved_at, closed_at, reopen_count, major, major_declared_by, major_declared_at, major_reason, escalation_level,
        parent_id, duplicate_of, problem_ref, known_error_ref, external_ref, imported_at, created_by, created_at, updated_at
        """

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

    /// `columns`, each qualified by a table alias, for queries that join.
    static func columns(qualifiedBy alias: String) -> String {
        columns.split(separator: ",").map { "\(alias).\($0.trimmingCharacters(in: .whitespacesAndNewlines))" }.joined(separator: ", ")
    }

    init(row: PostgresRow) throws {
        id = try row.decode(UUID.self, "id")
        number = try row.decode(String.self, "number")
        type = RecordType(rawValue: try row.decode(String.self, "type")) ?? .incident
        title = try row.decode(String.self, "title")
        description = try row.decode(String.self, "description")
        caller = try row.decode(String?.self, "caller")
        service = try row.decode(String?.self, "service")
        configurationItem = try row.decode(String?.self, "ci")
        category = try row.decode(String?.self, "category")
        subcategory = try row.decode(String?.self, "subcategory")
        impact = Level(rawValue: try row.decode(Int.self, "impact")) ?? .medium
        urgency = Level(rawValue: try row.decode(Int.self, "urgency")) ?? .medium
        priority = Priority(rawValue: try row.decode(Int.self, "priority")) ?? Priority(rawValue: 3)!
        status = IncidentStatus(rawValue: try row.decode(String.self, "status")) ?? .new
        holdReason = try row.decode(String?.self, "hold_reason").flatMap(HoldReason.init(rawValue:))
        assignmentGroup = try row.decode(String?.self, "assignment_group")
        assignee = try row.decode(String?.self, "assignee")
        supplier = try row.decode(String?.self, "supplier")
        resolutionCode = try row.decode(String?.self, "resolution_code")
        resolutionNotes = try row.decode(String?.self, "resolution_notes")
        resolvedAt = try row.decode(Date?.self, "resolved_at")
        closedAt = try row.decode(Date?.self, "closed_at")
        reopenCount = try row.decode(Int.self, "reopen_count")
        major = try row.decode(Bool.self, "major")
        majorDeclaredBy = try row.decode(String?.self, "major_declared_by")
        majorDeclaredAt = try row.decode(Date?.self, "major_declared_at")
        majorReason = try row.decode(String?.self, "major_reason")
        escalationLevel = try row.decode(Int.self, "escalation_level")
        parentId = try row.decode(UUID?.self, "parent_id")
        duplicateOf = try row.decode(UUID?.self, "duplicate_of")
        problem = try row.decode(String?.self, "problem_ref")
        knownError = try row.decode(String?.self, "known_error_ref")
        externalRef = try row.decode(String?.self, "external_ref")
        importedAt = try row.decode(Date?.self, "imported_at")
        createdBy = try row.decode(String.self, "created_by")
        createdAt = try row.decode(Date.self, "created_at")
        updatedAt = try row.decode(Date.self, "updated_at")
    }
}

/// A comment on a record: a work note for the desk, or a comment the caller sees.
public struct Comment: Sendable, Hashable, Codable {
    public enum Visibility: String, Sendable, Hashable, Codable {
        case workNote = "work_note"
        case customer
    }

    public var at: Date
    public var author: String
    public var visibility: Visibility
    public var body: String
}

/// One change to a record: who, when, which field, from what, to what.
public struct HistoryEntry: Sendable, Hashable, Codable {
    public var at: Date
    public var actor: String
    public var field: String
    public var oldValue: String?
    public var newValue: String?
}
