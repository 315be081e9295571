import Foundation
import IncidentProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import ITSMSystem

/// `incident.list`: a page costs the same on a history of ten thousand records as on one of
/// millions. Pages follow a cursor (the last record's sort key), so no page skips rows; the
/// total is counted only up to `IncidentPage.exactTotalLimit` and estimated beyond; every
/// filter leads an index (migration 13).
extension IncidentStore {
    public func list(_ params: ListIncidents) async throws -> IncidentPage {
        let limit = params.limit ?? 50
        guard (1...ListIncidents.maximumLimit).contains(limit) else {
            throw ResponseError.invalidParams("limit: between 1 and \(ListIncidents.maximumLimit)")
        }
        try ListPaging.checkOnlyOne(offset: params.offset, after: params.after)
        let offset = params.offset ?? 0
        guard offset >= 0 else { throw ResponseError.invalidParams("offset: must not be negative") }
        let sort = params.sort ?? .created
        let order = params.order ?? .desc
        let after = try params.after.map { text throws(ResponseError) in
            guard let cursor = ListCursor(text), cursor.sort == sort, cursor.order == order else {
                throw ResponseError.invalidParams("after: not a nextCursor of a list in this sort and order")
            }
            return cursor
        }

        let groups = viewer?.reach == .groups ? try await viewer?.groups(in: database) : nil
        let filter = try condition(of: params)
        let (total, estimated) = try await CappedCount.count(database, from: "incident.incident", where: filter,
                                                             anyOf: viewer?.sources(groups: groups) ?? [],
                                                             limit: IncidentPage.exactTotalLimit)

        var page: PostgresQuery = "SELECT \(unsafeSQL: Incident.columns) FROM incident.incident"
        page.append(filter)
        if let viewer { page.append(viewer.condition(groups: groups)) }
        if let after { page.append(after.condition()) }
        // Column and direction come from closed enums, never from the caller's text. Ties go by
        // number, so a page's order is stable and reads naturally.
        let direction = order == .asc ? "ASC" : "DESC"
        page.append(PostgresQuery(unsafeSQL: " ORDER BY \(ListCursor.column(of: sort)) \(direction), number \(direction)"))
        // One more than asked for says whether a next page exists without counting.
        page.append(" LIMIT \(limit + 1) OFFSET \(offset)")
        // Planned for the values each time, as the count: which index wins depends on them.
        let rows = try await database.query(page.plannedForEachRun()).map(Incident.init(row:))
        let (items, cursor) = ListPaging.page(rows, limit: limit) { ListCursor(sort: sort, order: order, after: $0).text }
        let nextOffset = cursor != nil && params.after == nil ? offset + items.count : nil
        return IncidentPage(items: items, total: total, totalIsEstimate: estimated ? true : nil, nextCursor: cursor, nextOffset: nextOffset)
    }

    /// The filters as a `WHERE` clause, without the viewer's reach.
    private func condition(of params: ListIncidents) throws(ResponseError) -> PostgresQuery {
        var filter: PostgresQuery = " WHERE true"
        if let status = params.status { filter.append(" AND status = \(status.rawValue)") }
        if let priority = params.priority { filter.append(" AND priority = \(priority.rawValue)") }
        if let assignee = params.assignee { filter.append(" AND assignee = \(assignee)") }
        if let group = params.assignmentGroup { filter.append(" AND assignment_group = \(group)") }
        if let service = params.service { filter.append(" AND service = \(service)") }
        if let customer = params.customer { filter.append(" AND customer = \(customer)") }
        if let type = params.type { filter.append(" AND type = \(type.rawValue)") }
        if let category = params.category { filter.append(" AND category = \(category)") }
        if let item = params.configurationItem { filter.append(" AND ci = \(item)") }
        if let major = params.major { filter.append(" AND major = \(major)") }
        try filter.appendPeriods(params.recordPeriods + [
            PeriodFilter("resolved", column: "resolved_at", from: params.resolvedFrom, to: params.resolvedTo),
            PeriodFilter("closed", column: "closed_at", from: params.closedFrom, to: params.closedTo),
        ])
        // Spelled as the partial indexes of migration 15 spell them, so the planner can use them;
        // its trigger keeps both flags as the clocks stand.
        if let breached = params.breached { filter.append(PostgresQuery(unsafeSQL: breached ? " AND sla_breached" : " AND NOT sla_breached")) }
        if let atRisk = params.atRisk { filter.append(PostgresQuery(unsafeSQL: atRisk ? " AND sla_at_risk" : " AND NOT sla_at_risk")) }
        if let open = params.open {
            filter.append(PostgresQuery(unsafeSQL: open ? " AND status IN \(Self.openStatuses)" : " AND status NOT IN \(Self.openStatuses)"))
        }
        if let unassigned = params.unassigned { filter.append(PostgresQuery(unsafeSQL: unassigned ? " AND assignee IS NULL" : " AND assignee IS NOT NULL")) }
        return filter
    }
}

extension IncidentStore {
    /// The open statuses as an SQL list, from the lifecycle's own definition.
    static let openStatuses = "(" + IncidentStatus.allCases.filter(\.isOpen).map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"
}

extension ListIncidents: RecordPeriods {}

/// Where a page ends: the sort key of its last record, handed out as `nextCursor` and taken
/// back as `after`. Opaque to clients; it names its sort and order so it is refused in another.
struct ListCursor: Equatable {
    var sort: ListIncidents.Sort
    var order: ListIncidents.Order
    /// The sort column's value: microseconds since 1970 for times, the priority's number.
    var value: Int64
    var number: String

    init(sort: ListIncidents.Sort, order: ListIncidents.Order, value: Int64, number: String) {
        self.sort = sort
        self.order = order
        self.value = value
        self.number = number
    }

    init(sort: ListIncidents.Sort, order: ListIncidents.Order, after incident: Incident) {
        let value: Int64
        switch sort {
        case .created: value = Self.micros(incident.createdAt)
        case .updated: value = Self.micros(incident.updatedAt)
        case .priority: value = Int64(incident.priority.rawValue)
        case .number: value = 0
        }
        self.init(sort: sort, order: order, value: value, number: incident.number)
    }

    /// `sort.order.value.number`, base64url: the number is text of the caller's making (an
    /// import keeps external numbers), so the cursor is not split on it unencoded.
    var text: String {
        ByteText.base64URL(Array("\(sort.rawValue).\(order.rawValue).\(value).\(number)".utf8))
    }

    init?(_ text: String) {
        guard text.count <= 400 else { return nil }
        guard let bytes = ByteText.bytes(base64URL: text), let decoded = String(validating: bytes, as: UTF8.self) else { return nil }
        let parts = decoded.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, let sort = ListIncidents.Sort(rawValue: String(parts[0])),
              let order = ListIncidents.Order(rawValue: String(parts[1])), let value = Int64(parts[2]), !parts[3].isEmpty else { return nil }
        self.init(sort: sort, order: order, value: value, number: String(parts[3]))
    }

    static func column(of sort: ListIncidents.Sort) -> String {
        switch sort {
        case .created: "created_at"
        case .updated: "updated_at"
        case .priority: "priority"
        case .number: "number"
        }
    }

    /// The records after this one in the list's order, as a row comparison an index on
    /// (column, number) answers.
    func condition() -> PostgresQuery {
        let comparison = PostgresQuery(unsafeSQL: order == .asc ? " > " : " < ")
        var condition: PostgresQuery
        switch sort {
        case .created, .updated:
            condition = PostgresQuery(unsafeSQL: " AND (\(Self.column(of: sort)), number)")
            condition.append(comparison)
            condition.append("(\(Date(timeIntervalSince1970: Double(value) / 1_000_000)), \(number))")
        case .priority:
            condition = " AND (priority, number)"
            condition.append(comparison)
            condition.append("(\(Int(value)), \(number))")
        case .number:
            condition = " AND number"
            condition.append(comparison)
            condition.append("\(number)")
        }
        return condition
    }

    private static func micros(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
}
