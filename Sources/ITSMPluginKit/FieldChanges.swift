import Foundation
import ITSMPostgres

/// The fields a change sets on one record: for each, the column and the value it stores, and
/// the old and new text its history row keeps. Only real changes are recorded, so an update
/// that repeats the current values writes nothing.
///
/// ```swift
/// var fields = FieldChanges()
/// fields.set("owner", "owner", current.owner, params.owner)
/// var update: PostgresQuery = "UPDATE problem.problem SET updated_at = now()"
/// update.append(fields.assignments)
/// ```
public struct FieldChanges: Sendable {
    public struct Change: Sendable {
        public var field: String
        /// A fixed column name, never input.
        public var column: String
        public var old: String?
        public var new: String?
        public var bind: PostgresQuery
    }

    public private(set) var changes: [Change] = []

    public init() {}

    public var isEmpty: Bool { changes.isEmpty }

    /// Records a change when `new` differs from `old`; `value` is what the column stores
    /// (`new` itself when not given).
    public mutating func set(_ field: String, _ column: String, _ old: String?, _ new: String?, value: (any PostgresEncodable)? = nil) {
        var bind = PostgresQuery(unsafeSQL: "")
        if let value { bind.append("\(value)") } else { bind.append("\(new)") }
        set(field, column, old, new, bind: bind)
    }

    /// The same with the stored value written as a query fragment, e.g. `"\(date)::date"`.
    public mutating func set(_ field: String, _ column: String, _ old: String?, _ new: String?, bind: PostgresQuery) {
        guard old != new else { return }
        changes.append(Change(field: field, column: column, old: old, new: new, bind: bind))
    }

    /// A timestamp column; history shows it in ISO 8601.
    public mutating func setTime(_ field: String, _ column: String, _ old: Date?, _ new: Date?) {
        set(field, column, old?.formatted(.iso8601), new?.formatted(.iso8601), bind: "\(new)")
    }

    /// `, column = $n` for each change, to follow `UPDATE … SET updated_at = …`.
    public var assignments: PostgresQuery {
        var query = PostgresQuery(unsafeSQL: "")
        for change in changes {
            query.append(PostgresQuery(unsafeSQL: ", \(change.column) = "))
            query.append(change.bind)
        }
        return query
    }
}
