import Foundation
import IncidentProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import ITSMTesting
import ProblemProcess
import Testing

/// A migrated database and a store on it.
func makeProblemStore(_ label: String, settings: ProblemSettings = ProblemSettings()) async throws -> (ProblemStore, PostgresPool) {
    let pool = try await TestPostgres.makeMigratedPool(label: label, schema: ProblemSchema.name, migrations: ProblemSchema.migrations)
    return (ProblemStore(database: PluginDatabase(pool: pool, source: "problem"), settings: settings), pool)
}

/// An incident as the incident process publishes it.
func incidentPayload(_ number: Int, title: String, ci: String? = nil, service: String? = nil, category: String? = nil,
                     priority: String = "P3", status: String = "new", openedAt: Date = Date()) -> Incident {
    Incident(id: UUID(), number: String(format: "INC-%06d", number), type: .incident, title: title, description: "", service: service,
             configurationItem: ci, category: category, impact: .medium, urgency: .medium,
             priority: Priority(rawValue: Int(priority.dropFirst())!)!, status: IncidentStatus(rawValue: status)!, reopenCount: 0,
             major: false, escalationLevel: 0, createdBy: "test", createdAt: openedAt, updatedAt: openedAt)
}

extension ProblemStore {
    /// What the incident.created handler does.
    func observeCreated(_ incident: Incident) async throws -> [DetectionResult.Finding] {
        try await database.withTransaction { tx in try await observe(tx, incident: incident, detect: true) }
    }
}

@Suite struct ProblemLifecycleTests {
    /// Two changes of one record can share a millisecond (and updated_at is when a change's
    /// transaction began): the projection keeps the newest by event number, so a retried older
    /// event arriving last does not win.
    @Test func theProjectionKeepsTheNewestEventWhenTwoChangesShareTheirTime() async throws {
        let (store, pool) = try await makeProblemStore("projorder")
        defer { Task { await pool.close() } }
        let created = incidentPayload(1, title: "Disk full on db-1", status: "new")
        var started = created
        started.status = .inProgress // same updatedAt, to the millisecond
        func observe(_ incident: Incident, _ sequence: Int64) async throws {
            _ = try await store.database.withTransaction { tx in try await store.observe(tx, incident: incident, sequence: sequence, detect: false) }
        }
        try await observe(started, 8)
        try await observe(created, 7) // retried after the newer one
        let status = { try await pool.query("SELECT status FROM problem.incident WHERE id = \(created.id)").single().decode(String.self, "status") }
        #expect(try await status() == "in_progress")
        // An incident.get answer (no event number) does not overwrite what events wrote.
        _ = try await store.database.withTransaction { tx in try await store.observe(tx, incident: created, detect: false) }
        #expect(try await status() == "in_progress")
    }

    @Test func onlyTheDocumentedMovesAreAllowed() {
        #expect(ProblemStatus.proposed.next == [.new, .closed])
        #expect(ProblemStatus.new.next == [.underInvestigation, .closed])
        #expect(ProblemStatus.underInvestigation.next == [.knownError, .resolved, .closed])
        #expect(ProblemStatus.resolved.next.contains(.underInvestigation)) // reopened when the fix did not hold
        #expect(ProblemStatus.closed.next.isEmpty)
        #expect(ProblemPriority.priority(impact: 1, urgency: 1) == 1 && ProblemPriority.priority(impact: 3, urgency: 3) == 5)
    }

    @Test func settingsComeFromConfigAndBadValuesAreRefused() throws {
        let settings = try ProblemSettings(config: [
            "detection": ["windowHours": 24, "minIncidents": 3, "textSimilarity": 0.5, "rules": ["ci"]],
            "major": ["priority": 2, "linkedIncidents": 4],
        ])
        #expect(settings.window == .seconds(24 * 3600) && settings.minIncidents == 3 && settings.rules == [.ci])
        #expect(settings.majorPriority == 2 && settings.majorLinkedIncidents == 4)
        #expect(throws: ResponseError.self) { try ProblemSettings(config: ["detection": ["rules": ["everything"]]]) }
        #expect(throws: ResponseError.self) { try ProblemSettings(config: ["detection": ["minIncidents": 1]]) }
    }
}

@Suite struct ProblemStoreTests {
    @Test func createNumbersPrioritizesAndRecordsHistoryAndEvents() async throws {
        let (store, pool) = try await makeProblemStore("prbcreate")
        let problem = try await store.create(CreateProblem(title: "  Mail relay drops messages ", services: ["email", "email"],
                                                           impact: 2, urgency: 1), actor: "token:owner")
        #expect(problem.number == "PRB-000001" && problem.title == "Mail relay drops messages")
        #expect(problem.priority == "P2" && problem.status == .new && problem.services == ["email"] && !problem.major)
        let detail = try await store.get(GetProblem(number: problem.number, history: true))
        #expect(detail.history?.map(\.field).contains("status") == true)
        #expect(detail.impact.incidents == 0 && detail.recurrence == nil)
        let events = try await pool.query("SELECT type FROM itsm.outbox ORDER BY id").map { try $0.decode(String.self, "type") }
        #expect(events == ["problem.created"])
        await #expect(throws: ResponseError.self) { try await store.create(CreateProblem(title: ""), actor: "x") }
        await #expect(throws: ResponseError.self) { try await store.create(CreateProblem(title: "x", impact: 4), actor: "x") }
    }

    @Test func pagesFollowACursorNewestFirstAndCountTheWhole() async throws {
        let (store, pool) = try await makeProblemStore("prbpages")
        var created: [String] = []
        for n in 1...7 { created.append(try await store.create(CreateProblem(title: "Problem \(n)", services: ["it"]), actor: "a").number) }
        var paged: [String] = []
        var after: String?
        repeat {
            let page = try await store.list(ListProblems(limit: 3, after: after))
            #expect(page.total == 7 && page.totalIsEstimate == nil)
            paged += page.items.map(\.number)
            after = page.nextCursor
        } while after != nil && paged.count < 20
        #expect(paged == created.reversed())
        #expect(try await store.list(ListProblems(limit: 3, offset: 3)).items.map(\.number) == Array(created.reversed()[3..<6]))
        await #expect(throws: ResponseError.invalidParams("after: not a nextCursor of this list")) {
            try await store.list(ListProblems(after: "bm90IGEgY3Vyc29y"))
        }
        await #expect(throws: ResponseError.invalidParams("after: cannot be combined with offset; pass one or the other")) {
            try await store.list(ListProblems(offset: 3, after: after ?? "x"))
        }
        await pool.close()
    }

    @Test func invalidMovesAreRefusedAndEachStepNeedsItsEvidence() async throws {
        let (store, _) = try await makeProblemStore("prbmoves")
        let number = try await store.create(CreateProblem(title: "VPN drops"), actor: "a").number
        await #expect { try await store.transition(TransitionProblem(number: number, to: .resolved), actor: "a") } throws: { error in
            (error as? ResponseError)?.kind == "problem.invalid_transition" && "\(error)".contains("under_investigation")
        }
        _ = try await store.transition(TransitionProblem(number: number, to: .underInvestigation), actor: "a")
        await #expect { try await store.transition(TransitionProblem(number: number, to: .knownError), actor: "a") } throws: { error in
            (error as? ResponseError)?.kind == "problem.root_cause_required"
        }
        await #expect { try await store.transition(TransitionProblem(number: number, to: .resolved), actor: "a") } throws: { error in
            (error as? ResponseError)?.kind == "problem.fix_required"
        }
        _ = try await store.recordRootCause(RecordRootCause(number: number, method: "5-whys", findings: "MTU mismatch on the new firewall",
                                                            category: "configuration"), actor: "a")
        _ = try await store.update(UpdateProblem(number: number, fix: "CHG-000042"), actor: "a")
        let resolved = try await store.transition(TransitionProblem(number: number, to: .resolved), actor: "a")
        #expect(resolved.status == .resolved && resolved.resolvedAt != nil && resolved.fix == "CHG-000042")
        let closed = try await store.transition(TransitionProblem(number: number, to: .closed), actor: "a")
        #expect(closed.status == .closed && closed.closedAt != nil)
        await #expect(throws: ResponseError.self) { try await store.update(UpdateProblem(number: number, title: "late"), actor: "a") }
    }

    @Test func majorProblemsNeedAReviewBeforeClosing() async throws {
        let (store, pool) = try await makeProblemStore("prbmajor")
        let problem = try await store.create(CreateProblem(title: "Data centre cooling fails", impact: 1, urgency: 1), actor: "a")
        #expect(problem.major && problem.priority == "P1")
        await #expect { try await store.transition(TransitionProblem(number: problem.number, to: .closed, note: "duplicate"), actor: "a") }
            throws: { error in (error as? ResponseError)?.kind == "problem.review_required" }
        _ = try await store.review(ReviewProblem(number: problem.number, summary: "Cooling contract lacked spares", actions: ["add spares"]),
                                   actor: "a")
        #expect(try await store.transition(TransitionProblem(number: problem.number, to: .closed, note: "merged"), actor: "a").status == .closed)
        let declared = try await pool.query("SELECT count(*) AS n FROM itsm.outbox WHERE type = 'problem.major_declared'").single()
        #expect(try declared.decode(Int.self, "n") == 1)
    }
}

@Suite struct RecurrenceAfterFixTests {
    @Test func aResolvedProblemSaysWhetherItsIncidentsStopped() async throws {
        let (store, _) = try await makeProblemStore("prbrecur")
        let problem = try await store.create(CreateProblem(title: "Switch reboots", configurationItems: ["SW-12"]), actor: "a")
        _ = try await store.observeCreated(incidentPayload(1, title: "Network down floor 2", ci: "SW-12",
                                                           openedAt: Date().addingTimeInterval(-3600)))
        _ = try await store.transition(TransitionProblem(number: problem.number, to: .underInvestigation), actor: "a")
        _ = try await store.transition(TransitionProblem(number: problem.number, to: .resolved, note: "firmware 4.2"), actor: "a")
        #expect(try await store.get(GetProblem(number: problem.number)).recurrence?.stopped == true)

        _ = try await store.observeCreated(incidentPayload(2, title: "Network down again", ci: "SW-12"))
        _ = try await store.observeCreated(incidentPayload(3, title: "Unrelated", ci: "SW-99"))
        let recurrence = try #require(try await store.get(GetProblem(number: problem.number)).recurrence)
        #expect(recurrence.incidents == ["INC-000002"] && !recurrence.stopped, "\(recurrence)")
    }
}

@Suite struct RecurrenceDetectionTests {
    @Test func fiveIncidentsOnOneCIProposeOneProblemAndTheSixthJoinsIt() async throws {
        let (store, pool) = try await makeProblemStore("prbdetect")
        var findings: [DetectionResult.Finding] = []
        for n in 1...4 {
            findings += try await store.observeCreated(incidentPayload(n, title: "Printer jam \(n)", ci: "PRN-0042",
                                                                       openedAt: Date().addingTimeInterval(Double(n - 10) * 60)))
        }
        #expect(findings.isEmpty) // four are not yet a pattern
        findings = try await store.observeCreated(incidentPayload(5, title: "Printer offline", ci: "PRN-0042"))
        #expect(findings.count == 1)
        let proposal = try #require(findings.first)
        #expect(proposal.action == "proposed" && proposal.rule == "ci" && proposal.incidents.count == 5)
        let detail = try await store.get(GetProblem(number: proposal.problem))
        #expect(detail.problem.status == .proposed && detail.problem.configurationItems == ["PRN-0042"])
        #expect(detail.incidents.map(\.number) == (1...5).map { String(format: "INC-%06d", $0) })
        #expect(detail.incidents.allSatisfy { $0.how == "detected" })

        let sixthIncident = incidentPayload(6, title: "Printer jam again", ci: "PRN-0042")
        let sixth = try await store.observeCreated(sixthIncident)
        #expect(sixth.first?.problem == proposal.problem && sixth.first?.action == "linked")
        let proposals = try await pool.query("SELECT count(*) AS n FROM problem.problem").single().decode(Int.self, "n")
        #expect(proposals == 1)
        #expect(try await store.get(GetProblem(number: proposal.problem)).impact.incidents == 6)
        // The same event again (a redelivery) changes nothing.
        #expect(try await store.observeCreated(sixthIncident).isEmpty)
        #expect(try await store.get(GetProblem(number: proposal.problem)).impact.incidents == 6)
    }

    @Test func incidentsOutsideTheWindowOrAlreadyLinkedDoNotCount() async throws {
        var settings = ProblemSettings()
        settings.window = .seconds(3600)
        settings.minIncidents = 3
        let (store, _) = try await makeProblemStore("prbwindow", settings: settings)
        for n in 1...2 {
            _ = try await store.observeCreated(incidentPayload(n, title: "Disk full \(n)", ci: "DB-7", openedAt: Date().addingTimeInterval(-7200)))
        }
        #expect(try await store.observeCreated(incidentPayload(3, title: "Disk full 3", ci: "DB-7")).isEmpty)
        _ = try await store.observeCreated(incidentPayload(4, title: "Disk full 4", ci: "DB-7"))
        let third = try await store.observeCreated(incidentPayload(5, title: "Disk full 5", ci: "DB-7"))
        #expect(third.first?.incidents == ["INC-000003", "INC-000004", "INC-000005"])
    }

    @Test func serviceAndCategoryAndNearIdenticalTitlesAreClustersToo() async throws {
        var settings = ProblemSettings()
        settings.minIncidents = 3
        let (store, _) = try await makeProblemStore("prbrules", settings: settings)
        for n in 1...3 {
            _ = try await store.observeCreated(incidentPayload(n, title: "Slow page \(n)", service: "intranet", category: "performance"))
        }
        let byService = try await store.list(ListProblems(status: .proposed)).items
        #expect(byService.count == 1 && byService.first?.detectionRule == "service_category")

        var text: [DetectionResult.Finding] = []
        for (n, title) in ["Outlook crashes when opening shared calendar", "Outlook crashes when opening a shared calendar",
                           "outlook crashes opening shared calendars"].enumerated() {
            text = try await store.observeCreated(incidentPayload(10 + n, title: title))
        }
        #expect(text.first?.rule == "text" && text.first?.incidents.count == 3)
        let proposal = try #require(text.first?.problem)

        // The next one like them joins that proposal; one unlike them joins nothing.
        let joined = try await store.observeCreated(incidentPayload(13, title: "Outlook crashes when opening the shared calendar"))
        #expect(joined.first?.action == "linked" && joined.first?.problem == proposal && joined.first?.rule == "text")
        #expect(try await store.observeCreated(incidentPayload(14, title: "Printer on floor 3 is out of toner")).isEmpty)
    }
}

@Suite struct KnownErrorTests {
    @Test func publishingMovesTheProblemAndSearchFindsParaphrasedSymptomsFirst() async throws {
        let (store, pool) = try await makeProblemStore("prbkedb")
        func publish(_ title: String, symptoms: String, cause: String, workaround: String) async throws -> KnownError {
            let number = try await store.create(CreateProblem(title: title, services: ["it"]), actor: "a").number
            _ = try await store.transition(TransitionProblem(number: number, to: .underInvestigation), actor: "a")
            return try await store.publishKnownError(PublishKnownError(problem: number, symptoms: symptoms, workaround: workaround,
                                                                       rootCause: cause), actor: "a")
        }
        let vpn = try await publish("VPN disconnects after password change",
                                    symptoms: "Users are disconnected from the VPN every few minutes after changing their password",
                                    cause: "The VPN client caches the old credential", workaround: "Clear saved credentials in the VPN client")
        let printer = try await publish("Printing fails on floor 3",
                                        symptoms: "Print jobs stay queued and never reach the printer on the third floor",
                                        cause: "Print server spooler leaks handles", workaround: "Restart the spooler service")
        let mail = try await publish("Outlook does not open shared mailboxes",
                                     symptoms: "Opening a shared mailbox in Outlook shows a credentials prompt in a loop",
                                     cause: "Modern auth disabled for shared mailboxes", workaround: "Open the mailbox in the web client")

        #expect(try await store.get(GetProblem(number: vpn.problem)).problem.status == .knownError)
        let cases: [(String, String)] = [
            ("my vpn connection keeps dropping since I changed my password", vpn.number),
            ("documents queued but nothing comes out of the printer", printer.number),
            ("keeps asking for my password when I open the team mailbox in outlook", mail.number),
            ("can't print, jobs stuck in the queue", printer.number),
        ]
        for (text, expected) in cases {
            let results = try await store.searchKnownErrors(SearchKnownErrors(text: text))
            #expect(results.items.first?.number == expected, "\(text) → \(results.items.map { "\($0.number) \($0.score ?? 0)" })")
        }
        let published = try await pool.query("SELECT count(*) AS n FROM itsm.outbox WHERE type = 'problem.known_error_published'")
        #expect(try published.single().decode(Int.self, "n") == 3)
        await #expect(throws: ResponseError.self) { try await store.searchKnownErrors(SearchKnownErrors(text: "x")) }
    }
}
