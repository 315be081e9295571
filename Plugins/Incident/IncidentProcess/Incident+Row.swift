import Foundation
import ITSMPostgres

/// Reading a record from the database, apart from the record itself so that code that only
/// checks values (imports, fuzzing) does not need PostgreSQL.
extension Incident {
    /// The columns `init(row:)` reads, in SQL.
    static let columns = """
        id, number, type, title, description, caller, customer, service, ci, category, subcategory, impact, urgency,
        priority, status, hold_reason, assignment_group, assignee, supplier, resolution_code, resolution_notes,
        resolved_at, closed_at, reopen_count, major, major_declared_by, major_declared_at, major_reason, escalation_level,
        parent_id, duplicate_of, problem_ref, known_error_ref, external_ref, imported_at, created_by, created_at, updated_at
        """

    /// `columns`, each qualified by a table alias, for queries that join.
    static func columns(qualifiedBy alias: String) -> String {
        columns.split(separator: ",").map { "\(alias).\($0.trimmingCharacters(in: .whitespacesAndNewlines))" }.joined(separator: ", ")
    }

    init(row: PostgresRow) throws {
        self.init(
            id: try row.decode(UUID.self, "id"),
            number: try row.decode(String.self, "number"),
            type: RecordType(rawValue: try row.decode(String.self, "type")) ?? .incident,
            title: try row.decode(String.self, "title"),
            description: try row.decode(String.self, "description"),
            caller: try row.decode(String?.self, "caller"),
            service: try row.decode(String?.self, "service"),
            configurationItem: try row.decode(String?.self, "ci"),
            category: try row.decode(String?.self, "category"),
            subcategory: try row.decode(String?.self, "subcategory"),
            impact: Level(rawValue: try row.decode(Int.self, "impact")) ?? .medium,
            urgency: Level(rawValue: try row.decode(Int.self, "urgency")) ?? .medium,
            priority: Priority(rawValue: try row.decode(Int.self, "priority")) ?? Priority(rawValue: 3)!,
            status: IncidentStatus(rawValue: try row.decode(String.self, "status")) ?? .new,
            holdReason: try row.decode(String?.self, "hold_reason").flatMap(HoldReason.init(rawValue:)),
            assignmentGroup: try row.decode(String?.self, "assignment_group"),
            assignee: try row.decode(String?.self, "assignee"),
            supplier: try row.decode(String?.self, "supplier"),
            resolutionCode: try row.decode(String?.self, "resolution_code"),
            resolutionNotes: try row.decode(String?.self, "resolution_notes"),
            resolvedAt: try row.decode(Date?.self, "resolved_at"),
            closedAt: try row.decode(Date?.self, "closed_at"),
            reopenCount: try row.decode(Int.self, "reopen_count"),
            major: try row.decode(Bool.self, "major"),
            majorDeclaredBy: try row.decode(String?.self, "major_declared_by"),
            majorDeclaredAt: try row.decode(Date?.self, "major_declared_at"),
            majorReason: try row.decode(String?.self, "major_reason"),
            escalationLevel: try row.decode(Int.self, "escalation_level"),
            parentId: try row.decode(UUID?.self, "parent_id"),
            duplicateOf: try row.decode(UUID?.self, "duplicate_of"),
            problem: try row.decode(String?.self, "problem_ref"),
            knownError: try row.decode(String?.self, "known_error_ref"),
            externalRef: try row.decode(String?.self, "external_ref"),
            importedAt: try row.decode(Date?.self, "imported_at"),
            createdBy: try row.decode(String.self, "created_by"),
            createdAt: try row.decode(Date.self, "created_at"),
            updatedAt: try row.decode(Date.self, "updated_at"),
            customer: try row.decode(String?.self, "customer"))
    }
}
