import Foundation
import ITSMCalendar
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import ITSMTesting
import ServiceProcess
import Testing

/// A UTC instant from `2026-11-16T10:00:00Z` (a Monday) style text.
func instant(_ text: String) -> Date { try! Date.ISO8601FormatStyle().parse(text) }

/// A clock the test moves by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    init(_ start: String) { current = instant(start) }
    func set(_ text: String) { lock.withLock { current = instant(text) } }
    var now: Date { lock.withLock { current } }
}

private func person(_ name: String, roles: [String] = ["requester"], fulfils: Bool = false, seesAll: Bool = false) -> Caller {
    Caller(actor: "user:\(name)", person: name, roles: roles, seesAll: seesAll, fulfils: fulfils)
}

@Suite struct RequestFormTests {
    static let form: JSONValue = [
        "type": "object",
        "properties": [
            "model": ["type": "string", "title": "Model", "enum": ["standard", "developer"], "default": "standard"],
            "justification": ["type": "string", "description": "Why the current one does not do"],
            "monitors": ["type": "integer", "default": 1],
            "neededBy": ["type": "string", "format": "date-time"],
        ],
        "required": ["justification"],
    ]

    @Test func answersAreCheckedAgainstTheFormAndDefaultsFilledIn() throws {
        let form = try RequestForm(Self.form)
        let answers = try form.check(["justification": "battery swollen"])
        #expect(answers == ["justification": "battery swollen", "model": "standard", "monitors": 1])
        #expect(throws: ResponseError.invalidParams("answers.justification: required but missing")) { try form.check(["model": "developer"]) }
        #expect(throws: ResponseError.invalidParams("answers.justification: required but empty")) { try form.check(["justification": "  "]) }
        #expect(throws: ResponseError.invalidParams("answers.model: 'gaming' is not one of standard, developer")) {
            try form.check(["justification": "x", "model": "gaming"])
        }
        #expect(throws: ResponseError.invalidParams("answers.monitors: expected a whole number")) {
            try form.check(["justification": "x", "monitors": "two"])
        }
        #expect(throws: ResponseError.invalidParams("answers.colour: unknown member; known: justification, model, monitors, neededBy")) {
            try form.check(["justification": "x", "colour": "red"])
        }
    }

    @Test func aFormThatCannotBeShownOrCheckedIsRefusedNamingTheMember() {
        #expect(throws: ResponseError.invalidParams("form.properties.photo.type: one of string, integer, number, boolean")) {
            try RequestForm(["type": "object", "properties": ["photo": ["type": "object"]]])
        }
        #expect(throws: ResponseError.invalidParams("form.properties.model.default: 'x' is not one of a, b")) {
            try RequestForm(["properties": ["model": ["type": "string", "enum": ["a", "b"], "default": "x"]]])
        }
        #expect(throws: ResponseError.invalidParams("form.required: a list of the form's field names")) {
            try RequestForm(["properties": ["a": ["type": "string"]], "required": ["b"]])
        }
        #expect(throws: ResponseError.invalidParams("form.properties.a.pattern: not supported; a field has type, title, description, enum, default, format")) {
            try RequestForm(["properties": ["a": ["type": "string", "pattern": ".*"]]])
        }
    }
}

@Suite struct RequestFulfilmentTests {
    /// Monday to Friday, 09:00 to 17:00 UTC.
    static let officeHours = CalendarDefinition(timeZone: "UTC", hours: [
        "monday": ["09:00-17:00"], "tuesday": ["09:00-17:00"], "wednesday": ["09:00-17:00"], "thursday": ["09:00-17:00"],
        "friday": ["09:00-17:00"],
    ])

    static func makeStore(_ label: String, clock: TestClock) async throws -> (ServiceStore, PostgresPool) {
        let pool = try await TestPostgres.makeMigratedPool(label: label, schema: ServiceSchema.name, migrations: ServiceSchema.migrations)
        // People and groups, as the coordinator keeps them.
        try await pool.query("""
            INSERT INTO itsm.account (name, display_name) VALUES ('rita', 'Rita'), ('lena', 'Lena'), ('pat', 'Pat'), ('piet', 'Piet'),
                ('dora', 'Dora'), ('olga', 'Olga');
            """)
        try await pool.query("INSERT INTO itsm.assignment_group (name) VALUES ('team-leads'), ('procurement'), ('desk')")
        try await pool.query("""
            INSERT INTO itsm.group_member (group_name, account, lead) VALUES ('team-leads', 'lena', true), ('procurement', 'piet', false),
                ('desk', 'dora', false)
            """)
        let store = ServiceStore(database: PluginDatabase(pool: pool, source: "service"), now: { clock.now })
        _ = try await store.setService(SetService(name: "Workplace", description: "Laptops, phones, accounts", owner: "olga"), actor: "user:olga")
        _ = try await store.setItem(SetRequestItem(
            name: "laptop", service: "Workplace", title: "New laptop", form: RequestFormTests.form,
            approvals: [Approver(kind: .group, name: "team-leads"), Approver(kind: .role, name: "process-owner")],
            tasks: [TaskTemplate(name: "order", group: "procurement", after: []), TaskTemplate(name: "account", group: "desk", after: []),
                    TaskTemplate(name: "deliver", group: "desk", after: ["order", "account"])],
            targetMinutes: 480, calendar: officeHours), actor: "user:olga")
        return (store, pool)
    }

    /// The laptop: two approval levels, three tasks (two side by side, then one), and
    /// the clock counted by hand in business hours.
    @Test func aLaptopGoesThroughTwoApprovalsAndThreeTasksWithItsClockMeasured() async throws {
        let clock = TestClock("2026-11-16T10:00:00Z") // a Monday
        let (store, pool) = try await Self.makeStore("reqlaptop", clock: clock)
        let rita = person("rita")
        let raised = try await store.raise(RaiseRequest(item: "laptop", answers: ["justification": "battery swollen"]), by: rita)
        #expect(raised.number == "REQ-000001" && raised.status == .awaitingApproval && raised.requester == "rita")
        #expect(raised.answers == ["justification": "battery swollen", "model": "standard", "monitors": 1])
        #expect(raised.approvals.map(\.state) == [.pending, .waiting] && raised.tasks.allSatisfy { $0.state == .waiting })
        #expect(raised.clock.startedAt == nil)
        await #expect(throws: ResponseError.business(kind: "request.task_invalid_transition",
                                                     message: "REQ-000001 is awaiting approval; its tasks start once it is approved")) {
            try await store.completeTask(CompleteTask(number: raised.number, task: "order"), by: person("piet", roles: ["agent"], fulfils: true))
        }

        // The requester does not approve her own request; someone outside the level cannot either.
        await #expect(throws: ResponseError(code: .permissionDenied, kind: "auth.forbidden",
                                            message: "REQ-000001: a requester does not approve their own request")) {
            try await store.decide(DecideRequest(number: raised.number, decision: .approve), by: rita)
        }
        let outsider = person("pat", roles: ["requester"])
        await #expect(throws: ResponseError.self) { try await store.decide(DecideRequest(number: raised.number, decision: .approve), by: outsider) }

        // Level 1: a team lead. Level 2: a process owner. Fulfilment starts Monday 16:00.
        clock.set("2026-11-16T11:00:00Z")
        let first = try await store.decide(DecideRequest(number: raised.number, decision: .approve, comment: "ok"), by: person("lena", roles: ["agent"]))
        #expect(first.approvals.map(\.state) == [.approved, .pending] && first.approvals[0].decidedBy == "user:lena")
        clock.set("2026-11-16T16:00:00Z")
        let approved = try await store.decide(DecideRequest(number: raised.number, decision: .approve),
                                              by: person("pat", roles: ["process-owner"]))
        #expect(approved.status == .inFulfilment && approved.approvals.map(\.state) == [.approved, .approved])
        #expect(approved.clock.startedAt == instant("2026-11-16T16:00:00Z"))
        #expect(approved.clock.dueAt == instant("2026-11-17T16:00:00Z")) // one business hour Monday, seven Tuesday
        #expect(approved.tasks.map(\.state) == [.ready, .ready, .waiting])

        // Tasks: the group carries each out; deliver waits for both others.
        let piet = person("piet", roles: ["agent"], fulfils: true)
        let dora = person("dora", roles: ["agent"], fulfils: true)
        await #expect(throws: ResponseError(code: .permissionDenied, kind: "auth.forbidden", message: "task 'order' is carried out by procurement")) {
            try await store.completeTask(CompleteTask(number: raised.number, task: "order"), by: dora)
        }
        await #expect(throws: ResponseError.business(kind: "request.task_invalid_transition", message: "task 'deliver' waits for 'order' and 'account'")) {
            try await store.completeTask(CompleteTask(number: raised.number, task: "deliver"), by: dora)
        }
        clock.set("2026-11-17T10:00:00Z")
        _ = try await store.completeTask(CompleteTask(number: raised.number, task: "order", notes: "PO 4711"), by: piet)
        clock.set("2026-11-17T11:00:00Z")
        let readied = try await store.completeTask(CompleteTask(number: raised.number, task: "account"), by: dora)
        #expect(readied.tasks.map(\.state) == [.done, .done, .ready] && readied.status == .inFulfilment)
        clock.set("2026-11-17T15:30:00Z")
        let fulfilled = try await store.completeTask(CompleteTask(number: raised.number, task: "deliver"), by: dora)
        #expect(fulfilled.status == .fulfilled)
        // By hand: Monday 16:00–17:00 is 60 minutes, Tuesday 09:00–15:30 is 390: 450 of 480.
        #expect(fulfilled.clock.businessMinutes == 450 && fulfilled.clock.met == true && fulfilled.clock.endedAt == instant("2026-11-17T15:30:00Z"))

        // Events, in order, each in the transaction of its change.
        let types = try await pool.query("SELECT type FROM itsm.outbox WHERE subject = 'REQ-000001' ORDER BY id").map { try $0.decode(String.self, "type") }
        #expect(types == ["request.raised", "request.approval_requested", "request.approval_requested", "request.approved",
                          "request.task_ready", "request.task_ready", "request.task_ready", "request.fulfilled"], "\(types)")
        let history = try await store.get(RequestKey(number: raised.number, history: true), by: rita).history ?? []
        #expect(history.map(\.field) == ["status", "approval 1", "approval 2", "status", "task order", "task account", "task deliver", "status"])
        await pool.close()
    }

    @Test func aLateFulfilmentMissesItsTargetAndARejectionEndsTheRequest() async throws {
        let clock = TestClock("2026-11-16T16:00:00Z")
        let (store, pool) = try await Self.makeStore("reqlate", clock: clock)
        let admin = Caller(actor: "token:admin", person: nil, seesAll: true, fulfils: true, approvesAny: true)
        let late = try await store.raise(RaiseRequest(item: "laptop", answers: ["justification": "new starter"], requester: "rita"), by: admin)
        _ = try await store.decide(DecideRequest(number: late.number, decision: .approve), by: admin)
        _ = try await store.decide(DecideRequest(number: late.number, decision: .approve), by: admin)
        clock.set("2026-11-18T10:00:00Z") // Wednesday
        for task in ["order", "account", "deliver"] {
            _ = try await store.completeTask(CompleteTask(number: late.number, task: task), by: admin)
        }
        // 60 (Monday) + 480 (Tuesday) + 60 (Wednesday) = 600 business minutes, over 480.
        let measured = try await store.get(RequestKey(number: late.number), by: admin)
        #expect(measured.clock.businessMinutes == 600 && measured.clock.met == false)

        let refused = try await store.raise(RaiseRequest(item: "laptop", answers: ["justification": "want a bigger one"]), by: person("rita"))
        await #expect(throws: ResponseError.invalidParams("comment: required to reject, so the requester knows why")) {
            try await store.decide(DecideRequest(number: refused.number, decision: .reject), by: person("lena", roles: ["agent"]))
        }
        let rejected = try await store.decide(DecideRequest(number: refused.number, decision: .reject, comment: "the current one is a year old"),
                                              by: person("lena", roles: ["agent"]))
        #expect(rejected.status == .rejected && rejected.approvals.map(\.state) == [.rejected, .skipped])
        #expect(rejected.tasks.allSatisfy { $0.state == .cancelled } && rejected.clock.met == nil)
        // A page holds each request as it is read alone, its decisions and tasks its own.
        let pending = try await store.raise(RaiseRequest(item: "laptop", answers: ["justification": "a spare"], requester: "rita"), by: admin)
        let page = try await store.list(ListRequests(), by: admin).items
        #expect(page.map(\.number) == [pending.number, refused.number, late.number])
        for listed in page {
            #expect(listed == (try await store.get(RequestKey(number: listed.number), by: admin)), "\(listed.number)")
        }
        // Page by page through the cursor, the same order, each once (two share a creation time).
        var paged: [String] = []
        var after: String?
        repeat {
            let next = try await store.list(ListRequests(limit: 1, after: after), by: admin)
            paged += next.items.map(\.number)
            #expect(next.more == (next.nextCursor != nil))
            after = next.nextCursor
        } while after != nil && paged.count < 10
        #expect(paged == page.map(\.number))
        await #expect(throws: ResponseError.invalidParams("after: not a nextCursor of this list")) {
            try await store.list(ListRequests(after: "not-a-cursor"), by: admin)
        }
        await pool.close()
    }

    @Test func eachPersonSeesTheirOwnRequestsThoseAwaitingThemAndTheirGroupsTasks() async throws {
        let clock = TestClock("2026-11-16T10:00:00Z")
        let (store, pool) = try await Self.makeStore("reqsee", clock: clock)
        let ritas = try await store.raise(RaiseRequest(item: "laptop", answers: ["justification": "old"]), by: person("rita"))
        // Another requester does not see it; it is as absent as one that does not exist.
        await #expect(throws: ResponseError.business(kind: "request.not_found", message: "no request \(ritas.number)")) {
            try await store.get(RequestKey(number: ritas.number), by: person("pat"))
        }
        #expect(try await store.list(ListRequests(), by: person("pat")).items.isEmpty)
        // The team lead sees it while it waits on her, among those awaiting her approval.
        let lena = person("lena", roles: ["agent"])
        #expect(try await store.list(ListRequests(awaitingMyApproval: true), by: lena).items.map(\.number) == [ritas.number])
        #expect(try await store.list(ListRequests(awaitingMyApproval: true), by: person("pat", roles: ["process-owner"])).items.isEmpty)
        _ = try await store.decide(DecideRequest(number: ritas.number, decision: .approve), by: lena)
        #expect(try await store.list(ListRequests(awaitingMyApproval: true), by: person("pat", roles: ["process-owner"])).items.count == 1)
        // Desk members see it through their group's task; a requester may not raise for others.
        #expect(try await store.get(RequestKey(number: ritas.number), by: person("dora", roles: ["agent"], fulfils: true)).number == ritas.number)
        await #expect(throws: ResponseError.invalidParams("requester: you raise requests for yourself (pat), not for rita")) {
            try await store.raise(RaiseRequest(item: "laptop", answers: ["justification": "x"], requester: "rita"), by: person("pat"))
        }
        // Assignment within the group only, once the group is defined.
        _ = try await store.decide(DecideRequest(number: ritas.number, decision: .approve), by: person("pat", roles: ["process-owner"]))
        await #expect(throws: ResponseError.invalidParams("assignee: pat is not a member of procurement, which carries out 'order'")) {
            try await store.assignTask(AssignTask(number: ritas.number, task: "order", assignee: "pat"), by: person("piet", fulfils: true))
        }
        let assigned = try await store.assignTask(AssignTask(number: ritas.number, task: "order", assignee: "piet"), by: person("piet", fulfils: true))
        #expect(assigned.tasks[0].assignee == "piet")
        #expect(try await store.list(ListRequests(myTasks: true), by: person("piet", fulfils: true)).items.count == 1)
        // The requester withdraws it; the tasks left are cancelled.
        let cancelled = try await store.cancel(CancelRequest(number: ritas.number, reason: "found a spare"), by: person("rita"))
        #expect(cancelled.status == .cancelled && cancelled.tasks.allSatisfy { $0.state == .cancelled })
        await pool.close()
    }

    @Test func itemsAreCheckedWhenTheyAreDefined() async throws {
        let clock = TestClock("2026-11-16T10:00:00Z")
        let (store, pool) = try await Self.makeStore("reqitem", clock: clock)
        await #expect(throws: ResponseError.invalidParams("tasks[1].after[0]: 'ship' is not a task listed before it")) {
            try await store.setItem(SetRequestItem(name: "phone", service: "Workplace", title: "Phone",
                                                   tasks: [TaskTemplate(name: "order"), TaskTemplate(name: "image", after: ["ship"])],
                                                   targetMinutes: 60), actor: "a")
        }
        await #expect(throws: ResponseError.invalidParams("service: no service 'Plumbing' in the catalogue that is not retired")) {
            try await store.setItem(SetRequestItem(name: "tap", service: "Plumbing", title: "Tap", tasks: [TaskTemplate(name: "fit")],
                                                   targetMinutes: 60), actor: "a")
        }
        await #expect(throws: ResponseError.invalidParams("name: lower-case letters, digits and dashes, up to 63, e.g. laptop")) {
            try await store.setItem(SetRequestItem(name: "New Phone", service: "Workplace", title: "Phone", tasks: [TaskTemplate(name: "x")],
                                                   targetMinutes: 60), actor: "a")
        }
        // Without `after`, tasks run one after another.
        let phone = try await store.setItem(SetRequestItem(name: "phone", service: "Workplace", title: "Phone",
                                                           tasks: [TaskTemplate(name: "order"), TaskTemplate(name: "image")], targetMinutes: 60),
                                            actor: "a")
        #expect(phone.tasks.map(\.after) == [[], ["order"]])
        // A changed item does not change requests raised before.
        let raised = try await store.raise(RaiseRequest(item: "phone", requester: "rita"), by: Caller(actor: "token:admin", person: nil, seesAll: true, fulfils: true))
        _ = try await store.setItem(SetRequestItem(name: "phone", service: "Workplace", title: "Phone", tasks: [TaskTemplate(name: "ship")],
                                                   targetMinutes: 30), actor: "a")
        let kept = try await store.get(RequestKey(number: raised.number), by: Caller(actor: "token:admin", person: nil, seesAll: true))
        #expect(kept.tasks.map(\.name) == ["order", "image"] && kept.clock.targetMinutes == 60)
        #expect(try await store.item(RequestItemKey(name: "phone")).tasks.map(\.name) == ["ship"])
        await pool.close()
    }
}

@Suite struct ApprovalDeadlineTests {
    /// A level reminds once after its reminder time, and its timeout rule decides it after its
    /// timeout; the next level's times count from when it opened.
    @Test func aWaitingLevelIsRemindedOnceThenDecidedByItsTimeoutRule() async throws {
        let clock = TestClock("2026-11-16T10:00:00Z")
        let (store, pool) = try await RequestFulfilmentTests.makeStore("reqdeadline", clock: clock)
        _ = try await store.setItem(SetRequestItem(
            name: "licence", service: "Workplace", title: "Software licence",
            approvals: [Approver(kind: .group, name: "team-leads", remindAfterMinutes: 60, timeoutMinutes: 240, onTimeout: .approve),
                        Approver(kind: .role, name: "process-owner", timeoutMinutes: 120)],
            tasks: [TaskTemplate(name: "install")], targetMinutes: 60), actor: "user:olga")
        let raised = try await store.raise(RaiseRequest(item: "licence", requester: "rita"), by: Caller(actor: "token:admin", person: nil, fulfils: true))
        #expect(try await store.enforceApprovalDeadlines() == 0)
        clock.set("2026-11-16T11:00:00Z")
        #expect(try await store.enforceApprovalDeadlines() == 1)   // the reminder
        #expect(try await store.enforceApprovalDeadlines() == 0)   // once
        clock.set("2026-11-16T14:00:00Z")
        #expect(try await store.enforceApprovalDeadlines() == 1)   // level 1 approved by its rule
        let moved = try await store.get(RequestKey(number: raised.number), by: Caller(actor: "token:admin", person: nil, seesAll: true))
        #expect(moved.approvals.map(\.state) == [.approved, .pending] && moved.approvals[0].decidedBy == "plugin:service")
        #expect(moved.approvals[0].comment == "no decision within 240 minutes: approved by the item's rule")
        clock.set("2026-11-16T15:59:00Z")
        #expect(try await store.enforceApprovalDeadlines() == 0)   // level 2 opened at 14:00
        clock.set("2026-11-16T16:00:00Z")
        #expect(try await store.enforceApprovalDeadlines() == 1)
        let ended = try await store.get(RequestKey(number: raised.number), by: Caller(actor: "token:admin", person: nil, seesAll: true))
        #expect(ended.status == .rejected && ended.approvals[1].state == .rejected)
        let types = try await pool.query("SELECT type FROM itsm.outbox WHERE subject = \(raised.number) ORDER BY id").map { try $0.decode(String.self, "type") }
        #expect(types == ["request.raised", "request.approval_requested", "request.approval_reminder", "request.approval_requested",
                          "request.rejected"], "\(types)")
        await #expect(throws: ResponseError.invalidParams("approvals[0].remindAfterMinutes: before timeoutMinutes, or the reminder comes too late")) {
            try await store.setItem(SetRequestItem(name: "x", service: "Workplace", title: "X",
                                                   approvals: [Approver(kind: .user, name: "a", remindAfterMinutes: 60, timeoutMinutes: 30)],
                                                   tasks: [TaskTemplate(name: "t")], targetMinutes: 60), actor: "a")
        }
        await pool.close()
    }
}

@Suite struct AgreedFulfilmentTests {
    /// A customer's agreement that names its own fulfilment time measures its contacts'
    /// requests on that service; everyone else's keep the item's target.
    @Test func aContactsRequestIsMeasuredByTheirCustomersAgreedFulfilmentTime() async throws {
        let clock = TestClock("2026-11-16T10:00:00Z")
        let (store, pool) = try await RequestFulfilmentTests.makeStore("reqagreed", clock: clock)
        _ = try await store.setCustomer(SetCustomer(name: "Acme", contacts: ["rita"]), actor: "user:olga")
        _ = try await store.setAgreement(SetAgreement(
            reference: "ACME-1", customer: "Acme", service: "Workplace", validFrom: "2026-01-01", validTo: "2026-12-31",
            targets: AgreementTargets(priorities: [PriorityTarget(priority: "P3", responseMinutes: 30, resolutionMinutes: 240)],
                                      fulfilmentMinutes: 120), calendar: .always), actor: "user:olga")
        let desk = Caller(actor: "token:admin", person: nil, seesAll: true, fulfils: true)
        let ritas = try await store.raise(RaiseRequest(item: "laptop", answers: ["justification": "x"], requester: "rita"), by: desk)
        let pats = try await store.raise(RaiseRequest(item: "laptop", answers: ["justification": "x"], requester: "pat"), by: desk)
        #expect(ritas.clock.targetMinutes == 120 && ritas.clock.agreement == "ACME-1")
        #expect(pats.clock.targetMinutes == 480 && pats.clock.agreement == nil)
        await #expect(throws: ResponseError.invalidParams("targets.fulfilmentMinutes: 1 to 525600")) {
            try await store.setAgreement(SetAgreement(
                reference: "ACME-2", customer: "Acme", service: "Workplace", status: .draft, validFrom: "2027-01-01", validTo: "2027-12-31",
                targets: AgreementTargets(priorities: [], fulfilmentMinutes: 0)), actor: "a")
        }
        await pool.close()
    }
}

@Suite struct ManagerApprovalTests {
    /// A level can wait on the requester's manager, as their account names them.
    @Test func aLevelOfTheRequestersManagerGoesToTheirManagerAndNeedsOne() async throws {
        let clock = TestClock("2026-11-16T10:00:00Z")
        let (store, pool) = try await RequestFulfilmentTests.makeStore("reqmanager", clock: clock)
        try await pool.query("UPDATE itsm.account SET manager = 'lena' WHERE name = 'rita'")
        _ = try await store.setItem(SetRequestItem(name: "phone", service: "Workplace", title: "Phone",
                                                   approvals: [Approver(kind: .manager)], tasks: [TaskTemplate(name: "ship")], targetMinutes: 60),
                                    actor: "user:olga")
        await #expect(throws: ResponseError.invalidParams("approvals[0].name: none for the manager, who is the requester's")) {
            try await store.setItem(SetRequestItem(name: "x", service: "Workplace", title: "X", approvals: [Approver(kind: .manager, name: "lena")],
                                                   tasks: [TaskTemplate(name: "t")], targetMinutes: 60), actor: "a")
        }
        let raised = try await store.raise(RaiseRequest(item: "phone"), by: person("rita"))
        #expect(raised.approvals.first?.approver.description == "the requester's manager")
        // Those who are told learn who the manager is.
        let event = try await pool.query("""
            SELECT (payload->'approver'->>'kind') || ' ' || (payload->'approver'->>'name') AS approver
            FROM itsm.outbox WHERE subject = \(raised.number) AND type = 'request.approval_requested'
            """).single().decode(String.self, "approver")
        #expect(event == "user lena")
        #expect(try await store.list(ListRequests(awaitingMyApproval: true), by: person("lena", roles: ["agent"])).items.map(\.number) == [raised.number])
        await #expect(throws: ResponseError.self) {
            try await store.decide(DecideRequest(number: raised.number, decision: .approve), by: person("pat", roles: ["process-owner"]))
        }
        let approved = try await store.decide(DecideRequest(number: raised.number, decision: .approve), by: person("lena", roles: ["agent"]))
        #expect(approved.status == .inFulfilment)
        await #expect(throws: ResponseError.invalidParams(
            "requester: pat has no manager on record, and phone needs their manager's approval; an administrator sets one with 'itsm user update pat --manager NAME'")) {
            try await store.raise(RaiseRequest(item: "phone"), by: person("pat"))
        }
        await pool.close()
    }
}
