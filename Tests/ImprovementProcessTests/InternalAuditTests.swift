import Foundation
import ImprovementProtocol
import ImprovementProcess
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import ITSMTesting
import Testing

/// Internal audits (9.2) and management reviews (9.3) in the improvement process's store.
@Suite struct InternalAuditTests {
    @Test func anAuditIsCheckedItemByItemAndCompletesOnlyWhenEveryItemIsChecked() async throws {
        let (store, _) = try await makeImprovementStore("impaudit")
        let audit = try await store.planInternalAudit(PlanInternalAudit(
            title: "Service desk, Q4", clauses: ["8.6.1", "10.1", "8.6.1"], processes: ["incident"], scope: "The first-line desk",
            auditor: "ines", plannedOn: "2026-12-07"), actor: "quality")
        // The checklist is the clause map's requirements for the clauses in scope, in order, once each.
        let expected = AuditCriteria.clause("8.6.1")!.requirements + AuditCriteria.clause("10.1")!.requirements
        #expect(audit.number == "IA-000001" && audit.status == "planned" && audit.clauses == ["8.6.1", "10.1"])
        #expect(audit.checklist.map(\.requirement) == expected && audit.checklist.map(\.item) == Array(1...expected.count))
        #expect(audit.checklist.allSatisfy { $0.result == "not_checked" })
        #expect(audit.criteria.contains("ISO/IEC 20000-1:2018 clauses 8.6.1, 10.1"))

        // Bad input names the field.
        await expectInvalid("clauses[1]: '9.9' is not a clause") {
            _ = try await store.planInternalAudit(PlanInternalAudit(title: "x", clauses: ["8.6.1", "9.9"], auditor: "a", plannedOn: "2026-12-01"), actor: "q")
        }
        await expectInvalid("plannedOn: a date") {
            _ = try await store.planInternalAudit(PlanInternalAudit(title: "x", clauses: ["8.6.1"], auditor: "a", plannedOn: "soon"), actor: "q")
        }
        await expectInvalid("notes: required for a nonconformity") {
            _ = try await store.recordAuditCheck(RecordAuditCheck(number: audit.number, item: 1, result: "nonconformity"), actor: "ines")
        }
        await expectInvalid("item: IA-000001 has items 1 to \(expected.count)") {
            _ = try await store.recordAuditCheck(RecordAuditCheck(number: audit.number, item: 99, result: "conforms"), actor: "ines")
        }
        await expectInvalid("result: conforms, nonconformity, observation, not_applicable") {
            _ = try await store.recordAuditCheck(RecordAuditCheck(number: audit.number, item: 1, result: "fine"), actor: "ines")
        }

        // A planned audit cannot complete; the first check starts it.
        await #expect(throws: ResponseError.self) {
            _ = try await store.closeInternalAudit(CloseInternalAudit(number: audit.number, conclusion: "done"), cancel: false, actor: "ines")
        }
        var checked = try await store.recordAuditCheck(RecordAuditCheck(number: audit.number, item: 1, result: "conforms",
                                                                         notes: "INC records sampled: all classified"), actor: "ines")
        #expect(checked.status == "in_progress" && checked.startedOn != nil)
        #expect(checked.checklist[0].result == "conforms" && checked.checklist[0].checkedBy == "ines")
        // Every item unchecked is named when completing too early.
        do {
            _ = try await store.closeInternalAudit(CloseInternalAudit(number: audit.number, conclusion: "done"), cancel: false, actor: "ines")
            Issue.record("completed with unchecked items")
        } catch let error as ResponseError {
            #expect(error.kind == "internal_audit.unchecked" && error.message.contains("\(expected.count - 1) checklist items are not checked yet: 2, 3"))
        }
        for item in 2...expected.count {
            checked = try await store.recordAuditCheck(RecordAuditCheck(number: audit.number, item: item,
                                                                        result: item == 2 ? "not_applicable" : "conforms"), actor: "ines")
        }
        let completed = try await store.closeInternalAudit(CloseInternalAudit(number: audit.number, conclusion: "The desk conforms."),
                                                           cancel: false, actor: "ines")
        #expect(completed.status == "completed" && completed.conclusion == "The desk conforms.")
        await #expect(throws: ResponseError.self) {
            _ = try await store.recordAuditCheck(RecordAuditCheck(number: audit.number, item: 1, result: "conforms"), actor: "ines")
        }
        let history = try await store.internalAudit(InternalAuditKey(number: audit.number)).history ?? []
        #expect(history.map(\.field).prefix(3) == ["status", "status", "item 1"])
        #expect(history.last?.field == "conclusion" && history.contains { $0.field == "status" && $0.newValue == "completed" })
    }

    @Test func aFindingRaisesANonconformityThatFlowsThroughCorrectionToClosure() async throws {
        let (store, _) = try await makeImprovementStore("impfinding")
        let audit = try await store.planInternalAudit(PlanInternalAudit(
            title: "Suppliers", clauses: ["8.3.4"], auditor: "ines", plannedOn: "2026-12-08"), actor: "quality")
        _ = try await store.recordAuditCheck(RecordAuditCheck(number: audit.number, item: 3, result: "nonconformity",
                                                              notes: "Two contracts ended unnoticed"), actor: "ines")
        let found = try await store.recordAuditFinding(RecordAuditFinding(
            number: audit.number, kind: "nonconformity", title: "Contract ends not watched",
            description: "Two hosting contracts ended without a notice decision.", item: 3, severity: "major", owner: "sam"), actor: "ines")
        let finding = try #require(found.findings.first)
        #expect(finding.kind == "nonconformity" && finding.clause == "8.3.4" && finding.item == 3)
        let number = try #require(finding.raised)

        // The nonconformity names the requirement and the audit, and goes through 10.1 to closure.
        var nonconformity = try await store.nonconformity(NonconformityKey(number: number))
        #expect(nonconformity.source == "audit" && nonconformity.severity == "major" && nonconformity.owner == "sam")
        #expect(nonconformity.requirement == "ISO/IEC 20000-1:2018 8.3.4 Supplier management: \(AuditCriteria.clause("8.3.4")!.requirements[2])")
        #expect(nonconformity.description.contains("Found by internal audit \(audit.number) (Suppliers)"))
        nonconformity = try await store.recordCorrection(RecordCorrection(number: number, correction: "Notices sent for both",
                                                                          rootCause: "Nobody watched the dates"), actor: "sam")
        nonconformity = try await store.addCorrectiveAction(AddCorrectiveAction(number: number, description: "Enable contract expiry alerts",
                                                                                owner: "sam", dueOn: "2026-12-20"), actor: "sam")
        nonconformity = try await store.completeCorrectiveAction(CompleteCorrectiveAction(id: nonconformity.actions[0].id), actor: "sam")
        #expect(nonconformity.status == "awaiting_verification")
        nonconformity = try await store.verifyEffectiveness(VerifyEffectiveness(number: number, effective: true,
                                                                                notes: "Next expiry was announced"), actor: "ines")
        #expect(nonconformity.status == "closed")

        // An opportunity becomes an improvement; an observation raises nothing; a clause out of scope is refused.
        let more = try await store.recordAuditFinding(RecordAuditFinding(
            number: audit.number, kind: "opportunity", title: "Scorecards monthly", description: "Quarterly is too late", clause: "8.3.4"),
            actor: "ines")
        let opportunity = try #require(more.findings.last?.raised)
        #expect(try await store.get(OpportunityKey(number: opportunity)).opportunity.source == .audit)
        let observed = try await store.recordAuditFinding(RecordAuditFinding(
            number: audit.number, kind: "observation", title: "Reviews informal", description: "Minutes are emails", clause: "8.3.4"), actor: "ines")
        #expect(observed.findings.count == 3 && observed.findings.last?.raised == nil)
        await expectInvalid("clause: \(audit.number) covers 8.3.4") {
            _ = try await store.recordAuditFinding(RecordAuditFinding(number: audit.number, kind: "observation", title: "x", description: "y",
                                                                      clause: "8.6.1"), actor: "ines")
        }
        await expectInvalid("clause: required without item") {
            _ = try await store.recordAuditFinding(RecordAuditFinding(number: audit.number, kind: "observation", title: "x", description: "y"),
                                                   actor: "ines")
        }
    }

    /// Checklists come from `AuditCriteria`; docs/iso20000.md is the same map for people, with
    /// the features and tests. Each clause's section lists the same requirements, in order.
    @Test func checklistsAskWhatTheClauseMapInTheDocsSays() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL
        let map = try String(contentsOf: root.appendingPathComponent("docs/iso20000.md"), encoding: .utf8)
        var documented: [AuditCriteria.Clause] = []
        for line in map.split(separator: "\n").map(String.init) {
            if line.hasPrefix("## ") {
                let heading = line.dropFirst(3).split(separator: " ", maxSplits: 1).map(String.init)
                documented.append(AuditCriteria.Clause(clause: heading[0], title: heading[1], requirements: []))
            } else if line.hasPrefix("| "), !line.hasPrefix("| requirement, in our words"), !documented.isEmpty {
                documented[documented.count - 1].requirements.append(String(line.dropFirst(2).prefix { $0 != "|" }.dropLast()))
            }
        }
        #expect(documented == AuditCriteria.clauses)
    }

    @Test func theProgrammeNamesTheClausesNoAuditCovers() async throws {
        let (store, _) = try await makeImprovementStore("impprogramme")
        _ = try await store.planInternalAudit(PlanInternalAudit(title: "Desk", clauses: ["8.6.1", "8.6.2"], auditor: "a", plannedOn: "2027-03-01"),
                                              actor: "q")
        let later = try await store.planInternalAudit(PlanInternalAudit(title: "Problems", clauses: ["8.6.3"], auditor: "a", plannedOn: "2027-06-01"),
                                                      actor: "q")
        _ = try await store.planInternalAudit(PlanInternalAudit(title: "Next year", clauses: ["9.1"], auditor: "a", plannedOn: "2028-01-10"), actor: "q")
        let cancelled = try await store.planInternalAudit(PlanInternalAudit(title: "Dropped", clauses: ["9.3"], auditor: "a", plannedOn: "2027-09-01"),
                                                          actor: "q")
        _ = try await store.closeInternalAudit(CloseInternalAudit(number: cancelled.number, conclusion: "Merged into the Q4 audit"),
                                               cancel: true, actor: "q")
        let programme = try await store.auditProgramme(AuditProgrammeParams(year: 2027))
        #expect(programme.audits.map(\.title) == ["Desk", "Problems"])
        #expect(programme.clauses.first { $0.clause == "8.6.3" }?.audits == [later.number])
        let all = AuditCriteria.clauses.map(\.clause)
        #expect(programme.uncovered == all.filter { !["8.6.1", "8.6.2", "8.6.3"].contains($0) })
        await expectInvalid("year: 2000 to 2200") { _ = try await store.auditProgramme(AuditProgrammeParams(year: 99)) }
        // Listed by the period they are planned for.
        let june = try await store.listInternalAudits(ListInternalAudits(plannedFrom: try Date("2027-06-01T00:00:00Z", strategy: .iso8601),
                                                                         plannedTo: try Date("2027-07-01T00:00:00Z", strategy: .iso8601)))
        #expect(june.items.map(\.number) == [later.number])
    }
}

@Suite struct ManagementReviewTests {
    static func day(_ text: String) -> Date { try! Date(text + "T00:00:00Z", strategy: .iso8601) }

    @Test func aReviewKeepsItsPackDecisionsAndActionsAndTheNextPackFollowsThemUp() async throws {
        let (store, _) = try await makeImprovementStore("impreview")
        let source: ImprovementStore.StatsSource = { method, _ throws(ResponseError) in
            throw ResponseError(code: .unavailable, kind: "plugin.disabled", message: "\(method) belongs to a process that is not enabled")
        }
        _ = try await store.create(CreateOpportunity(title: "Self-service password reset"), actor: "q")
        let first = try await store.recordManagementReview(RecordManagementReview(
            heldOn: "2026-10-05", from: Self.day("2026-09-01"), to: Self.day("2026-10-01"), chair: "cio", attendees: ["cio", "desk lead"],
            decisions: ["Approve OFI-000001"],
            actions: [.init(description: "Staff the night shift", owner: "desk lead", dueOn: "2026-10-31"),
                      .init(description: "Budget for monitoring", owner: "cio", dueOn: "2099-01-31")]), actor: "secretary")
        #expect(first.number == "MR-0001" && first.actions.count == 2 && first.decisions == ["Approve OFI-000001"])
        #expect(first.actions[0].overdue && !first.actions[1].overdue) // 2026-10-31 has passed
        // The pack kept is the one presented: it held the proposal to decide on.
        let kept = try #require(try await store.managementReview(ManagementReviewKey(number: first.number, pack: true)).packHtml)
        #expect(kept.contains("Self-service password reset") && kept.contains("No earlier management review is recorded."))

        let done = try await store.completeReviewAction(CompleteReviewAction(id: first.actions[1].id, outcome: "Budget agreed"), actor: "cio")
        #expect(done.actions[1].status == "done" && done.actions[1].outcome == "Budget agreed")
        await #expect(throws: ResponseError.self) {
            _ = try await store.completeReviewAction(CompleteReviewAction(id: first.actions[1].id, outcome: "again"), actor: "cio")
        }

        // The next period's pack follows up the previous review's actions, the overdue one proposed for decision.
        let next = try await store.reviewPack(ReviewPackParams(from: Self.day("2026-10-01"), to: Self.day("2026-11-01")), source: source)
        #expect(next.previousReview?.number == first.number)
        #expect(next.proposedActions.contains("Overdue action from management review MR-0001: Staff the night shift (desk lead, due 2026-10-31)"))
        #expect(next.markdown.contains("| Budget for monitoring | cio | 2099-01-31 | done: Budget agreed |"))
        #expect(next.html.contains("<h2>Actions from the previous review</h2>"))

        await expectInvalid("attendees[1]: required") {
            _ = try await store.recordManagementReview(RecordManagementReview(heldOn: "2026-11-03", from: Self.day("2026-10-01"),
                                                                              to: Self.day("2026-11-01"), chair: "cio", attendees: ["cio", " "]),
                                                       actor: "s", source: source)
        }
        await expectInvalid("actions[0].dueOn: a date") {
            _ = try await store.recordManagementReview(RecordManagementReview(heldOn: "2026-11-03", from: Self.day("2026-10-01"),
                                                                              to: Self.day("2026-11-01"), chair: "cio", attendees: ["cio"],
                                                                              actions: [.init(description: "x", owner: "y", dueOn: "later")]),
                                                       actor: "s", source: source)
        }
        let history = try await store.managementReview(ManagementReviewKey(number: first.number)).history ?? []
        #expect(history.map(\.field) == ["recorded", "action \(first.actions[1].id)"])
        let listed = try await store.listManagementReviews(ListManagementReviews(heldFrom: Self.day("2026-10-01"), heldTo: Self.day("2026-11-01")))
        #expect(listed.items.map(\.number) == [first.number])
    }
}

extension ImprovementStore {
    func recordManagementReview(_ params: RecordManagementReview, actor: String) async throws -> ManagementReview {
        try await recordManagementReview(params, actor: actor, source: { method, _ throws(ResponseError) in
            throw ResponseError(code: .unavailable, kind: "plugin.disabled", message: "\(method) belongs to a process that is not enabled")
        })
    }
}

/// Expects `body` to be refused as invalid params with a message starting with `message`.
func expectInvalid(_ message: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("accepted; expected '\(message)'", sourceLocation: sourceLocation)
    } catch let error as ResponseError {
        #expect(error.code == .invalidParams && error.message.hasPrefix(message), "\(error.message)",
                sourceLocation: sourceLocation)
    } catch {
        Issue.record("\(error)", sourceLocation: sourceLocation)
    }
}
