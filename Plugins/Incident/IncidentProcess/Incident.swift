import Foundation
import ITSMPostgres

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
    public var status: String
    public var assignmentGroup: String?
    public var assignee: String?
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date

    /// The columns `init(row:)` reads, in SQL.
    static let columns = """
        id, number, type, title, description, caller, service, ci, category, subcategory, impact, urgency,
        priority, status, assignment_group, assignee, created_by, created_at, updated_at
        """

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
        status = try row.decode(String.self, "status")
        assignmentGroup = try row.decode(String?.self, "assignment_group")
        assignee = try row.decode(String?.self, "assignee")
        createdBy = try row.decode(String.self, "created_by")
        createdAt = try row.decode(Date.self, "created_at")
        updatedAt = try row.decode(Date.self, "updated_at")
    }
}

/// One change to a record: who, when, which field, from what, to what.
public struct HistoryEntry: Sendable, Hashable, Codable {
    public var at: Date
    public var actor: String
    public var field: String
    public var oldValue: String?
    public var newValue: String?
}
