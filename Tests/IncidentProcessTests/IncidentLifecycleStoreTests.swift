import Foundation
import IncidentProcess
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import Testing

@Suite struct IncidentLifecycleStoreTests {
    @Test func aServiceDeskDayIsRecordedStepByStep() async throws {
        let database = try await makeIncidentDatabase("lifecycle")
        let store = IncidentStore(database: database)
        let t0 = Date(timeIntervalSince1970: 1_795_454_529)
        let created = try await store.create(CreateIncident(title: "Printer on floor 3 offline"), actor: "token:desk", idempotencyKey: nil)
        let number = created.number

        let assigned = try await store.assign(AssignIncident(number: number, assignmentGroup: "field-support", assignee: "alice"),
                                              actor: "token:desk", now: t0)
        #expect(assigned.status == .assigned)
        let started = try await store.transition(TransitionIncident(number: number, to: .inProgress), actor: "alice", now: t0 + 60)
        #expect(started.status == .inProgress)
        let held = try await store.transition(TransitionIncident(number: number, to: .onHold, holdReason: .awaitingCaller),
                                              actor: "alice", now: t0 + 120)
        #expect(held.status == .onHold && held.holdReason == .awaitingCaller)
        let resumed = try await store.transition(TransitionIncident(number: number, to: .inProgress), actor: "alice", now: t0 + 600)
        #expect(resumed.holdReason == nil)
        let resolved = try await store.transition(
            TransitionIncident(number: number, to: .resolved, resolutionCode: "fixed", resolutionNotes: "replaced the network cable"),
            actor: "alice", now: t0 + 900)
        #expect(resolved.resolvedAt == t0 + 900 && resolved.resolutionCode == "fixed")
        let closed = try await store.transition(TransitionIncident(number: number, to: .closed), actor: "token:desk", now: t0 + 1000)
        #expect(closed.status == .closed && closed.closedAt == t0 + 1000)

        // The history tells the story: every status, with who and when.
        let history = try #require(try await store.get(GetIncident(number: number, history: true)).history)
        let statuses = history.filter { $0.field == "status" }.map { "\($0.oldValue ?? "-")>\($0.newValue ?? "-")" }
        #expect(statuses == ["->new", "new>assigned", "assigned>in_progress", "in_progress>on_hold", "on_hold>in_progress",
                             "in_progress>resolved", "resolved>closed"])
        #expect(history.contains { $0.field == "assignee" && $0.newValue == "alice" && $0.actor == "token:desk" })
        #expect(history.contains { $0.field == "holdReason" && $0.newValue == "awaiting_caller" && $0.at == t0 + 120 })

        // The hold period is kept for the SLA clock.
        let holds = try await database.query("SELECT started_at, ended_at, reason FROM incident.hold_period WHERE incident_id = \(created.id)")
        #expect(holds.count == 1)
        #expect(try holds[0].decode(Date.self, "started_at") == t0 + 120)
        #expect(try holds[0].decode(Date?.self, "ended_at") == t0 + 600)

        // Events, in the same transactions: one status_changed per move, plus the specific ones.
        let types = try await database.query("SELECT type FROM itsm.outbox WHERE subject = \(created.id.uuidString.lowercased()) ORDER BY id")
            .map { try $0.decode(String.self, "type") }
        #expect(types.filter { $0 == "incident.status_changed" }.count == 6)
        #expect(types.contains("incident.assigned") && types.contains("incident.resolved") && types.contains("incident.closed"))
    }

    @Test func refusalsNameWhatIsAllowedAndChangeNothing() async throws {
        let database = try await makeIncidentDatabase("refusals")
        let store = IncidentStore(database: database)
        let record = try await store.create(CreateIncident(title: "VPN drops"), actor: "a", idempotencyKey: nil)
        let noReason = await #expect(throws: ResponseError.self) {
            try await store.transition(TransitionIncident(id: record.id, to: .onHold), actor: "a")
        }
        #expect(noReason?.kind == "incident.invalid_transition")
        #expect(noReason?.message.contains("holdReason") == true)
        let noNotes = await #expect(throws: ResponseError.self) {
            try await store.transition(TransitionIncident(id: record.id, to: .resolved, resolutionCode: "fixed"), actor: "a")
        }
        #expect(noNotes?.message.contains("resolutionNotes") == true)
        _ = try await store.transition(TransitionIncident(id: record.id, to: .cancelled), actor: "a")
        let final = await #expect(throws: ResponseError.self) {
            try await store.transition(TransitionIncident(id: record.id, to: .inProgress), actor: "a")
        }
        #expect(final?.message.contains("cancelled is final") == true)
        #expect(final?.data?["details"]?["allowed"] == [])
        let assignClosed = await #expect(throws: ResponseError.self) {
            try await store.assign(AssignIncident(id: record.id, assignee: "bob"), actor: "a")
        }
        #expect(assignClosed?.kind == "incident.invalid_transition")
        let current = try await store.get(GetIncident(id: record.id)).incident
        #expect(current.status == .cancelled && current.assignee == nil)
        await #expect(throws: ResponseError.self) {
            try await store.transition(TransitionIncident(number: "INC-424242", to: .closed), actor: "a")
        }
    }

    @Test func updateRecomputesPriorityAndRecordsOnlyRealChanges() async throws {
        let database = try await makeIncidentDatabase("update")
        let store = IncidentStore(database: database)
        let record = try await store.create(CreateIncident(title: "Slow CRM", impact: .low, urgency: .low), actor: "a", idempotencyKey: nil)
        #expect(record.priority.description == "P5")
        var change = UpdateIncident(id: record.id)
        change.impact = .high
        change.urgency = .high
        change.service = "crm"
        let updated = try await store.update(change, actor: "b")
        #expect(updated.priority.description == "P1")
        #expect(updated.service == "crm")
        let history = try #require(try await store.get(GetIncident(id: record.id, history: true)).history)
        #expect(history.contains { $0.field == "priority" && $0.oldValue == "P5" && $0.newValue == "P1" && $0.actor == "b" })
        // The same update again changes nothing: no history, no event.
        let before = try await database.query("SELECT count(*) AS n FROM itsm.outbox").single().decode(Int.self, "n")
        _ = try await store.update(change, actor: "b")
        #expect(try await database.query("SELECT count(*) AS n FROM itsm.outbox").single().decode(Int.self, "n") == before)
        #expect(try #require(try await store.get(GetIncident(id: record.id, history: true)).history).count == history.count)
        // An empty string clears an optional field.
        var clear = UpdateIncident(id: record.id)
        clear.service = ""
        #expect(try await store.update(clear, actor: "b").service == nil)
    }

    @Test func reopenWithinTheWindowOnly() async throws {
        let database = try await makeIncidentDatabase("reopen")
        let store = IncidentStore(database: database, lifecycle: Lifecycle(reopenWindow: 3600))
        let t0 = Date(timeIntervalSince1970: 1_795_454_529)
        let record = try await store.create(CreateIncident(title: "Mailbox full"), actor: "a", idempotencyKey: nil)
        _ = try await store.transition(TransitionIncident(id: record.id, to: .resolved, resolutionCode: "fixed", resolutionNotes: "archived"),
                                       actor: "a", now: t0)
        let reopened = try await store.transition(TransitionIncident(id: record.id, to: .inProgress), actor: "caller", now: t0 + 600)
        #expect(reopened.reopenCount == 1 && reopened.resolvedAt == nil)
        _ = try await store.transition(TransitionIncident(id: record.id, to: .resolved, resolutionCode: "fixed", resolutionNotes: "again"),
                                       actor: "a", now: t0 + 700)
        let late = await #expect(throws: ResponseError.self) {
            try await store.transition(TransitionIncident(id: record.id, to: .inProgress), actor: "caller", now: t0 + 700 + 7200)
        }
        #expect(late?.message.contains("raise a new incident") == true)
        let events = try await database.query("SELECT count(*) AS n FROM itsm.outbox WHERE type = 'incident.reopened'")
        #expect(try events.single().decode(Int.self, "n") == 1)
    }

    @Test func workNotesAndCustomerCommentsAreKeptApart() async throws {
        let database = try await makeIncidentDatabase("comments")
        let store = IncidentStore(database: database)
        let record = try await store.create(CreateIncident(title: "Laptop won't boot"), actor: "a", idempotencyKey: nil)
        _ = try await store.comment(CommentOnIncident(id: record.id, body: "BIOS shows disk error"), actor: "alice")
        _ = try await store.comment(CommentOnIncident(id: record.id, body: "We are replacing your disk today.", visibility: .customer),
                                    actor: "alice")
        await #expect(throws: ResponseError.self) {
            try await store.comment(CommentOnIncident(id: record.id, body: "   "), actor: "alice")
        }
        let comments = try #require(try await store.get(GetIncident(id: record.id, comments: true)).comments)
        #expect(comments.map(\.visibility) == [.workNote, .customer])
        #expect(comments.allSatisfy { $0.author == "alice" })
    }

    @Test func settingsComeFromThePluginConfig() throws {
        let settings = try IncidentSettings(config: ["priorityMatrix": [[1, 1, 2], [1, 2, 3], [2, 3, 4]], "reopenWindowHours": 24])
        #expect(settings.matrix.priority(impact: .medium, urgency: .high).description == "P1")
        #expect(settings.lifecycle.reopenWindow == 86_400)
        #expect(throws: ResponseError.self) { try IncidentSettings(config: ["priorityMatrix": [[1, 2]]]) }
        #expect(throws: ResponseError.self) { try IncidentSettings(config: ["reopenWindowHours": -1]) }
    }
}
