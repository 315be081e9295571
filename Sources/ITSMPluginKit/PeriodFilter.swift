import Foundation
import ITSMPostgres
import ITSMProtocol

/// A list method's period filter: records whose `column` falls in `[from, to)`, given as the
/// params `<name>From` and `<name>To` (e.g. `createdFrom`, `createdTo`), so an auditor can ask
/// for the records of a period in every process the same way.
public struct PeriodFilter: Sendable {
    public var name: String
    public var column: String
    public var from: Date?
    public var to: Date?

    public init(_ name: String, column: String, from: Date?, to: Date?) {
        self.name = name
        self.column = column
        self.from = from
        self.to = to
    }
}

/// List params with the periods every record has: when it was created and last changed.
public protocol RecordPeriods {
    var createdFrom: Date? { get }
    var createdTo: Date? { get }
    var updatedFrom: Date? { get }
    var updatedTo: Date? { get }
}

extension RecordPeriods {
    /// The created and updated periods, on the `created_at` and `updated_at` columns.
    public var recordPeriods: [PeriodFilter] { recordPeriods(qualifiedBy: nil) }

    /// The same, the columns qualified by a table's alias (`d.created_at`) for a query that joins.
    public func recordPeriods(qualifiedBy alias: String?) -> [PeriodFilter] {
        let prefix = alias.map { "\($0)." } ?? ""
        return [PeriodFilter("created", column: prefix + "created_at", from: createdFrom, to: createdTo),
                PeriodFilter("updated", column: prefix + "updated_at", from: updatedFrom, to: updatedTo)]
    }
}

extension PostgresQuery {
    /// Appends ` AND <column> >= from` and ` AND <column> < to` for the bounds given. A period
    /// that ends before it starts is refused, naming its params.
    public mutating func appendPeriods(_ periods: [PeriodFilter]) throws(ResponseError) {
        for period in periods {
            if let from = period.from, let to = period.to, to < from {
                throw ResponseError.invalidParams("\(period.name)To: before \(period.name)From; the period would be empty")
            }
            // The column names come from the store's code, never from the request.
            if let from = period.from { append(" AND \(unsafeSQL: period.column) >= \(from)") }
            if let to = period.to { append(" AND \(unsafeSQL: period.column) < \(to)") }
        }
    }
}
