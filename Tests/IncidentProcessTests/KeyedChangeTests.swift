import Foundation
import IncidentProcess
import ITSMProtocol
import Testing

/// A change sent with an idempotency key is made once, however often it arrives: a client's
/// retry after a lost answer, or the coordinator's resend to another instance.
@Suite struct KeyedChangeTests {
    @Test func aRepeatedKeyedChangeFindsItAppliedAndChangesNothingMore() async throws {
        let database = try await makeIncidentDatabase("keyed")
        let plain = IncidentStore(database: database)
        let first = try await plain.create(CreateIncident(title: "VPN drops"), actor: "token:desk", idempotencyKey: nil)
        let other = try await plain.create(CreateIncident(title: "Printer"), actor: "token:desk", idempotencyKey: nil)
        func retitle(_ record: Incident, _ title: String) -> UpdateIncident {
            var change = UpdateIncident(number: record.number)
            change.title = title
            return change
        }
        func keyed(_ key: String) -> IncidentStore {
            var store = plain
            store.requestKey = "token:desk/\(key)"
            return store
        }

        // An update, then the same request again after the title changed meanwhile: not reapplied.
        _ = try await keyed("u-1").update(retitle(first, "VPN drops hourly"), actor: "token:desk")
        _ = try await plain.update(retitle(first, "VPN drops every hour"), actor: "token:lead")
        let retried = try await keyed("u-1").update(retitle(first, "VPN drops hourly"), actor: "token:desk")
        #expect(retried.title == "VPN drops every hour")

        // A transition twice: the second finds it done instead of refusing an invalid transition.
        _ = try await keyed("t-1").transition(TransitionIncident(number: first.number, to: .inProgress), actor: "token:desk")
        let again = try await keyed("t-1").transition(TransitionIncident(number: first.number, to: .inProgress), actor: "token:desk")
        #expect(again.status == .inProgress)
        let history = try #require(try await plain.get(GetIncident(number: first.number, history: true)).history)
        #expect(history.filter { $0.field == "status" }.count == 2) // created, then in progress once
        #expect(history.filter { $0.field == "title" }.count == 3) // created, the keyed update once, the lead's

        // A comment twice: one comment, and the retry gets it back.
        let note = try await keyed("c-1").comment(CommentOnIncident(number: first.number, body: "called the user"), actor: "token:desk")
        let noteAgain = try await keyed("c-1").comment(CommentOnIncident(number: first.number, body: "called the user"), actor: "token:desk")
        #expect(noteAgain == note)
        #expect(try await plain.comments(of: first.id).count == 1)

        // A key names one request: used for another record, it is refused, naming the header.
        do {
            _ = try await keyed("u-1").update(retitle(other, "Printer jammed"), actor: "token:desk")
            Issue.record("a key was applied to a second record")
        } catch let error as ResponseError {
            #expect(error.kind == "request.key_reused" && error.message.hasPrefix("Idempotency-Key:"))
        }
        #expect(try await plain.get(GetIncident(number: other.number)).incident.title == "Printer")

        // Keys are forgotten after a week, not kept forever.
        #expect(try await plain.pruneAppliedRequests() == 0)
        #expect(try await plain.pruneAppliedRequests(now: Date().addingTimeInterval(8 * 24 * 3600)) == 3)
    }
}
