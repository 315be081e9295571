import Foundation
import IncidentProcess
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import Testing

@Suite struct IncidentQueryTests {
    @Test func searchFindsByMeaningfulWordsBestFirst() async throws {
        let database = try await makeIncidentDatabase("search")
        let store = IncidentStore(database: database)
        var mail = CreateIncident(title: "Mail relay queue growing")
        mail.description = "Outbound messages stuck in the relay since the certificate renewal."
        let mailRecord = try await store.create(mail, actor: "a", idempotencyKey: nil)
        var printer = CreateIncident(title: "Printer jams on floor 3")
        printer.description = "Paper jam every few pages."
        let printerRecord = try await store.create(printer, actor: "a", idempotencyKey: nil)
        let vpn = try await store.create(CreateIncident(title: "VPN drops"), actor: "a", idempotencyKey: nil)
        _ = try await store.comment(CommentOnIncident(id: vpn.id, body: "Client log shows SMTP timeouts through the tunnel"), actor: "a")

        #expect(try await store.search(SearchIncidents(query: "relay")).first?.incident.id == mailRecord.id)
        // Stemming: "printers jammed" matches "Printer jams".
        let jammed = try await store.search(SearchIncidents(query: "printers jammed"))
        #expect(jammed.map(\.incident.id) == [printerRecord.id])
        #expect(jammed[0].snippet.contains("<b>"))
        // Found through a comment.
        #expect(try await store.search(SearchIncidents(query: "smtp timeout")).map(\.incident.id) == [vpn.id])
        // Web search syntax: a phrase, and exclusion.
        #expect(try await store.search(SearchIncidents(query: "\"relay queue\" -printer")).map(\.incident.id) == [mailRecord.id])
        _ = try await store.transition(TransitionIncident(id: mailRecord.id, to: .resolved, resolutionCode: "fixed",
                                                          resolutionNotes: "renewed the relay certificate chain"), actor: "a")
        #expect(try await store.search(SearchIncidents(query: "relay", open: true)).isEmpty)
        #expect(try await store.search(SearchIncidents(query: "certificate chain")).first?.incident.id == mailRecord.id)
        await #expect(throws: ResponseError.self) { try await store.search(SearchIncidents(query: "  ")) }
        // Text that is not search syntax is just text, never SQL.
        #expect(try await store.search(SearchIncidents(query: "'); DROP TABLE incident.incident; --")).isEmpty)
    }

    @Test func statsMatchFiguresComputedByHand() async throws {
        let database = try await makeIncidentDatabase("stats")
        let store = IncidentStore(database: database)
        _ = try await store.defineServiceLevel(ServiceLevelDefinition(priority: Priority(rawValue: 1)!, responseMinutes: 15,
                                                                      resolutionMinutes: 60, calendar: .always))
        let t0 = Date(timeIntervalSince1970: 1_795_454_529)
        func create(_ title: String, _ impact: Level, _ urgency: Level, at offset: TimeInterval) async throws -> Incident {
            try await store.create(CreateIncident(title: title, impact: impact, urgency: urgency), actor: "a", idempotencyKey: nil,
                                   now: t0 + offset)
        }
        func resolve(_ record: Incident, at offset: TimeInterval) async throws {
            _ = try await store.transition(TransitionIncident(id: record.id, to: .resolved, resolutionCode: "fixed", resolutionNotes: "n"),
                                           actor: "a", now: t0 + offset)
        }
        // P1: resolved after 30 and 90 minutes (one within the 60-minute target, one not); one still open.
        let a = try await create("a", .high, .high, at: 0)
        let b = try await create("b", .high, .high, at: 0)
        _ = try await create("c", .high, .high, at: 600)
        try await resolve(a, at: 30 * 60)
        try await resolve(b, at: 90 * 60)
        // P3: resolved after 120 minutes; one open and assigned.
        let d = try await create("d", .medium, .medium, at: 0)
        try await resolve(d, at: 120 * 60)
        let e = try await create("e", .medium, .medium, at: 60)
        _ = try await store.assign(AssignIncident(id: e.id, assignee: "alice"), actor: "a", now: t0 + 120)
        _ = try await store.scanServiceLevels(now: t0 + 200 * 60) // the open P1 is past its target

        let stats = try await store.stats(IncidentStatsParams(from: t0 - 60, to: t0 + 24 * 3600))
        #expect(stats.openByPriority == ["P1": 1, "P3": 1])
        #expect(stats.openByStatus == ["new": 1, "assigned": 1])
        #expect(stats.openBreached == 1)
        #expect(stats.createdInPeriod == 5 && stats.resolvedInPeriod == 3)
        let p1 = try #require(stats.byPriority["P1"])
        #expect(p1.resolved == 2 && p1.meanMinutesToResolve == 60)
        #expect(p1.measured == 2 && p1.withinTarget == 1)
        #expect(stats.byPriority["P3"]?.meanMinutesToResolve == 120)
        #expect(stats.byPriority["P3"]?.measured == 0) // no service level for P3

        // Filters for the same dashboards.
        // a and b were resolved straight from new, after 30 and 90 minutes: both missed the
        // 15-minute response target (and b the resolution target), so they are breached too.
        #expect(try await store.list(ListIncidents(breached: true)).items.map(\.title) == ["c", "b", "a"])
        // The desk's queues: open and nobody on it (c, new), open (e and c), and the others.
        var unassigned = ListIncidents(sort: .created, order: .asc)
        (unassigned.open, unassigned.unassigned) = (true, true)
        #expect(try await store.list(unassigned).items.map(\.title) == ["c"])
        var open = ListIncidents(sort: .created, order: .asc)
        open.open = true
        #expect(try await store.list(open).items.map(\.title) == ["e", "c"])
        open.open = false
        #expect(try await store.list(open).items.map(\.title) == ["a", "b", "d"])
        var assigned = ListIncidents(sort: .created, order: .asc)
        assigned.unassigned = false
        #expect(try await store.list(assigned).items.map(\.title) == ["e"])
        var byPriority = ListIncidents(sort: .priority, order: .asc)
        byPriority.resolvedFrom = t0
        #expect(try await store.list(byPriority).items.map(\.title) == ["a", "b", "d"])
        await #expect(throws: ResponseError.self) { try await store.stats(IncidentStatsParams(from: t0, to: t0 - 1)) }
    }
}

extension ListIncidents {
    init(breached: Bool? = nil, sort: Sort? = nil, order: Order? = nil) {
        self.init(status: nil)
        self.breached = breached
        self.sort = sort
        self.order = order
    }
}
