import Foundation
import ITSMPostgres
import ITSMProtocol
import ITSMSystem

/// What every list that pages by cursor checks of its params.
public enum ListPaging {
    /// A list's `after`, or its `offset`, never both: a page is found one way.
    public static func checkOnlyOne(offset: Int?, after: String?) throws(ResponseError) {
        guard offset == nil || after == nil else {
            throw ResponseError.invalidParams("after: cannot be combined with offset; pass one or the other")
        }
    }

    /// A page read with one row more than `limit`, which says whether a next page exists: the
    /// rows to answer, and the next page's cursor, made from the last row answered, when there is one.
    public static func page<Rows: Collection>(_ rows: Rows, limit: Int, cursor: (Rows.Element) throws -> String) rethrows
        -> (rows: [Rows.Element], nextCursor: String?)
    {
        let page = Array(rows.prefix(limit))
        guard rows.count > limit else { return (page, nil) }
        return (page, try page.last.map(cursor))
    }
}

/// Where a page of a list newest first (`created_at DESC, number DESC`) ends, handed out as
/// `nextCursor` and taken back as `after`. The next page starts after that record by index,
/// so it costs the same however deep it is, and a record created meanwhile shifts nothing.
public struct NewestFirstCursor: Sendable, Equatable {
    /// Microseconds since 1970: what PostgreSQL keeps of a timestamp.
    public var createdAt: Int64
    public var number: String

    public init(createdAt: Date, number: String) {
        self.createdAt = Int64((createdAt.timeIntervalSince1970 * 1_000_000).rounded())
        self.number = number
    }

    /// A cursor this type handed out; nil for anything else.
    public init?(_ text: String) {
        guard text.count <= 400, let bytes = ByteText.bytes(base64URL: text),
              let decoded = String(validating: bytes, as: UTF8.self) else { return nil }
        let parts = decoded.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let micros = Int64(parts[0]), !parts[1].isEmpty else { return nil }
        createdAt = micros
        number = String(parts[1])
    }

    /// `created.number`, base64url: a number may be text of the caller's making.
    public var text: String { ByteText.base64URL(Array("\(createdAt).\(number)".utf8)) }

    /// The cursor in `after` (checked against `offset`), refused by name when it is not one.
    public static func parse(_ after: String?, offset: Int?) throws(ResponseError) -> NewestFirstCursor? {
        try ListPaging.checkOnlyOne(offset: offset, after: after)
        guard let after else { return nil }
        guard let cursor = NewestFirstCursor(after) else {
            throw ResponseError.invalidParams("after: not a nextCursor of this list")
        }
        return cursor
    }

    /// ` AND (created_at, number) < (…)`, with the columns as the statement names them
    /// (e.g. `r.created_at`); an index on (created_at, number) answers it.
    public func condition(createdAt column: String = "created_at", number numberColumn: String = "number") -> PostgresQuery {
        var condition = PostgresQuery(unsafeSQL: " AND (\(column), \(numberColumn)) < ")
        condition.append("(\(createdAtDate), \(number))")
        return condition
    }

    /// The same for a list whose ties are broken by a UUID `id` (the cursor's number holds it).
    public func condition(createdAt column: String = "created_at", id idColumn: String) throws(ResponseError) -> PostgresQuery {
        guard let id = UUID(uuidString: number) else { throw ResponseError.invalidParams("after: not a nextCursor of this list") }
        var condition = PostgresQuery(unsafeSQL: " AND (\(column), \(idColumn)) < ")
        condition.append("(\(createdAtDate), \(id))")
        return condition
    }

    private var createdAtDate: Date { Date(timeIntervalSince1970: Double(createdAt) / 1_000_000) }
}

/// How many records a list's filter matches, without counting a million of them: exactly up
/// to `limit`, PostgreSQL's estimate beyond it (never below the limit, which is known to be
/// passed).
///
/// With `anyOf`, the records are those matching `filter` and at least one of these conditions
/// (what a person may see: theirs, their groups'). Each is first counted on its own, up to the
/// limit, which an index answers without reading the table. Should one pass the limit, so do
/// they all together; otherwise the few records found are told apart by `id`. Their `OR` made
/// PostgreSQL gather every index entry of all of them first (a group's 50,000 records at a
/// million), and a union by `id` read a table page per record (docs/benchmarks.md).
public enum CappedCount {
    public static func count(_ database: PluginDatabase, from table: String, where filter: PostgresQuery,
                             anyOf sources: [PostgresQuery] = [],
                             limit: Int = 1_000) async throws -> (total: Int, estimated: Bool) {
        func capped(_ source: PostgresQuery?, selecting column: String) -> PostgresQuery {
            var query = PostgresQuery(unsafeSQL: "SELECT \(column) FROM \(table)")
            query.append(filter)
            if let source {
                query.append(" AND ")
                query.append(source)
            }
            query.append(" LIMIT \(limit + 1)")
            return query
        }
        // Without sources, the filter alone is the one thing counted.
        let conditions: [PostgresQuery?] = sources.isEmpty ? [nil] : sources
        var each = PostgresQuery(unsafeSQL: "SELECT ")
        for (index, condition) in conditions.enumerated() {
            each.append(PostgresQuery(unsafeSQL: index == 0 ? "(SELECT count(*) FROM (" : ", (SELECT count(*) FROM ("))
            each.append(capped(condition, selecting: "1"))
            each.append(PostgresQuery(unsafeSQL: ") AS counted) AS n\(index)"))
        }
        let row = try await database.query(each.plannedForEachRun()).single()
        let counts = try conditions.indices.map { try row.decode(Int.self, "n\($0)") }
        let total: Int
        if counts.contains(where: { $0 > limit }) || counts.filter({ $0 > 0 }).count < 2 {
            total = counts.max() ?? 0
        } else {
            var union = PostgresQuery(unsafeSQL: "SELECT count(*) AS n FROM (")
            for (index, source) in sources.enumerated() {
                union.append(PostgresQuery(unsafeSQL: index == 0 ? "(" : " UNION ("))
                union.append(capped(source, selecting: "id"))
                union.append(")")
            }
            union.append(") AS counted")
            total = try await database.query(union.plannedForEachRun()).single().decode(Int.self, "n")
        }
        guard total > limit else { return (total, false) }
        var explain = PostgresQuery(unsafeSQL: "EXPLAIN (FORMAT JSON) SELECT 1 FROM \(table)")
        explain.append(filter)
        if !sources.isEmpty {
            explain.append(" AND (")
            for (index, source) in sources.enumerated() {
                if index > 0 { explain.append(" OR ") }
                explain.append(source)
            }
            explain.append(")")
        }
        let plan = try await database.query(explain.plannedForEachRun()).single().decode(PostgresJSON.self, "QUERY PLAN")
        let rows = try JSONDecoder().decode([PlanOutput].self, from: Data(plan.text.utf8)).first?.plan.rows ?? 0
        return (max(Int(rows), limit + 1), true)
    }

    private struct PlanOutput: Decodable {
        struct Plan: Decodable {
            var rows: Double
            enum CodingKeys: String, CodingKey { case rows = "Plan Rows" }
        }
        var plan: Plan
        enum CodingKeys: String, CodingKey { case plan = "Plan" }
    }
}
