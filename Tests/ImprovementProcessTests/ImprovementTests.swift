import CapacityProtocol
import Foundation
import ImprovementProtocol
import ImprovementProcess
import IncidentProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import ITSMTesting
import ProblemProtocol
import SupplierProtocol
import Testing

func makeImprovementStore(_ label: String, settings: ImprovementSettings = ImprovementSettings()) async throws -> (ImprovementStore, PostgresPool) {
    let pool = try await TestPostgres.makeMigratedPool(label: label, schema: ImprovementSchema.name, migrations: ImprovementSchema.migrations)
    return (ImprovementStore(database: PluginDatabase(pool: pool, source: "improvement"), settings: settings), pool)
}

func event(_ type: String, source: String, _ data: JSONValue, id: UUID = UUID(), at: String = "2026-11-20T10:00:00.000Z") -> EventParams {
    EventParams(id: id.uuidString.lowercased(), sequence: 1, type: type, source: source, subject: nil, occurredAt: at, data: data)
}

extension ImprovementStore {
    func intake(_ event: EventParams) async throws {
        try await database.withTransaction { tx in try await intake(tx, event) }
    }
}

@Suite struct KPITests {
    static let november = DateInterval(start: try! Date("2026-11-01T00:00:00Z", strategy: .iso8601),
                                       end: try! Date("2026-12-01T00:00:00Z", strategy: .iso8601))
    static let incidentStats: JSONValue = [
        "from": "2026-11-01T00:00:00.000Z", "to": "2026-12-01T00:00:00.000Z",
        "createdInPeriod": 12, "resolvedInPeriod": 9, "openBreached": 1,
        "byPriority": [
            "P1": ["resolved": 2, "measured": 2, "withinTarget": 1, "meanMinutesToResolve": 95.5],
            "P3": ["resolved": 7, "measured": 6, "withinTarget": 6, "meanMinutesToResolve": 300],
        ],
    ]

    @Test func catalogueKPIsReadTheFiguresTheyName() {
        #expect(KPI.named("incident.resolution_within_sla_percent:P1")?.evaluate(Self.incidentStats, for: Self.november).value == 50)
        #expect(KPI.named("incident.resolution_within_sla_percent")?.evaluate(Self.incidentStats, for: Self.november).value == 87.5) // 7 of 8, all priorities
        #expect(KPI.named("incident.created")?.evaluate(Self.incidentStats, for: Self.november).value == 12)
        #expect(KPI.named("incident.resolved:P3")?.evaluate(Self.incidentStats, for: Self.november).value == 7)
        #expect(KPI.named("incident.resolution_within_sla_percent:P9") == nil)
        #expect(KPI.named("incident.nonsense") == nil)
        // Names with nothing before the colon name nothing (an empty one used to crash the process).
        #expect(KPI.named("") == nil && KPI.named(":") == nil && KPI.named(":P1") == nil)
    }

    @Test func nothingMeasuredIsNoValueNotZero() {
        let (value, note) = KPI.named("incident.resolution_within_sla_percent:P2")!.evaluate(Self.incidentStats, for: Self.november)
        #expect(value == nil && note != nil)
        let empty: JSONValue = ["byPriority": ["P2": ["measured": 0, "withinTarget": 0]]]
        #expect(KPI.named("incident.resolution_within_sla_percent:P2")!.evaluate(empty, for: Self.november, now: Self.november.start + 3600).value == nil)
    }

    @Test func aFigureOfTheMomentHasNoValueForAPastPeriod() throws {
        let october = Period.month.previous(before: Self.november.start + 3600)
        let inNovember = Self.november.start + 10 * 86_400
        // capacity.stats takes no period: its answer says nothing of one.
        let capacity = KPI(method: "capacity.stats", value: "byState.critical")
        let answer: JSONValue = ["metrics": 4, "byState": ["critical": 2]]
        #expect(capacity.evaluate(answer, for: Self.november, now: inNovember).value == 2)
        let past = capacity.evaluate(answer, for: october, now: inNovember)
        #expect(past.value == nil && past.note?.contains("as it stands now") == true)
        // A period-aware answer for another period than asked is not taken either.
        #expect(KPI.named("incident.created")!.evaluate(Self.incidentStats, for: october, now: inNovember).value == nil)
        // Open breaches are a count of the moment, even from a method that takes the period.
        #expect(KPI.named("incident.open_breached")!.evaluate(Self.incidentStats, for: Self.november, now: inNovember).value == 1)
        let octoberStats: JSONValue = ["from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z", "openBreached": 1]
        #expect(KPI.named("incident.open_breached")!.evaluate(octoberStats, for: october, now: inNovember).value == nil)
        #expect(KPI.named("incident.created")!.evaluate(["from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z",
                                                         "createdInPeriod": 3], for: october, now: inNovember).value == 3)
    }

    @Test func periodsAreCalendarPeriodsInUTC() throws {
        let day = try Date.ISO8601FormatStyle().parse("2026-11-18T15:30:00Z")
        let style = Date.ISO8601FormatStyle()
        #expect(Period.month.interval(containing: day).start.formatted(style) == "2026-11-01T00:00:00Z")
        #expect(Period.month.interval(containing: day).end.formatted(style) == "2026-12-01T00:00:00Z")
        #expect(Period.quarter.interval(containing: day).start.formatted(style) == "2026-10-01T00:00:00Z")
        #expect(Period.week.interval(containing: day).start.formatted(style) == "2026-11-16T00:00:00Z")
        #expect(Period.month.previous(before: day).start.formatted(style) == "2026-10-01T00:00:00Z")
    }

    @Test func evaluationScoresFavourBenefitAndAlignment() {
        #expect(Evaluation(benefit: 5, cost: 1, risk: 1, alignment: 5).score == 100)
        #expect(Evaluation(benefit: 1, cost: 5, risk: 5, alignment: 1).score == 0)
        #expect(Evaluation().score == 50 && Evaluation().priority == "medium")
        #expect(OpportunityStatus.proposed.next == [.approved, .rejected])
        #expect(OpportunityStatus.closed.next.isEmpty)
    }
}

/// An event as its publisher sends it: the payload typed by the publisher's contract.
func published<Payload>(_ type: EventType<Payload>, _ payload: Payload, id: UUID = UUID()) throws -> EventParams {
    event(type.name, source: String(type.name.prefix { $0 != "." }), try JSONValue(encoding: payload), id: id)
}

func incidentRecord(_ number: String, title: String = "", service: String? = nil) -> Incident {
    Incident(id: UUID(), number: number, type: .incident, title: title, description: "", service: service, impact: .high,
             urgency: .high, priority: Priority(rawValue: 2)!, status: .inProgress, reopenCount: 0, major: false, escalationLevel: 0, createdBy: "a",
             createdAt: Date(), updatedAt: Date())
}

@Suite struct IntakeTests {
    @Test func slaBreachesAreAggregatedPerServiceAndMonthOnceOverTheThreshold() async throws {
        let (store, pool) = try await makeImprovementStore("impsla")
        func breach(_ n: Int, service: String = "email", id: UUID = UUID()) throws -> EventParams {
            try published(IncidentEvents.slaBreached,
                          ServiceLevelCrossing(incident: incidentRecord("INC-00000\(n)", service: service), clock: .resolution, targetMinutes: 480),
                          id: id)
        }
        for n in 1...4 { try await store.intake(try breach(n)) }
        #expect(try await store.list(ListOpportunities()).items.isEmpty) // under the threshold of 5
        let fifth = UUID()
        try await store.intake(try breach(5, id: fifth))
        try await store.intake(try breach(6))
        try await store.intake(try breach(5, id: fifth)) // the same event again
        try await store.intake(try breach(7, service: "vpn"))
        let items = try await store.list(ListOpportunities()).items
        #expect(items.count == 1)
        let detail = try await store.get(OpportunityKey(number: items[0].number))
        #expect(detail.opportunity.title == "SLA breaches on email in 2026-11" && detail.opportunity.source == .event)
        #expect(detail.opportunity.status == .proposed && detail.opportunity.services == ["email"])
        #expect(detail.sources.count == 6 && detail.sources.allSatisfy { $0.process == "incident" })
        #expect(detail.sources.map(\.summary).contains("INC-000005 breached its resolution target"))
        let proposed = try await pool.query("SELECT count(*) AS n FROM itsm.outbox WHERE type = 'improvement.proposed'").single()
        #expect(try proposed.decode(Int.self, "n") == 1)
    }

    @Test func eachOtherSourceMakesOneOpportunityLinkedToItsEvents() async throws {
        let (store, _) = try await makeImprovementStore("impsources")
        let missed = try published(SupplierEvents.targetMissed, SupplierTargetMissed(
            supplier: "SUP-000001", name: "Acme Networks", incident: "INC-000003", priority: "P2", contract: "ACME-1",
            targetMinutes: 480, actualMinutes: 1020))
        try await store.intake(missed)
        try await store.intake(missed)
        try await store.intake(try published(SupplierEvents.targetMissed, SupplierTargetMissed(
            supplier: "SUP-000001", name: "Acme Networks", incident: "INC-000009", contract: "ACME-1", targetMinutes: 240, actualMinutes: 300)))
        try await store.intake(try published(CapacityEvents.exhaustionForecast, ExhaustionForecast(
            resource: "db-cluster-1", metric: "disk", unit: "GB", limit: 500, exhaustionDate: "2027-02-01", model: "linear",
            follows: "growth")))
        let problem = Problem(id: UUID(), number: "PRB-000004", title: "Storage firmware bug", description: "", services: ["storage"],
                              configurationItems: [], impact: 1, urgency: 1, priority: "P1", status: .underInvestigation, major: true,
                              rootCause: RootCause(), createdBy: "a", createdAt: Date(), updatedAt: Date())
        try await store.intake(try published(ProblemEvents.majorDeclared, ProblemMajorDeclared(problem: problem, reason: "priority P1")))
        try await store.intake(try published(IncidentEvents.majorDeclared,
                                             IncidentChange(incident: incidentRecord("INC-000042", title: "Site down"), actor: "a", changes: [])))
        let items = try await store.list(ListOpportunities()).items
        #expect(items.count == 4)
        let supplier = try #require(items.first { $0.title.contains("Acme Networks") })
        let sources = try await store.get(OpportunityKey(number: supplier.number)).sources
        #expect(sources.map(\.reference) == ["INC-000003", "INC-000009"])
        #expect(sources.first?.summary == "Acme Networks missed the P2 resolution target on INC-000003 (1020.0 of 480 minutes)")
        #expect(items.contains { $0.title == "db-cluster-1 disk forecast to run out" })
        let major = try #require(items.first { $0.title == "Prevent recurrence of major problem PRB-000004" })
        #expect(major.services == ["storage"])
        #expect(items.contains { $0.title == "Lessons from major incident INC-000042" })
    }

    @Test func aPayloadThatIsNotWhatItsPublisherDeclaresIsRefusedNamingTheMember() async throws {
        let (store, _) = try await makeImprovementStore("impbadpayload")
        // Before the contract was typed, this was taken in as "an incident" of "unknown" supplier.
        let partial = event(SupplierEvents.targetMissed.name, source: "supplier", ["supplier": "SUP-000001", "name": "Acme Networks"])
        let error = await #expect(throws: DecodingError.self) { try await store.intake(partial) }
        guard case .keyNotFound(let key, _)? = error else { Issue.record("not a missing member: \(String(describing: error))"); return }
        #expect(key.stringValue == "incident")
        #expect(try await store.list(ListOpportunities()).items.isEmpty)
    }
}

@Suite struct RegisterTests {
    @Test func theLifecycleAsksForOwnerReasonAndMeasuredBenefit() async throws {
        let (store, _) = try await makeImprovementStore("implife")
        let item = try await store.create(CreateOpportunity(title: "Self-service password reset", source: .customerFeedback,
                                                            evaluation: Evaluation(benefit: 5, cost: 2, risk: 2, alignment: 4)), actor: "a")
        #expect(item.number == "OFI-000001" && item.score == 83 && item.priority == "high")
        await #expect(throws: ResponseError.self) { try await store.transition(TransitionOpportunity(number: item.number, to: .approved), actor: "a") }
        _ = try await store.update(UpdateOpportunity(number: item.number, owner: "service-desk-lead", expectedBenefit: "30% fewer calls"), actor: "a")
        for status in [OpportunityStatus.approved, .inProgress, .implemented] {
            _ = try await store.transition(TransitionOpportunity(number: item.number, to: status), actor: "a")
        }
        await #expect(throws: ResponseError.self) {
            try await store.transition(TransitionOpportunity(number: item.number, to: .benefitsVerified), actor: "a")
        }
        _ = try await store.update(UpdateOpportunity(number: item.number, measuredBenefit: "password calls down 41% in December"), actor: "a")
        _ = try await store.transition(TransitionOpportunity(number: item.number, to: .benefitsVerified), actor: "a")
        #expect(try await store.transition(TransitionOpportunity(number: item.number, to: .closed), actor: "a").status == .closed)
        await #expect(throws: ResponseError.self) { try await store.transition(TransitionOpportunity(number: item.number, to: .approved), actor: "a") }
        let history = try await store.get(OpportunityKey(number: item.number)).history.map(\.field)
        #expect(history.filter { $0 == "status" }.count == 6 && history.contains("measuredBenefit"))
        await #expect(throws: ResponseError.self) { try await store.create(CreateOpportunity(title: "x", source: .event), actor: "a") }
    }

    @Test func nonconformitiesCloseOnlyWhenTheirActionsWorked() async throws {
        let (store, _) = try await makeImprovementStore("impnc")
        let nc = try await store.createNonconformity(CreateNonconformity(
            title: "Supplier reviews not held", requirement: "ISO/IEC 20000-1:2018 8.3.4.1", severity: "minor", detectedOn: "2026-11-10"),
                                                     actor: "auditor")
        #expect(nc.number == "NC-000001" && nc.status == "open")
        _ = try await store.recordCorrection(RecordCorrection(number: nc.number, correction: "Held the overdue reviews",
                                                              rootCause: "No owner for supplier reviews"), actor: "a")
        let withAction = try await store.addCorrectiveAction(AddCorrectiveAction(number: nc.number, description: "Name an owner per supplier",
                                                                                 owner: "vendor-manager", dueOn: "2026-12-01"), actor: "a")
        #expect(withAction.status == "actions_in_progress")
        await #expect(throws: ResponseError.self) {
            try await store.verifyEffectiveness(VerifyEffectiveness(number: nc.number, effective: true, notes: "too early"), actor: "a")
        }
        let done = try await store.completeCorrectiveAction(CompleteCorrectiveAction(id: withAction.actions[0].id), actor: "a")
        #expect(done.status == "awaiting_verification")
        let notYet = try await store.verifyEffectiveness(VerifyEffectiveness(number: nc.number, effective: false, notes: "One review missed"), actor: "a")
        #expect(notYet.status == "actions_in_progress" && notYet.effective == false)
        let again = try await store.addCorrectiveAction(AddCorrectiveAction(number: nc.number, description: "Calendar invites for reviews",
                                                                            owner: "vendor-manager", dueOn: "2027-01-15"), actor: "a")
        _ = try await store.completeCorrectiveAction(CompleteCorrectiveAction(id: again.actions[1].id), actor: "a")
        let closed = try await store.verifyEffectiveness(VerifyEffectiveness(number: nc.number, effective: true, notes: "All held in Q1"), actor: "a")
        #expect(closed.status == "closed" && closed.effective == true)
        #expect(try await store.listNonconformities(ListNonconformities()).items.isEmpty)
    }

    @Test func aDisabledProcessMakesTheKPISaySoAndTheReviewPackShowsEverything() async throws {
        let (store, _) = try await makeImprovementStore("imppack")
        _ = try await store.createObjective(CreateObjective(title: "P1 resolved within SLA", kpi: "incident.resolution_within_sla_percent:P1",
                                                            comparator: ">=", target: 95, period: .month), actor: "a")
        _ = try await store.createObjective(CreateObjective(title: "Known errors published", kpi: "problem.known_errors_published",
                                                            comparator: ">=", target: 2, period: .month), actor: "a")
        await #expect(throws: ResponseError.self) {
            try await store.createObjective(CreateObjective(title: "x", kpi: "made.up", comparator: ">=", target: 1, period: .month), actor: "a")
        }
        let source: ImprovementStore.StatsSource = { method, params throws(ResponseError) in
            guard method == "incident.stats" else {
                throw ResponseError(code: .unavailable, kind: "plugin.disabled", message: "\(method) belongs to a process that is not enabled")
            }
            // The figures of the period asked for, as incident.stats answers.
            guard case .object(var stats) = KPITests.incidentStats else { return [:] }
            (stats["from"], stats["to"]) = (params["from"] ?? .null, params["to"] ?? .null)
            return .object(stats)
        }
        let measured = try await store.measure(MeasureObjective(number: "OBJ-0001"), source: source)
        #expect(measured.available && measured.value == 50 && measured.met == false)
        let missing = try await store.measure(MeasureObjective(number: "OBJ-0002"), source: source)
        #expect(!missing.available && missing.value == nil && missing.note == "the problem process is not enabled, so this KPI cannot be measured")

        // A trend: the last periods oldest first, each asked of the process for its own bounds.
        let asked = Asked()
        let counted: ImprovementStore.StatsSource = { method, params throws(ResponseError) in
            await asked.add(params["from"]?.stringValue ?? "")
            return try await source(method, params)
        }
        let november = try #require(ISO8601DateFormatter().date(from: "2026-11-20T10:00:00Z"))
        let trend = try await store.trend(ObjectiveTrendParams(number: "OBJ-0001", periods: 3), source: counted, now: november)
        #expect(trend.objective.number == "OBJ-0001" && trend.measurements.map(\.value) == [50, 50, 50])
        #expect(await asked.froms == ["2026-09-01T00:00:00.000Z", "2026-10-01T00:00:00.000Z", "2026-11-01T00:00:00.000Z"])
        await #expect(throws: ResponseError.invalidParams("periods: 1 to 24")) {
            try await store.trend(ObjectiveTrendParams(number: "OBJ-0001", periods: 25), source: source)
        }

        _ = try await store.create(CreateOpportunity(title: "Automate major incident comms"), actor: "a")
        let pack = try await store.reviewPack(ReviewPackParams(), source: source)
        #expect(pack.objectives.count == 2 && pack.proposedActions.contains { $0.contains("OBJ-0001 missed") })
        #expect(pack.processes.first { $0.process == "problem" }?.available == false)
        let markdown = pack.markdown
        #expect(markdown.contains("## Objectives") && markdown.contains("| OBJ-0001 P1 resolved within SLA | >= 95 | 50 |"))
        #expect(markdown.contains("n/a: the problem process is not enabled"))
        #expect(pack.html.contains("<table>") && pack.html.contains("<h2>Proposed actions</h2>"))
    }
}

/// What a stats source was asked, in order.
actor Asked {
    var froms: [String] = []
    func add(_ from: String) { froms.append(from) }
}
