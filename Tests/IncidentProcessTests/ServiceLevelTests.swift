import Foundation
import IncidentProcess
import ITSMCalendar
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import Testing

@Suite struct ServiceLevelTests {
    static let t0 = Date(timeIntervalSince1970: 1_795_454_529)
    static let minute: TimeInterval = 60

    func p2(service: String? = "email", calendar: CalendarDefinition = .always) -> ServiceLevelDefinition {
        ServiceLevelDefinition(service: service, priority: Priority(rawValue: 2)!, responseMinutes: 30, resolutionMinutes: 480,
                               warningPercent: 75, calendar: calendar)
    }

    /// A store on a database of its own, with `p2()` defined.
    func storeWithP2(_ label: String) async throws -> (PluginDatabase, IncidentStore) {
        let database = try await makeIncidentDatabase(label)
        let store = IncidentStore(database: database)
        _ = try await store.defineServiceLevel(p2())
        return (database, store)
    }

    func createP2(_ store: IncidentStore, service: String = "email", at time: Date) async throws -> Incident {
        var params = CreateIncident(title: "Mail delayed", impact: .high, urgency: .medium)
        params.service = service
        return try await store.create(params, actor: "desk", idempotencyKey: nil, now: time)
    }

    func clock(_ store: IncidentStore, _ id: UUID, _ kind: ClockKind, at time: Date) async throws -> ServiceLevelClock {
        try #require(try await store.clocks(of: id, now: time).first { $0.kind == kind })
    }

    @Test func clocksStartStopPauseAndFallDue() async throws {
        let (database, store) = try await storeWithP2("sla")
        let t0 = Self.t0, m = Self.minute
        let record = try await createP2(store, at: t0)

        let response = try await clock(store, record.id, .response, at: t0 + 10 * m)
        #expect(response.warningAt == t0 + 22.5 * m && response.dueAt == t0 + 30 * m)
        #expect(response.state == .within && response.elapsedMinutes == 10)
        #expect(try await clock(store, record.id, .response, at: t0 + 25 * m).state == .warning)

        // Work starts after 20 minutes: the response target is met and the clock stops.
        _ = try await store.transition(TransitionIncident(id: record.id, to: .inProgress), actor: "alice", now: t0 + 20 * m)
        let met = try await clock(store, record.id, .response, at: t0 + 60 * m)
        #expect(met.state == .met && met.stoppedAt == t0 + 20 * m && met.dueAt == nil)

        // Waiting two hours for the caller pauses the resolution clock and moves its deadlines.
        _ = try await store.transition(TransitionIncident(id: record.id, to: .onHold, holdReason: .awaitingCaller),
                                       actor: "alice", now: t0 + 60 * m)
        let paused = try await clock(store, record.id, .resolution, at: t0 + 120 * m)
        #expect(paused.state == .paused && paused.dueAt == nil && paused.elapsedMinutes == 60)
        _ = try await store.transition(TransitionIncident(id: record.id, to: .inProgress), actor: "alice", now: t0 + 180 * m)
        let resumed = try await clock(store, record.id, .resolution, at: t0 + 200 * m)
        #expect(resumed.dueAt == t0 + 600 * m && resumed.warningAt == t0 + 480 * m)
        #expect(resumed.elapsedMinutes == 80)

        // Nothing is due yet; then the warning once; then the breach once.
        #expect(try await store.scanServiceLevels(now: t0 + 470 * m) == 0)
        #expect(try await store.scanServiceLevels(now: t0 + 481 * m) == 1)
        #expect(try await store.scanServiceLevels(now: t0 + 590 * m) == 0)
        #expect(try await store.scanServiceLevels(now: t0 + 601 * m) == 1)
        #expect(try await store.scanServiceLevels(now: t0 + 900 * m) == 0)
        #expect(try await clock(store, record.id, .resolution, at: t0 + 601 * m).state == .breached)
        let events = try await database.query("SELECT type, payload FROM itsm.outbox WHERE type LIKE 'incident.sla_%' ORDER BY id")
        #expect(try events.map { try $0.decode(String.self, "type") } == ["incident.sla_warning", "incident.sla_breached"])
        let payload = try events[1].decode(PostgresJSON.self, "payload").decode(JSONValue.self)
        #expect(payload["clock"] == "resolution" && payload["targetMinutes"] == 480)
        #expect(payload["incident"]?["number"] == .string(record.number))

        // Resolved late: the clock stops, still breached.
        _ = try await store.transition(TransitionIncident(id: record.id, to: .resolved, resolutionCode: "fixed", resolutionNotes: "queue drained"),
                                       actor: "alice", now: t0 + 700 * m)
        let late = try await clock(store, record.id, .resolution, at: t0 + 800 * m)
        #expect(late.state == .breached && late.stoppedAt == t0 + 700 * m && late.elapsedMinutes == 580)
    }

    @Test func concurrentScannersPublishEachBreachOnce() async throws {
        let database = try await makeIncidentDatabase("slarace")
        let store = IncidentStore(database: database)
        _ = try await store.defineServiceLevel(p2(service: nil))
        var records: [Incident] = []
        for n in 0..<10 { records.append(try await createP2(store, service: "svc\(n)", at: Self.t0)) }
        // Four instances, each with its own connections, scan at the same moment.
        let scanners = (0..<4).map { _ in
            IncidentStore(database: PluginDatabase(pool: PostgresPool(conninfo: database.pool.conninfo, logger: logger), source: "incident"))
        }
        let published = try await withThrowingTaskGroup(of: Int.self) { group in
            for scanner in scanners { group.addTask { try await scanner.scanServiceLevels(now: Self.t0 + 1000 * Self.minute) } }
            return try await group.reduce(0, +)
        }
        // Ten records, two clocks each, a warning and a breach per clock.
        #expect(published == 40)
        let perRecord = try await database.query("""
            SELECT subject, type, count(*) AS n FROM itsm.outbox WHERE type LIKE 'incident.sla_%' GROUP BY subject, type
            """)
        #expect(perRecord.count == 20)
        #expect(try perRecord.allSatisfy { try $0.decode(Int.self, "n") == 2 }) // response + resolution
    }

    @Test func businessHoursAndServiceSpecificDefinitions() async throws {
        let database = try await makeIncidentDatabase("slacalendar")
        let store = IncidentStore(database: database)
        let berlin = CalendarDefinition(timeZone: "Europe/Berlin",
                                        hours: ["monday": ["09:00-17:00"], "tuesday": ["09:00-17:00"], "wednesday": ["09:00-17:00"],
                                                "thursday": ["09:00-17:00"], "friday": ["09:00-17:00"]])
        _ = try await store.defineServiceLevel(p2(service: nil))           // the default: round the clock
        _ = try await store.defineServiceLevel(p2(service: "email", calendar: berlin))
        // Mon 23 Nov 16:00 Berlin + 8 business hours = Tue 16:00 Berlin (15:00Z).
        let opened = try Date("2026-11-23T15:00:00Z", strategy: .iso8601)
        let email = try await createP2(store, service: "email", at: opened)
        #expect(try await clock(store, email.id, .resolution, at: opened).dueAt == (try Date("2026-11-24T15:00:00Z", strategy: .iso8601)))
        // Another service falls back to the default.
        let other = try await createP2(store, service: "crm", at: opened)
        #expect(try await clock(store, other.id, .resolution, at: opened).dueAt == opened + 480 * Self.minute)
        // A priority with no definition has no clocks; raising it to P2 attaches them.
        var low = CreateIncident(title: "Typo on intranet", impact: .low, urgency: .low)
        low.service = "intranet"
        let lowRecord = try await store.create(low, actor: "desk", idempotencyKey: nil, now: opened)
        #expect(try await store.clocks(of: lowRecord.id).isEmpty)
        var raise = UpdateIncident(id: lowRecord.id)
        raise.impact = .high
        raise.urgency = .medium
        _ = try await store.update(raise, actor: "desk", now: opened + 60)
        #expect(try await store.clocks(of: lowRecord.id, now: opened + 60).count == 2)

        #expect(try await store.serviceLevels().count == 2)
        let invalid = await #expect(throws: ResponseError.self) {
            try await store.defineServiceLevel(ServiceLevelDefinition(priority: Priority(rawValue: 1)!, responseMinutes: 0,
                                                                      resolutionMinutes: 60, calendar: .always))
        }
        #expect(invalid?.code == .invalidParams)
        await #expect(throws: ResponseError.self) {
            try await store.defineServiceLevel(ServiceLevelDefinition(priority: Priority(rawValue: 1)!, responseMinutes: 10,
                resolutionMinutes: 60, calendar: CalendarDefinition(timeZone: "Nowhere/City", hours: [:])))
        }
    }

    @Test func resolvedPastDueBeforeTheScanStillPublishesTheBreachOnce() async throws {
        let (database, store) = try await storeWithP2("slastop")
        let t0 = Self.t0, m = Self.minute
        let record = try await createP2(store, at: t0)
        _ = try await store.transition(TransitionIncident(id: record.id, to: .inProgress), actor: "a", now: t0 + 10 * m)
        // Resolved at 9 hours: past the warning (6 h) and the due time (8 h); no scan ran meanwhile.
        _ = try await store.transition(TransitionIncident(id: record.id, to: .resolved, resolutionCode: "fixed", resolutionNotes: "n"),
                                       actor: "a", now: t0 + 540 * m)
        let types = try await database.query("SELECT type FROM itsm.outbox WHERE type LIKE 'incident.sla_%' ORDER BY id")
            .map { try $0.decode(String.self, "type") }
        #expect(types == ["incident.sla_warning", "incident.sla_breached"])
        #expect(try await store.list(ListIncidents(breached: true)).items.map(\.id) == [record.id])
        // The scanner finds nothing more to say, and reopening and resolving again adds nothing.
        #expect(try await store.scanServiceLevels(now: t0 + 600 * m) == 0)
        _ = try await store.transition(TransitionIncident(id: record.id, to: .inProgress), actor: "a", now: t0 + 550 * m)
        _ = try await store.transition(TransitionIncident(id: record.id, to: .resolved, resolutionCode: "fixed", resolutionNotes: "n"),
                                       actor: "a", now: t0 + 560 * m)
        #expect(try await database.query("SELECT count(*) AS n FROM itsm.outbox WHERE type LIKE 'incident.sla_%'")
            .single().decode(Int.self, "n") == 2)
        #expect(try await clock(store, record.id, .resolution, at: t0 + 600 * m).state == .breached)
    }

    @Test func aRecordLeavesTheAtRiskQueueWhenResolvedOrWhenNoTargetGovernsItAnyMore() async throws {
        let (database, store) = try await storeWithP2("slastanding")
        let t0 = Self.t0, m = Self.minute
        let resolved = try await createP2(store, at: t0)
        let lowered = try await createP2(store, at: t0)
        for record in [resolved, lowered] {
            _ = try await store.transition(TransitionIncident(id: record.id, to: .inProgress), actor: "a", now: t0 + 10 * m)
        }
        var atRisk = ListIncidents(sort: .created, order: .asc)
        atRisk.atRisk = true
        #expect(try await store.list(atRisk).total == 0)
        #expect(try await store.scanServiceLevels(now: t0 + 361 * m) == 2) // both resolution clocks warned
        #expect(try await store.list(atRisk).items.map(\.id) == [resolved.id, lowered.id])
        var notAtRisk = ListIncidents()
        notAtRisk.atRisk = false
        #expect(try await store.list(notAtRisk).total == 0)

        _ = try await store.transition(TransitionIncident(id: resolved.id, to: .resolved, resolutionCode: "fixed", resolutionNotes: "n"),
                                       actor: "a", now: t0 + 400 * m)
        // P3 has no target here: the running clock goes, and with it the record's risk.
        var lower = UpdateIncident(id: lowered.id)
        (lower.impact, lower.urgency) = (.medium, .medium)
        _ = try await store.update(lower, actor: "desk", now: t0 + 400 * m)
        #expect(try await store.list(atRisk).total == 0)
        #expect(try await store.list(notAtRisk).total == 2)
        #expect(try await store.list(ListIncidents(breached: true)).total == 0)
        // Nothing the trigger keeps disagrees with the clocks.
        let disagreeing = try await database.query("""
            SELECT count(*) AS n FROM incident.incident i
            WHERE sla_at_risk <> EXISTS (SELECT 1 FROM incident.sla_clock c WHERE c.incident_id = i.id
                                         AND c.warned_at IS NOT NULL AND c.breached_at IS NULL AND c.stopped_at IS NULL)
               OR sla_breached <> EXISTS (SELECT 1 FROM incident.sla_clock c WHERE c.incident_id = i.id AND c.breached_at IS NOT NULL)
            """).single().decode(Int.self, "n")
        #expect(disagreeing == 0)
    }

    // MARK: - Clocks follow their definition

    func breachEvents(_ database: PluginDatabase, _ type: String = "incident.sla_breached") async throws -> [JSONValue] {
        try await database.query("SELECT payload FROM itsm.outbox WHERE type = \(type) ORDER BY id")
            .map { try $0.decode(PostgresJSON.self, "payload").decode(JSONValue.self) }
    }

    @Test func replacingADefinitionMovesOpenClocksAtOnceWithHistory() async throws {
        let (_, store) = try await storeWithP2("slaredefine")
        let t0 = Self.t0, m = Self.minute
        let record = try await createP2(store, at: t0)
        // Work started at 20 minutes: the response clock stopped, met against 30.
        _ = try await store.transition(TransitionIncident(id: record.id, to: .inProgress), actor: "alice", now: t0 + 20 * m)

        // The resolution target is cut to 4 hours; no edit to the record follows.
        var tighter = p2()
        tighter.responseMinutes = 10
        tighter.resolutionMinutes = 240
        _ = try await store.defineServiceLevel(tighter, actor: "token:slm", now: t0 + 30 * m)
        let resolution = try await clock(store, record.id, .resolution, at: t0 + 30 * m)
        #expect(resolution.targetMinutes == 240 && resolution.dueAt == t0 + 240 * m && resolution.warningAt == t0 + 180 * m)
        // The stopped response clock keeps the target it was met against.
        let response = try await clock(store, record.id, .response, at: t0 + 30 * m)
        #expect(response.targetMinutes == 30 && response.state == .met)
        let history = try #require(try await store.get(GetIncident(id: record.id, history: true)).history)
        let change = try #require(history.first { $0.field == "sla.resolution" })
        #expect(change.actor == "token:slm" && change.oldValue?.hasPrefix("480 min, due") == true
                && change.newValue?.hasPrefix("240 min, due") == true, "\(change)")
        #expect(!history.contains { $0.field == "sla.response" })
        // The scan follows the new deadline.
        #expect(try await store.scanServiceLevels(now: t0 + 241 * m) == 2)

        // A new calendar: the running clock is re-measured on it, the stopped one is not.
        let office = CalendarDefinition(timeZone: "UTC", hours: ["monday": ["09:00-17:00"], "tuesday": ["09:00-17:00"],
                                                                 "wednesday": ["09:00-17:00"], "thursday": ["09:00-17:00"],
                                                                 "friday": ["09:00-17:00"]])
        var officeHours = tighter
        officeHours.calendar = office
        _ = try await store.defineServiceLevel(officeHours, actor: "token:slm", now: t0 + 250 * m)
        let policy = ClockPolicy(calendar: try office.make(), targetMinutes: 240, warningPercent: 75)
        let moved = try await clock(store, record.id, .resolution, at: t0 + 250 * m)
        #expect(moved.dueAt == policy.deadlines(startedAt: t0, pauses: []).dueAt)
        #expect(try await clock(store, record.id, .response, at: t0 + 250 * m).elapsedMinutes == 20)
    }

    @Test func aClockReMeasuredAgainstANewTargetIsJudgedAgainstIt() async throws {
        let database = try await makeIncidentDatabase("slarearm")
        let store = IncidentStore(database: database)
        let t0 = Self.t0, m = Self.minute
        _ = try await store.defineServiceLevel(ServiceLevelDefinition(priority: Priority(rawValue: 1)!, responseMinutes: 15,
                                                                      resolutionMinutes: 60, calendar: .always))
        _ = try await store.defineServiceLevel(p2(service: nil))
        let record = try await store.create(CreateIncident(title: "Payroll down", impact: .high, urgency: .high),
                                            actor: "desk", idempotencyKey: nil, now: t0)
        #expect(record.priority.rawValue == 1)
        _ = try await store.transition(TransitionIncident(id: record.id, to: .inProgress), actor: "a", now: t0 + 5 * m)
        #expect(try await store.scanServiceLevels(now: t0 + 61 * m) == 2) // the resolution clock: warning and breach
        var breachedOnly = ListIncidents()
        breachedOnly.breached = true
        #expect(try await store.list(breachedOnly).total == 1)
        var atRisk = ListIncidents()
        atRisk.atRisk = true
        #expect(try await store.list(atRisk).total == 0) // breached is past at risk

        // Lowered to P2 (480 minutes) an hour and ten minutes in: no longer breached, in lists and stats.
        var lower = UpdateIncident(id: record.id)
        lower.impact = .high
        lower.urgency = .medium
        _ = try await store.update(lower, actor: "desk", now: t0 + 70 * m)
        #expect(try await store.list(breachedOnly).total == 0)
        #expect(try await store.stats(IncidentStatsParams(), now: t0 + 70 * m).openBreached == 0)
        #expect(try await clock(store, record.id, .resolution, at: t0 + 70 * m).state == .within)
        // The response clock stopped in time against 15 minutes and keeps that verdict.
        let response = try await clock(store, record.id, .response, at: t0 + 70 * m)
        #expect(response.state == .met && response.targetMinutes == 15)

        // The new target's warning and breach are published when they come.
        #expect(try await store.scanServiceLevels(now: t0 + 300 * m) == 0)
        #expect(try await store.scanServiceLevels(now: t0 + 361 * m) == 1)
        #expect(try await store.list(atRisk).items.map(\.id) == [record.id]) // warned, running, not breached
        #expect(try await store.scanServiceLevels(now: t0 + 481 * m) == 1)
        #expect(try await store.list(atRisk).total == 0)
        let breaches = try await breachEvents(database).filter { $0["clock"] == "resolution" }
        #expect(breaches.map { $0["targetMinutes"] } == [60, 480])
        #expect(try await store.list(breachedOnly).total == 1)
    }

    @Test func aPausedClockShowsNoDeadlinesAndStoppingAtTheDueMomentIsMet() async throws {
        let (database, store) = try await storeWithP2("slaboundary")
        let t0 = Self.t0, m = Self.minute
        let record = try await createP2(store, at: t0)
        _ = try await store.transition(TransitionIncident(id: record.id, to: .inProgress), actor: "a", now: t0 + 5 * m)
        // On hold after the warning share: paused, with neither deadline shown.
        _ = try await store.transition(TransitionIncident(id: record.id, to: .onHold, holdReason: .awaitingCaller),
                                       actor: "a", now: t0 + 400 * m)
        let paused = try await clock(store, record.id, .resolution, at: t0 + 410 * m)
        #expect(paused.state == .paused && paused.warningAt == nil && paused.dueAt == nil, "\(paused)")

        // Back to work, then resolved exactly when the target is reached: met, and no breach.
        _ = try await store.transition(TransitionIncident(id: record.id, to: .inProgress), actor: "a", now: t0 + 500 * m)
        let due = try #require(try await clock(store, record.id, .resolution, at: t0 + 500 * m).dueAt)
        #expect(due == t0 + 580 * m)
        _ = try await store.transition(TransitionIncident(id: record.id, to: .resolved, resolutionCode: "fixed", resolutionNotes: "n"),
                                       actor: "a", now: due)
        #expect(try await clock(store, record.id, .resolution, at: due + 60 * m).state == .met)
        #expect(try await breachEvents(database).isEmpty)
        #expect(try await store.scanServiceLevels(now: due + 60 * m) == 0)
    }

    @Test func importedRecordsRunNoClocksEvenAfterAnEdit() async throws {
        let database = try await makeIncidentDatabase("slaimport")
        let store = IncidentStore(database: database)
        _ = try await store.defineServiceLevel(p2(service: nil))
        let begun = try await store.beginImport(BeginImport(columns: ["number", "short_description", "impact", "urgency", "state", "opened_at"]),
                                                actor: "desk")
        _ = try await store.stageImportRows(StageImportRows(importId: begun.importId, firstRow: 2, rows: [
            ["OLD-1", "Old open ticket", "1", "2", "In Progress", "2024-01-10 09:00:00"],
        ]), actor: "desk")
        let report = try await store.commitImport(CommitImport(importId: begun.importId), actor: "desk")
        let number = try #require(report.firstNumber)
        let imported = try await store.get(GetIncident(number: number)).incident
        #expect(imported.externalRef == "OLD-1" && imported.importedAt != nil && imported.priority.rawValue == 2)

        var edit = UpdateIncident(number: number)
        edit.category = "mail"
        _ = try await store.update(edit, actor: "desk", now: Date())
        _ = try await store.defineServiceLevel(p2(service: nil), actor: "slm")
        #expect(try await store.clocks(of: imported.id).isEmpty)
        #expect(try await store.scanServiceLevels(now: Date()) == 0)
        #expect(try await store.get(GetIncident(number: number)).serviceLevels.isEmpty)
    }
}
