import Foundation
import IncidentProcess
import Testing

@Suite struct LifecycleTests {
    let lifecycle = Lifecycle(reopenWindow: 3 * 24 * 3600)
    let now = Date(timeIntervalSince1970: 1_795_454_529)

    @Test func theServiceDeskPath() throws {
        let path: [(IncidentStatus, IncidentStatus, Lifecycle.Request)] = [
            (.new, .assigned, .init()),
            (.assigned, .inProgress, .init()),
            (.inProgress, .onHold, .init(holdReason: .awaitingCaller)),
            (.onHold, .inProgress, .init()),
            (.inProgress, .resolved, .init(resolutionCode: "fixed", resolutionNotes: "restarted the mail relay")),
            (.resolved, .closed, .init()),
        ]
        for (from, to, request) in path {
            try lifecycle.check(from: from, to: to, request: request, resolvedAt: nil, now: now)
        }
    }

    @Test func refusalNamesTheAllowedTargets() {
        do {
            try lifecycle.check(from: .inProgress, to: .new, request: .init(), resolvedAt: nil, now: now)
            Issue.record("expected a refusal")
        } catch {
            #expect(error == .notAllowed(from: .inProgress, to: .new, allowed: [.onHold, .resolved, .cancelled]))
            #expect(error.description == "cannot go from in_progress to new; allowed from in_progress: on_hold, resolved, cancelled")
        }
        do {
            try lifecycle.check(from: .closed, to: .inProgress, request: .init(), resolvedAt: nil, now: now)
            Issue.record("expected a refusal")
        } catch {
            #expect(error.description.contains("none: closed is final"))
        }
    }

    @Test func holdNeedsAReasonAndResolveNeedsCodeAndNotes() {
        #expect(throws: Lifecycle.Refusal.holdNeedsReason) {
            try lifecycle.check(from: .assigned, to: .onHold, request: .init(), resolvedAt: nil, now: now)
        }
        #expect(throws: Lifecycle.Refusal.resolveNeedsCodeAndNotes) {
            try lifecycle.check(from: .inProgress, to: .resolved, request: .init(resolutionCode: "fixed"), resolvedAt: nil, now: now)
        }
        #expect(throws: Lifecycle.Refusal.resolveNeedsCodeAndNotes) {
            try lifecycle.check(from: .inProgress, to: .resolved, request: .init(resolutionCode: " ", resolutionNotes: "x"),
                                resolvedAt: nil, now: now)
        }
    }

    @Test func reopenOnlyWithinTheWindow() throws {
        let recently = now.addingTimeInterval(-2 * 24 * 3600)
        try lifecycle.check(from: .resolved, to: .inProgress, request: .init(), resolvedAt: recently, now: now)
        let longAgo = now.addingTimeInterval(-4 * 24 * 3600)
        #expect(throws: Lifecycle.Refusal.reopenWindowPassed(resolvedAt: longAgo, window: 3 * 24 * 3600)) {
            try lifecycle.check(from: .resolved, to: .inProgress, request: .init(), resolvedAt: longAgo, now: now)
        }
    }

    @Test func eventsForTransitions() {
        #expect(Lifecycle.event(from: .inProgress, to: .resolved) == "incident.resolved")
        #expect(Lifecycle.event(from: .resolved, to: .closed) == "incident.closed")
        #expect(Lifecycle.event(from: .resolved, to: .inProgress) == "incident.reopened")
        #expect(Lifecycle.event(from: .new, to: .assigned) == nil)
        #expect(HoldReason.awaitingSupplier.pausesClock && !HoldReason.awaitingChange.pausesClock)
    }
}
