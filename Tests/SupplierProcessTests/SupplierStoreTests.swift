import Foundation
import IncidentProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import ITSMTesting
import SupplierProcess
import SupplierProtocol
import Testing

func makeSupplierStore(_ label: String, settings: SupplierSettings = SupplierSettings()) async throws -> (SupplierStore, PostgresPool) {
    let pool = try await TestPostgres.makeMigratedPool(label: label, schema: SupplierSchema.name, migrations: SupplierSchema.migrations)
    return (SupplierStore(database: PluginDatabase(pool: pool, source: "supplier"), settings: settings), pool)
}

/// A UTC instant from `2026-11-16T10:00:00Z` (a Monday) style text.
func instant(_ text: String) -> Date { try! Date.ISO8601FormatStyle().parse(text) }

/// An incident as the incident process publishes it.
func incident(_ id: UUID, _ number: String, supplier: String?, status: String, priority: String = "P2", updatedAt: Date,
              resolvedAt: Date? = nil) -> Incident {
    Incident(id: id, number: number, type: .incident, title: number, description: "", impact: .medium, urgency: .medium,
             priority: Priority(rawValue: Int(priority.dropFirst())!)!, status: IncidentStatus(rawValue: status)!, supplier: supplier,
             resolvedAt: resolvedAt, reopenCount: 0, major: false, escalationLevel: 0, createdBy: "test",
             createdAt: updatedAt, updatedAt: updatedAt)
}

extension SupplierStore {
    func observe(_ incident: Incident) async throws {
        try await database.withTransaction { tx in try await observe(tx, incident: incident) }
    }
}

@Suite struct SupplierPerformanceTests {
    /// The scenario: P2 resolution within 8 business hours; three incidents, one late.
    @Test func twoOfThreeWithinTargetAndTheMissIsAnnouncedOnce() async throws {
        let (store, pool) = try await makeSupplierStore("supscore")
        _ = try await store.create(CreateSupplier(name: "Acme Networks", kind: .external, owner: "vendor-manager"), actor: "a")
        let contract = try await store.addContract(AddContract(
            supplier: "Acme Networks", reference: "ACME-2026-01", startsOn: "2026-01-01", endsOn: "2027-12-31", noticeDays: 90,
            value: 120_000, currency: "EUR", targets: [Target(kind: .resolution, priority: "P2", minutes: 480)]), actor: "a")
        #expect(contract.noticeDeadline == "2027-10-02" && contract.targets.count == 1)

        let monday = instant("2026-11-16T10:00:00Z")
        let ids = (1...3).map { _ in UUID() }
        for (n, id) in ids.enumerated() {
            try await store.observe(incident(id, "INC-00000\(n + 1)", supplier: nil, status: "new", updatedAt: monday.addingTimeInterval(-60)))
            try await store.observe(incident(id, "INC-00000\(n + 1)", supplier: "Acme Networks", status: "on_hold", updatedAt: monday))
        }
        // Two back within 3 hours; one on Wednesday at 11:00: 7 + 8 + 2 = 17 business hours.
        try await store.observe(incident(ids[0], "INC-000001", supplier: "Acme Networks", status: "resolved",
                                         updatedAt: monday.addingTimeInterval(3 * 3600), resolvedAt: monday.addingTimeInterval(3 * 3600)))
        try await store.observe(incident(ids[1], "INC-000002", supplier: "acme networks", status: "resolved",
                                         updatedAt: monday.addingTimeInterval(2 * 3600), resolvedAt: monday.addingTimeInterval(2 * 3600)))
        let late = incident(ids[2], "INC-000003", supplier: "Acme Networks", status: "resolved",
                            updatedAt: instant("2026-11-18T11:00:00Z"), resolvedAt: instant("2026-11-18T11:00:00Z"))
        try await store.observe(late)
        try await store.observe(late) // delivered twice

        let cards = try await store.scorecards(ScorecardParams(from: instant("2026-11-01T00:00:00Z"), to: instant("2026-12-01T00:00:00Z")))
        let card = try #require(cards.first)
        #expect(card.volume == 3 && card.scored == 3 && card.withinTarget == 2 && card.breaches == 1, "\(card)")
        #expect(card.withinTargetPercent == 66.67)
        #expect(card.p90BusinessHours == 14.2 && card.meanBusinessHours == 7.33, "\(card)")
        let missed = try await pool.query("SELECT payload::text AS p FROM itsm.outbox WHERE type = 'supplier.target_missed'")
        #expect(missed.count == 1)
        #expect(try missed.first?.decode(String.self, "p").contains("\"actualMinutes\": 1020") == true)
    }

    @Test func handingTheIncidentBackIsNotScored() async throws {
        let (store, _) = try await makeSupplierStore("supreturn")
        _ = try await store.create(CreateSupplier(name: "Printers Ltd", kind: .external), actor: "a")
        _ = try await store.addContract(AddContract(supplier: "Printers Ltd", reference: "PR-1", startsOn: "2026-01-01", endsOn: "2027-01-01",
                                                    targets: [Target(kind: .resolution, minutes: 60)]), actor: "a")
        let id = UUID()
        let monday = instant("2026-11-16T10:00:00Z")
        try await store.observe(incident(id, "INC-000009", supplier: "Printers Ltd", status: "on_hold", updatedAt: monday))
        try await store.observe(incident(id, "INC-000009", supplier: nil, status: "in_progress", updatedAt: monday.addingTimeInterval(7200)))
        // An older event arriving late changes nothing.
        try await store.observe(incident(id, "INC-000009", supplier: "Printers Ltd", status: "on_hold", updatedAt: monday.addingTimeInterval(60)))
        try await store.observe(incident(id, "INC-000009", supplier: nil, status: "resolved", updatedAt: monday.addingTimeInterval(9000),
                                         resolvedAt: monday.addingTimeInterval(9000)))
        let card = try #require(try await store.scorecards(ScorecardParams(from: monday, to: monday.addingTimeInterval(86400))).first)
        #expect(card.volume == 0 && card.breaches == 0 && card.open == 0)
    }
}

@Suite struct ContractMilestoneTests {
    @Test func expiryIsAnnouncedOnceEvenWhenTwoInstancesLook() async throws {
        var settings = SupplierSettings()
        settings.expiryWarningDays = 30
        let (store, pool) = try await makeSupplierStore("supmilestone", settings: settings)
        _ = try await store.create(CreateSupplier(name: "Cloud Co", kind: .external), actor: "a")
        let today = instant("2026-11-23T12:00:00Z")
        // Ends 2027-02-20 with 60 days' notice: the deadline is 2026-12-22, 29 days away: inside the warning.
        _ = try await store.addContract(AddContract(supplier: "Cloud Co", reference: "CC-9", startsOn: "2026-01-01", endsOn: "2027-02-20",
                                                    noticeDays: 60), actor: "a")
        _ = try await store.addContract(AddContract(supplier: "Cloud Co", reference: "CC-10", startsOn: "2026-01-01", endsOn: "2028-01-01"),
                                        actor: "a")
        async let first = store.announceMilestones(today: today)
        async let second = store.announceMilestones(today: today)
        let announced = try await first + second
        #expect(announced == ["supplier.contract_expiring CC-9"])
        #expect(try await store.announceMilestones(today: today).isEmpty) // a restart: nothing again
        // What is due, soonest first: within 30 days only CC-9's deadline; within two years CC-10's too.
        #expect(try await store.milestones(MilestonesParams(withinDays: 30), today: today).items.map(\.contract) == ["CC-9"])
        let ahead = try await store.milestones(MilestonesParams(withinDays: 730), today: today).items
        #expect(ahead.map(\.contract) == ["CC-9", "CC-10"] && ahead.first?.daysToNoticeDeadline == 29 && ahead.first?.noticeDeadline == "2026-12-22")
        await #expect(throws: ResponseError.invalidParams("withinDays: 1 to 3650")) {
            try await store.milestones(MilestonesParams(withinDays: 0), today: today)
        }

        // Renewed: the new deadline is announced when its time comes; after the end, the expiry.
        _ = try await store.updateContract(UpdateContract(reference: "CC-9", endsOn: "2028-02-20"), actor: "a")
        // CC-10's notice deadline (2027-10-03) has come into its warning window by then too.
        #expect(try await store.announceMilestones(today: instant("2027-12-01T00:00:00Z")).sorted()
            == ["supplier.contract_expiring CC-10", "supplier.contract_expiring CC-9"])
        #expect(try await store.announceMilestones(today: instant("2028-03-01T00:00:00Z"))
            .sorted() == ["supplier.contract_expired CC-10", "supplier.contract_expired CC-9"])
        let rows = try await pool.query("SELECT count(*) AS n FROM itsm.outbox WHERE type LIKE 'supplier.contract_exp%'").single()
        #expect(try rows.decode(Int.self, "n") == 5)
    }
}

@Suite struct SupplierRecordTests {
    @Test func suppliersContractsReviewsDisputesAndActionsKeepTheirHistory() async throws {
        let (store, _) = try await makeSupplierStore("suprecords")
        let supplier = try await store.create(CreateSupplier(name: "Facilities Dept", kind: .internal,
                                                             contacts: [Contact(name: "Pat", email: "pat@example.org")]), actor: "a")
        #expect(supplier.number == "SUP-000001")
        await #expect(throws: ResponseError.self) { try await store.create(CreateSupplier(name: "facilities dept", kind: .external), actor: "a") }
        await #expect(throws: ResponseError.self) {
            try await store.addContract(AddContract(supplier: "SUP-000001", reference: "X", startsOn: "2026-13-01", endsOn: "2027-01-01"), actor: "a")
        }
        await #expect(throws: ResponseError.self) {
            try await store.addContract(AddContract(supplier: "SUP-000001", reference: "X", startsOn: "2026-01-01", endsOn: "2027-01-01",
                                                    targets: [Target(kind: .resolution)]), actor: "a")
        }
        _ = try await store.update(UpdateSupplier(supplier: "SUP-000001", owner: "j.doe", status: .onHold), actor: "b")
        let detail = try await store.recordReview(RecordReview(
            supplier: "SUP-000001", heldOn: "2026-11-20", attendees: ["j.doe", "Pat"], findings: "Response times slipped in October",
            actions: [.init(description: "Agree weekend cover", owner: "Pat", dueOn: "2026-12-15")]), actor: "b")
        #expect(detail.reviews.count == 1 && detail.actions.first?.status == "open")
        let dispute = try await store.openDispute(OpenDispute(supplier: "SUP-000001", subject: "Invoice for October", amount: 1200,
                                                              currency: "EUR"), actor: "b")
        _ = try await store.resolveDispute(ResolveDispute(id: dispute.id, resolution: "Credit note issued"), actor: "b")
        await #expect(throws: ResponseError.self) { try await store.resolveDispute(ResolveDispute(id: dispute.id, resolution: "again"), actor: "b") }
        _ = try await store.completeAction(ActionKey(id: detail.actions[0].id), actor: "b")
        let full = try await store.get(SupplierKey(supplier: "Facilities Dept", history: true))
        #expect(full.supplier.status == .onHold && full.supplier.owner == "j.doe")
        #expect(full.disputes.first?.status == "resolved" && full.actions.first?.status == "done")
        #expect(full.history?.map(\.field).contains("owner") == true && (full.history?.count ?? 0) >= 6)
    }
}
