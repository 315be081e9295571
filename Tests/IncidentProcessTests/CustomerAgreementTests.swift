import Foundation
import IncidentProcess
import ITSMCalendar
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import ServiceProtocol
import Testing

/// Customers' agreements, learned from the service process's events, measure the incidents of
/// the people who speak for them; everyone else keeps the default targets.
@Suite struct CustomerAgreementTests {
    static func at(_ text: String) -> Date { try! Date.ISO8601FormatStyle().parse(text) }

    static func agreement(_ reference: String = "ACME-2026", resolution: Int, from: String = "2026-01-01", to: String = "2026-12-31",
                          status: Agreement.Status = .active) -> Agreement {
        Agreement(
            reference: reference, customer: "Acme", service: "email", status: status, validFrom: from, validTo: to,
            targets: AgreementTargets(priorities: [PriorityTarget(priority: "P2", responseMinutes: 10, resolutionMinutes: resolution)]),
            calendar: .always, createdAt: Date(), updatedAt: Date())
    }

    static func customer(contacts: [String]) -> Customer {
        Customer(name: "Acme", description: "", status: .active, contacts: contacts, createdAt: Date(), updatedAt: Date())
    }

    static func service(_ name: String, _ status: ServiceStatus) -> Service {
        Service(name: name, description: "", status: status, customers: [], configurationItems: [], createdAt: Date(), updatedAt: Date())
    }

    func create(_ store: IncidentStore, caller: String, at time: String) async throws -> Incident {
        var params = CreateIncident(title: "Mail delayed for \(caller)", impact: .high, urgency: .medium)
        params.service = "email"
        params.caller = caller
        return try await store.create(params, actor: "desk", idempotencyKey: nil, now: Self.at(time))
    }

    func target(_ store: IncidentStore, _ incident: Incident, _ kind: ClockKind) async throws -> Int? {
        try await store.clocks(of: incident.id, now: incident.createdAt).first { $0.kind == kind }?.targetMinutes
    }

    func learn(_ store: IncidentStore, _ database: PluginDatabase, _ terms: Agreement, now: String) async throws {
        try await database.withTransaction { tx in try await store.learn(terms, in: tx, now: Self.at(now)) }
    }

    @Test func aContactsIncidentIsMeasuredByTheirCustomersAgreementAndOthersByTheDefault() async throws {
        let database = try await makeIncidentDatabase("slaagree")
        let store = IncidentStore(database: database)
        _ = try await store.defineServiceLevel(ServiceLevelDefinition(service: "email", priority: Priority(rawValue: 2)!, responseMinutes: 30,
                                                                      resolutionMinutes: 480, calendar: .always))
        try await database.withTransaction { tx in
            try await store.learn(Self.customer(contacts: ["rita"]), in: tx)
        }
        try await learn(store, database, Self.agreement(resolution: 120), now: "2026-01-01T00:00:00Z")

        let ritas = try await create(store, caller: "rita", at: "2026-05-04T10:00:00Z")
        let bobs = try await create(store, caller: "bob", at: "2026-05-04T10:00:00Z")
        #expect(try await target(store, ritas, .resolution) == 120)
        #expect(try await target(store, ritas, .response) == 10)
        #expect(try await target(store, bobs, .resolution) == 480)
        // Outside the agreement's period, the default applies again.
        let late = try await create(store, caller: "rita", at: "2027-01-05T10:00:00Z")
        #expect(try await target(store, late, .resolution) == 480)

        // A changed agreement moves the open clocks it governs at once, with a history entry.
        try await learn(store, database, Self.agreement(resolution: 60), now: "2026-05-04T10:05:00Z")
        #expect(try await target(store, ritas, .resolution) == 60)
        #expect(try await target(store, bobs, .resolution) == 480)
        let history = try #require(try await store.get(GetIncident(id: ritas.id, history: true)).history)
        #expect(history.contains { $0.field == "sla.resolution" && $0.actor == "agreement:ACME-2026" && $0.newValue?.hasPrefix("60 min") == true })
        // A terminated agreement measures nothing new.
        try await learn(store, database, Self.agreement(resolution: 60, status: .terminated), now: "2026-05-05T00:00:00Z")
        #expect(try await target(store, try await create(store, caller: "rita", at: "2026-05-06T10:00:00Z"), .resolution) == 480)
        // A person who stops speaking for the customer: later records are not the customer's; earlier ones stay.
        try await learn(store, database, Self.agreement(resolution: 60), now: "2026-05-06T11:00:00Z")
        try await database.withTransaction { tx in
            try await store.learn(Self.customer(contacts: []), in: tx)
        }
        let afterwards = try await create(store, caller: "rita", at: "2026-05-07T10:00:00Z")
        #expect(try await target(store, afterwards, .resolution) == 480)
        #expect(try await target(store, ritas, .resolution) == 60)

        // The record says whose it is, and the desk lists a customer's records.
        #expect(ritas.customer == "Acme" && bobs.customer == nil && afterwards.customer == nil)
        var acme = ListIncidents()
        acme.customer = "Acme"
        let listed = Set(try await store.list(acme).items.map(\.id)) // rita's four records but the last
        #expect(listed.count == 3 && listed.isSuperset(of: [ritas.id, late.id]) && !listed.contains(afterwards.id))
    }

    /// The figures a service report takes, against a hand count.
    @Test func aCustomersFiguresForAPeriodAreCountedFromItsRecordsClocks() async throws {
        let database = try await makeIncidentDatabase("slafigures")
        let store = IncidentStore(database: database)
        _ = try await store.defineServiceLevel(ServiceLevelDefinition(service: "email", priority: Priority(rawValue: 2)!, responseMinutes: 30,
                                                                      resolutionMinutes: 480, calendar: .always))
        try await database.withTransaction { tx in
            try await store.learn(Self.customer(contacts: ["rita", "raj"]), in: tx)
        }
        try await learn(store, database, Self.agreement(resolution: 60), now: "2026-01-01T00:00:00Z")
        func resolve(_ incident: Incident, started: String, resolved: String) async throws {
            _ = try await store.transition(TransitionIncident(id: incident.id, to: .inProgress), actor: "alan", now: Self.at(started))
            _ = try await store.transition(TransitionIncident(id: incident.id, to: .resolved, resolutionCode: "fixed", resolutionNotes: "done"),
                                           actor: "alan", now: Self.at(resolved))
        }
        // A: responded in 5, resolved in 30 (both met). B: responded in 20, resolved in 120 (both missed).
        // C: left open past both deadlines (both breached, still running). Bob's and July's do not count.
        let a = try await create(store, caller: "rita", at: "2026-06-01T10:00:00Z")
        try await resolve(a, started: "2026-06-01T10:05:00Z", resolved: "2026-06-01T10:30:00Z")
        let b = try await create(store, caller: "raj", at: "2026-06-02T10:00:00Z")
        try await resolve(b, started: "2026-06-02T10:20:00Z", resolved: "2026-06-02T12:00:00Z")
        let c = try await create(store, caller: "rita", at: "2026-06-03T10:00:00Z")
        _ = try await store.scanServiceLevels(now: Self.at("2026-06-03T12:00:00Z"))
        _ = try await create(store, caller: "bob", at: "2026-06-04T10:00:00Z")
        _ = try await create(store, caller: "rita", at: "2026-07-01T10:00:00Z")

        let figures = try await store.customerFigures(CustomerFiguresParams(customer: "Acme", service: "email", from: Self.at("2026-06-01T00:00:00Z"),
                                                                            to: Self.at("2026-07-01T00:00:00Z")))
        #expect(figures.created == 3 && figures.resolved == 2)
        #expect(figures.byPriority.map { [$0.created, $0.responseMeasured, $0.responseMet, $0.resolutionMeasured, $0.resolutionMet] } == [[3, 2, 1, 2, 1]],
                "\(figures.byPriority)")
        #expect(figures.breaches.map { "\($0.number) \($0.clock) \($0.targetMinutes) \($0.stoppedAt == nil ? "running" : "stopped")" } == [
            "\(b.number) resolution 60 stopped", "\(b.number) response 10 stopped",
            "\(c.number) resolution 60 running", "\(c.number) response 10 running",
        ])
        #expect(!figures.breaches.contains { $0.number == a.number })
    }
}

/// The service catalogue, once the service process has published one, is where records take
/// their service from.
@Suite struct ServiceCatalogueTests {
    @Test func recordsNameACatalogueServiceOnceThereIsACatalogue() async throws {
        let database = try await makeIncidentDatabase("catalogue")
        let store = IncidentStore(database: database)
        func create(_ service: String) async throws -> Incident {
            var params = CreateIncident(title: "Something on \(service)")
            params.service = service
            return try await store.create(params, actor: "desk", idempotencyKey: nil)
        }
        // Before there is a catalogue, a service is free text.
        let early = try await create("Web shop")
        try await database.withTransaction { tx in
            try await store.learn(CustomerAgreementTests.service("Email", .live), in: tx)
            try await store.learn(CustomerAgreementTests.service("Fax", .retired), in: tx)
        }
        #expect(try await create("email").service == "email")
        await #expect(throws: ResponseError.invalidParams("service: 'Web shop' is not in the service catalogue (itsm service list)")) {
            try await create("Web shop")
        }
        await #expect(throws: ResponseError.invalidParams("service: Fax is retired")) { try await create("Fax") }
        var change = UpdateIncident(id: early.id)
        change.service = "Intranet"
        await #expect(throws: ResponseError.invalidParams("service: 'Intranet' is not in the service catalogue (itsm service list)")) {
            try await store.update(change, actor: "desk")
        }
        // Other changes to a record made before the catalogue leave its service alone.
        var retitle = UpdateIncident(id: early.id)
        retitle.title = "Web shop slow"
        #expect(try await store.update(retitle, actor: "desk").service == "Web shop")
        #expect(try await store.serviceNames().map { "\($0.name) \($0.records)" } == ["Web shop 1", "email 1"])
    }
}
