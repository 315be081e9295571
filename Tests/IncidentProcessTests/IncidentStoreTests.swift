import Foundation
import IncidentProcess
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import ITSMTesting
import Logging
import Testing

let logger = Logger(label: "itsm.test.incident")

/// A migrated database with the core and incident schemas.
func makeIncidentDatabase(_ label: String) async throws -> PluginDatabase {
    let pool = try await TestPostgres.makeMigratedPool(label: label, schema: IncidentSchema.name, migrations: IncidentSchema.migrations)
    return PluginDatabase(pool: pool, source: "incident")
}

@Suite struct IncidentStoreTests {
    /// Made by the database (`incident.next_number`), for creates and imports alike.
    @Test func numbersArePaddedNotTruncated() async throws {
        let database = try await makeIncidentDatabase("numbers")
        let store = IncidentStore(database: database)
        try await database.pool.query("SELECT setval('incident.request_number_seq', 41), setval('incident.incident_number_seq', 1234566)")
        #expect(try await store.create(CreateIncident(title: "Access", type: .request), actor: "a", idempotencyKey: nil).number == "REQ-000042")
        #expect(try await store.create(CreateIncident(title: "Outage"), actor: "a", idempotencyKey: nil).number == "INC-1234567")
    }

    @Test func createNumbersPrioritizesRecordsHistoryAndPublishes() async throws {
        let database = try await makeIncidentDatabase("create")
        let store = IncidentStore(database: database)
        var params = CreateIncident(title: "  Mail server down  ", impact: .high, urgency: .medium)
        params.service = "email"
        let first = try await store.create(params, actor: "token:agent", idempotencyKey: nil)
        #expect(first.number == "INC-000001")
        #expect(first.title == "Mail server down")
        #expect(first.priority.description == "P2")
        #expect(first.status == .new)
        let request = try await store.create(CreateIncident(title: "New laptop", type: .request), actor: "token:agent", idempotencyKey: nil)
        #expect(request.number == "REQ-000001")
        #expect(request.priority.description == "P3")
        let second = try await store.create(CreateIncident(title: "VPN flaky"), actor: "token:agent", idempotencyKey: nil)
        #expect(second.number == "INC-000002")

        let detail = try await store.get(GetIncident(number: "inc-000001", history: true))
        #expect(detail.incident == first)
        let fields = Set(detail.history?.map(\.field) ?? [])
        #expect(fields.isSuperset(of: ["number", "title", "status", "impact", "urgency", "priority", "service"]))
        #expect(detail.history?.allSatisfy { $0.actor == "token:agent" } == true)

        let events = try await database.query("SELECT type, source, subject, payload FROM itsm.outbox ORDER BY id")
        #expect(events.count == 3)
        #expect(try events[0].decode(String.self, "type") == "incident.created")
        #expect(try events[0].decode(String.self, "source") == "incident")
        #expect(try events[0].decode(String.self, "subject") == first.id.uuidString.lowercased())
        let payload = try events[0].decode(PostgresJSON.self, "payload").decode(JSONValue.self)
        #expect(payload["number"] == "INC-000001")
        #expect(payload["priority"] == "P2")
    }

    @Test func historyCannotBeRewritten() async throws {
        let database = try await makeIncidentDatabase("appendonly")
        _ = try await IncidentStore(database: database).create(CreateIncident(title: "x"), actor: "a", idempotencyKey: nil)
        await #expect(throws: PostgresError.self) { try await database.query("UPDATE incident.history SET actor = 'someone else'") }
        await #expect(throws: PostgresError.self) { try await database.query("DELETE FROM incident.history") }
    }

    @Test func idempotencyKeyReturnsTheFirstRecord() async throws {
        let database = try await makeIncidentDatabase("idem")
        let store = IncidentStore(database: database)
        let attempts = try await withThrowingTaskGroup(of: Incident.self) { group in
            for _ in 0..<5 {
                group.addTask { try await store.create(CreateIncident(title: "Printer jam"), actor: "a", idempotencyKey: "key-1") }
            }
            return try await group.reduce(into: [Incident]()) { $0.append($1) }
        }
        #expect(Set(attempts.map(\.id)).count == 1)
        #expect(try await store.list(ListIncidents()).total == 1)
        #expect(try await database.query("SELECT count(*) AS n FROM itsm.outbox").single().decode(Int.self, "n") == 1)
    }

    @Test func rejectsBadInputWithTheFieldNamed() async throws {
        let database = try await makeIncidentDatabase("invalid")
        let store = IncidentStore(database: database)
        let empty = await #expect(throws: ResponseError.self) {
            try await store.create(CreateIncident(title: "   "), actor: "a", idempotencyKey: nil)
        }
        #expect(empty?.code == .invalidParams)
        #expect(empty?.message.contains("title") == true)
        let long = await #expect(throws: ResponseError.self) {
            try await store.create(CreateIncident(title: String(repeating: "x", count: 201)), actor: "a", idempotencyKey: nil)
        }
        #expect(long?.code == .invalidParams)
        let missing = await #expect(throws: ResponseError.self) { try await store.get(GetIncident(number: "INC-999999")) }
        #expect(missing?.kind == "incident.not_found")
        let both = await #expect(throws: ResponseError.self) { try await store.get(GetIncident(id: UUID(), number: "INC-000001")) }
        #expect(both?.code == .invalidParams)
        await #expect(throws: ResponseError.self) { try await store.list(ListIncidents(limit: 0)) }
        await #expect(throws: ResponseError.self) { try await store.list(ListIncidents(limit: 501)) }
        #expect(try await database.query("SELECT count(*) AS n FROM incident.incident").single().decode(Int.self, "n") == 0)
    }

    @Test func listFiltersAndPages() async throws {
        let database = try await makeIncidentDatabase("list")
        let store = IncidentStore(database: database)
        for n in 1...7 {
            var params = CreateIncident(title: "Incident \(n)", impact: n.isMultiple(of: 2) ? .high : .low, urgency: .high)
            params.assignee = n <= 3 ? "alice" : nil
            _ = try await store.create(params, actor: "a", idempotencyKey: nil)
        }
        let first = try await store.list(ListIncidents(limit: 3))
        #expect(first.items.map(\.title) == ["Incident 7", "Incident 6", "Incident 5"])
        #expect(first.total == 7)
        #expect(first.nextOffset == 3)
        let last = try await store.list(ListIncidents(limit: 3, offset: 6))
        #expect(last.items.map(\.title) == ["Incident 1"])
        #expect(last.nextOffset == nil)
        #expect(try await store.list(ListIncidents(assignee: "alice")).total == 3)
        #expect(try await store.list(ListIncidents(priority: Priority(rawValue: 1))).total == 3)
        #expect(try await store.list(ListIncidents(status: .assigned, assignee: "alice")).total == 3)
    }

    @Test func cursorPagesWalkEveryRecordOnceInEverySortAndOrder() async throws {
        let database = try await makeIncidentDatabase("listcursor")
        let store = IncidentStore(database: database)
        for n in 1...13 {
            _ = try await store.create(CreateIncident(title: "Incident \(n)", impact: n % 3 == 0 ? .high : .low, urgency: .medium),
                                       actor: "a", idempotencyKey: nil)
        }
        // Ties in every time column: the number must carry the order across a page's edge.
        try await database.query("UPDATE incident.incident SET updated_at = '2026-05-01T10:00:00.123456Z' WHERE number <= 'INC-000008'")
        try await database.query("UPDATE incident.incident SET created_at = '2026-04-01T08:00:00Z' WHERE number >= 'INC-000004'")
        for sort in ListIncidents.Sort.allCases {
            for order in ListIncidents.Order.allCases {
                var whole = ListIncidents(limit: 500)
                (whole.sort, whole.order) = (sort, order)
                let expected = try await store.list(whole).items.map(\.number)
                var params = whole
                params.limit = 4
                var walked: [String] = []
                while true {
                    let page = try await store.list(params)
                    walked += page.items.map(\.number)
                    #expect(page.total == 13 && page.totalIsEstimate == nil)
                    guard let cursor = page.nextCursor else { break }
                    params.after = cursor
                }
                #expect(walked == expected && Set(walked).count == 13, "\(sort) \(order): \(walked)")
            }
        }
        // A cursor is taken back only in the sort and order it came from.
        let cursor = try #require(try await store.list(ListIncidents(limit: 2)).nextCursor)
        var otherSort = ListIncidents(limit: 2)
        (otherSort.sort, otherSort.after) = (.updated, cursor)
        var withOffset = ListIncidents(limit: 2, offset: 2)
        withOffset.after = cursor
        var forged = ListIncidents(limit: 2)
        forged.after = "not-a-cursor"
        for params in [otherSort, withOffset, forged] {
            let refusal = await #expect(throws: ResponseError.self) { try await store.list(params) }
            #expect(refusal?.code == .invalidParams && refusal?.message.hasPrefix("after:") == true, "\(String(describing: refusal))")
        }
        // An agent limited to their groups sees their groups' records and their own.
        try await makeMember(database, account: "gus", of: "network")
        try await database.query("UPDATE incident.incident SET assignment_group = 'network' WHERE number IN ('INC-000002', 'INC-000005')")
        try await database.query("UPDATE incident.incident SET assignee = 'gus' WHERE number = 'INC-000009'")
        // In sight twice over (his group's, and he called it in), counted once.
        try await database.query("UPDATE incident.incident SET caller = 'gus' WHERE number = 'INC-000005'")
        var gus = store
        gus.viewer = Viewer(name: "gus", reach: .groups)
        let seen = try await gus.list(ListIncidents())
        #expect(seen.items.map(\.number).sorted() == ["INC-000002", "INC-000005", "INC-000009"])
        #expect(seen.total == 3 && seen.totalIsEstimate == nil, "\(seen.total)")
    }

    @Test func aTotalIsCountedUpToTheLimitAndEstimatedBeyondIt() async throws {
        let database = try await makeIncidentDatabase("listtotal")
        let store = IncidentStore(database: database)
        let beyond = IncidentPage.exactTotalLimit + 200
        try await database.query("""
            INSERT INTO incident.incident (number, type, title, impact, urgency, priority, status, created_by)
            SELECT 'INC-' || lpad(n::text, 6, '0'), 'incident', 'Bulk ' || n, 3, 3, 5, CASE WHEN n <= 5 THEN 'new' ELSE 'closed' END, 'test'
            FROM generate_series(1, \(beyond)) AS n
            """)
        try await database.query("ANALYZE incident.incident")
        let all = try await store.list(ListIncidents(limit: 10))
        #expect(all.totalIsEstimate == true && all.total > IncidentPage.exactTotalLimit, "\(all.total)")
        let few = try await store.list(ListIncidents(status: .new, limit: 2))
        #expect(few.total == 5 && few.totalIsEstimate == nil && few.nextCursor != nil && few.nextOffset == 2)
        // A person's total is counted source by source: a group past the limit makes it an
        // estimate, and a requester's handful stays exact.
        try await makeMember(database, account: "gus", of: "network")
        try await database.query("UPDATE incident.incident SET assignment_group = 'network', caller = CASE WHEN number <= 'INC-000007' THEN 'rita' END")
        var gus = store
        gus.viewer = Viewer(name: "gus", reach: .groups)
        let groups = try await gus.list(ListIncidents(limit: 10))
        #expect(groups.totalIsEstimate == true && groups.total > IncidentPage.exactTotalLimit, "\(groups.total)")
        var rita = store
        rita.viewer = Viewer(name: "rita", reach: .own)
        let own = try await rita.list(ListIncidents(limit: 10))
        #expect(own.total == 7 && own.totalIsEstimate == nil && own.items.count == 7, "\(own.total)")
    }
}

/// A person, a group and the person in it.
private func makeMember(_ database: PluginDatabase, account: String, of group: String) async throws {
    try await database.query("INSERT INTO itsm.account (name, display_name) VALUES (\(account), \(account))")
    try await database.query("INSERT INTO itsm.assignment_group (name) VALUES (\(group))")
    try await database.query("INSERT INTO itsm.group_member (group_name, account) VALUES (\(group), \(account))")
}
