import Foundation
import IncidentProcess
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import Testing

@Suite struct MajorIncidentTests {
    func events(_ database: PluginDatabase, _ type: String) async throws -> Int {
        try await database.query("SELECT count(*) AS n FROM itsm.outbox WHERE type = \(type)").single().decode(Int.self, "n")
    }

    @Test func majorIncidentGroupsChildrenAndNeedsAReviewToClose() async throws {
        let database = try await makeIncidentDatabase("major")
        let store = IncidentStore(database: database)
        let outage = try await store.create(CreateIncident(title: "Email down for everyone", impact: .high, urgency: .high),
                                            actor: "desk", idempotencyKey: nil)
        let declared = try await store.declareMajor(DeclareMajor(id: outage.id, reason: "all 4,000 users affected"), actor: "duty-manager")
        #expect(declared.major && declared.majorDeclaredBy == "duty-manager" && declared.majorReason == "all 4,000 users affected")
        #expect(try await events(database, "incident.major_declared") == 1)
        // Declaring twice changes nothing and publishes nothing.
        _ = try await store.declareMajor(DeclareMajor(id: outage.id, reason: "again"), actor: "someone")
        #expect(try await events(database, "incident.major_declared") == 1)

        var reports: [Incident] = []
        for caller in ["ann", "bob", "cy"] {
            var report = CreateIncident(title: "Cannot send mail")
            report.caller = caller
            let created = try await store.create(report, actor: "desk", idempotencyKey: nil)
            reports.append(try await store.link(LinkIncident(id: created.id, parent: outage.number), actor: "desk"))
        }
        #expect(reports.allSatisfy { $0.parentId == outage.id })
        #expect(try await store.get(GetIncident(id: outage.id)).children == reports.map(\.number))
        _ = try await store.transition(TransitionIncident(id: reports[2].id, to: .cancelled), actor: "desk")

        // Resolving the parent resolves its open children, in the same transaction.
        _ = try await store.transition(TransitionIncident(id: outage.id, to: .resolved, resolutionCode: "fixed",
                                                          resolutionNotes: "failed over to the standby cluster"), actor: "alice")
        let child = try await store.get(GetIncident(id: reports[0].id)).incident
        #expect(child.status == .resolved)
        #expect(child.resolutionNotes == "Resolved with \(outage.number): failed over to the standby cluster")
        #expect(try await store.get(GetIncident(id: reports[2].id)).incident.status == .cancelled)

        // Closing needs the post-incident review.
        let refused = await #expect(throws: ResponseError.self) {
            try await store.transition(TransitionIncident(id: outage.id, to: .closed), actor: "alice")
        }
        #expect(refused?.kind == "incident.review_required")
        #expect(try await store.get(GetIncident(id: outage.id)).incident.status == .resolved) // rolled back
        let review = try await store.review(ReviewIncident(id: outage.id, summary: "Storage controller failed",
                                                           rootCause: "firmware bug", actions: ["upgrade firmware", "test failover monthly"]),
                                            actor: "problem-manager")
        #expect(review.actions.count == 2)
        let closed = try await store.transition(TransitionIncident(id: outage.id, to: .closed), actor: "alice")
        #expect(closed.status == .closed)
        #expect(try await store.get(GetIncident(id: outage.id)).review?.rootCause == "firmware bug")

        // Reviews are for major incidents only.
        let notMajor = await #expect(throws: ResponseError.self) {
            try await store.review(ReviewIncident(id: reports[0].id, summary: "x"), actor: "a")
        }
        #expect(notMajor?.kind == "incident.not_major")
    }

    @Test func relationsAreChecked() async throws {
        let database = try await makeIncidentDatabase("relations")
        let store = IncidentStore(database: database)
        let plain = try await store.create(CreateIncident(title: "A"), actor: "a", idempotencyKey: nil)
        let other = try await store.create(CreateIncident(title: "B"), actor: "a", idempotencyKey: nil)
        let notMajor = await #expect(throws: ResponseError.self) {
            try await store.link(LinkIncident(id: other.id, parent: plain.number), actor: "a")
        }
        #expect(notMajor?.kind == "incident.invalid_relation")
        await #expect(throws: ResponseError.self) { try await store.link(LinkIncident(id: other.id, duplicateOf: other.number), actor: "a") }
        await #expect(throws: ResponseError.self) { try await store.link(LinkIncident(id: other.id, duplicateOf: "INC-999999"), actor: "a") }

        let linked = try await store.link(LinkIncident(id: other.id, duplicateOf: plain.number, problem: "PRB-000007", knownError: "KE-12"),
                                          actor: "a")
        #expect(linked.duplicateOf == plain.id && linked.problem == "PRB-000007" && linked.knownError == "KE-12")
        let history = try #require(try await store.get(GetIncident(id: other.id, history: true)).history)
        #expect(history.contains { $0.field == "duplicateOf" && $0.newValue == plain.number })
        let unlinked = try await store.link(LinkIncident(id: other.id, duplicateOf: "", problem: ""), actor: "a")
        #expect(unlinked.duplicateOf == nil && unlinked.problem == nil && unlinked.knownError == "KE-12")
        #expect(try await events(database, "incident.linked") == 2)

        // One level only: a parent with children cannot become a child.
        let major1 = try await store.declareMajor(DeclareMajor(id: plain.id, reason: "r"), actor: "a")
        let major2 = try await store.declareMajor(DeclareMajor(id: other.id, reason: "r"), actor: "a")
        let third = try await store.create(CreateIncident(title: "C"), actor: "a", idempotencyKey: nil)
        _ = try await store.link(LinkIncident(id: third.id, parent: major1.number), actor: "a")
        await #expect(throws: ResponseError.self) { try await store.link(LinkIncident(id: major1.id, parent: major2.number), actor: "a") }
    }

    @Test func escalationFunctionalHierarchicalAndOnWarning() async throws {
        let database = try await makeIncidentDatabase("escalate")
        let store = IncidentStore(database: database)
        var params = CreateIncident(title: "ERP batch failed")
        params.assignmentGroup = "tier1"
        params.assignee = "alice"
        let record = try await store.create(params, actor: "desk", idempotencyKey: nil)
        let functional = try await store.escalate(EscalateIncident(id: record.id, kind: .functional, toGroup: "erp-experts",
                                                                   reason: "needs ERP skills"), actor: "alice")
        #expect(functional.assignmentGroup == "erp-experts" && functional.assignee == nil)
        let hierarchical = try await store.escalate(EscalateIncident(id: record.id, kind: .hierarchical, reason: "business impact"),
                                                    actor: "alice")
        #expect(hierarchical.escalationLevel == 1)
        let payloads = try await database.query("SELECT payload FROM itsm.outbox WHERE type = 'incident.escalated' ORDER BY id")
            .map { try $0.decode(PostgresJSON.self, "payload").decode(JSONValue.self) }
        #expect(payloads.map { $0["kind"] } == ["functional", "hierarchical"])
        #expect(payloads[1]["reason"] == "business impact")
        await #expect(throws: ResponseError.self) {
            try await store.escalate(EscalateIncident(id: record.id, kind: .functional), actor: "alice")
        }

        // Configured to escalate on an SLA warning: the scan does it with the warning.
        let settings = try IncidentSettings(config: ["escalateOnWarning": ["kind": "functional", "toGroup": "tier2"],
                                                     "majorIncidentPriority": "P1"])
        let configured = settings.store(database)
        _ = try await configured.defineServiceLevel(ServiceLevelDefinition(priority: Priority(rawValue: 3)!, responseMinutes: 10,
                                                                           resolutionMinutes: 60, calendar: .always))
        let t0 = Date(timeIntervalSince1970: 1_795_454_529)
        let watched = try await configured.create(CreateIncident(title: "Share slow"), actor: "desk", idempotencyKey: nil, now: t0)
        #expect(try await configured.scanServiceLevels(now: t0 + 8 * 60) == 1) // response warning at 75 % of 10 minutes
        let escalated = try await configured.get(GetIncident(id: watched.id)).incident
        #expect(escalated.assignmentGroup == "tier2" && escalated.status == .assigned)

        // The major incident criterion: a P1 becomes major by itself, at creation or by update.
        let p1 = try await configured.create(CreateIncident(title: "Datacenter power", impact: .high, urgency: .high),
                                             actor: "desk", idempotencyKey: nil)
        #expect(p1.major && p1.majorReason?.contains("P1") == true)
        var raise = UpdateIncident(id: watched.id)
        raise.impact = .high
        raise.urgency = .high
        #expect(try await configured.update(raise, actor: "desk").major)
        #expect(throws: ResponseError.self) { try IncidentSettings(config: ["escalateOnWarning": ["kind": "functional"]]) }
    }
}
