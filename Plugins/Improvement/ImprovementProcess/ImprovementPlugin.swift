import Foundation
import ImprovementProtocol
import ITSMPluginKit
import ITSMProtocol

/// The continual improvement process: the improvement register, nonconformities and corrective
/// actions, objectives measured from the other processes, internal audits, and management
/// reviews with their pack.
public enum ImprovementPlugin {
    public static let version = "0.1.0"

    public static func make() -> Plugin {
        var plugin = Plugin(name: "improvement", version: version, schema: ImprovementSchema.name, migrations: ImprovementSchema.migrations)
        // KPIs come from any process's figures, read on behalf of whoever measures.
        plugin.calls = ["*.stats"]
        plugin.publishes(ImprovementEvents.proposed)
        plugin.publishes(ImprovementEvents.statusChanged)
        plugin.publishes(ImprovementEvents.nonconformityRaised)

        plugin.method(ImprovementMethods.create, permission: "improvement.write",
                      description: "Propose an improvement: title, description, source, services, evaluation, owner, target date",
                      routes: [HTTPRoute("POST", "improvements")]) {
            (params: CreateOpportunity, context) in try await store(context).create(params, actor: context.actor)
        }
        plugin.method(ImprovementMethods.get, permission: "improvement.read", idempotent: true,
                      description: "An opportunity with the events it came from and its history",
                      routes: [HTTPRoute("GET", "improvements/{number}")]) {
            (params: OpportunityKey, context) in try await store(context).get(params)
        }
        plugin.method(ImprovementMethods.list, permission: "improvement.read", idempotent: true,
                      description: "Opportunities, highest score first, by status or owner",
                      routes: [HTTPRoute("GET", "improvements")]) {
            (params: ListOpportunities, context) in try await store(context).list(params)
        }
        plugin.method(ImprovementMethods.update, permission: "improvement.write",
                      description: "Change fields, the evaluation (benefit, cost, risk, alignment), expected or measured benefit") {
            (params: UpdateOpportunity, context) in try await store(context).update(params, actor: context.actor)
        }
        plugin.method(ImprovementMethods.transition, permission: "improvement.write",
                      description: "proposed, approved, rejected, in_progress, implemented, benefits_verified, closed") {
            (params: TransitionOpportunity, context) in try await store(context).transition(params, actor: context.actor)
        }
        plugin.method(ImprovementMethods.reviewPack, permission: "improvement.read", idempotent: true,
                      description: "The management review pack for a period, as JSON, Markdown or HTML",
                      routes: [HTTPRoute("GET", "review-pack", defaults: ["format": "html"],
                                         documents: ["markdown": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"])]) {
            (params: ReviewPackParams, context) -> JSONValue in
            let pack = try await store(context).reviewPack(params, source: statsSource(context))
            switch params.format ?? "json" {
            case "json": return try JSONValue(encoding: pack)
            case "markdown": return ["format": "markdown", "document": .string(pack.markdown)]
            case "html": return ["format": "html", "document": .string(pack.html)]
            default: throw ResponseError.invalidParams("format: json, markdown or html")
            }
        }
        plugin.method(ImprovementMethods.stats, permission: "improvement.read", idempotent: true,
                      description: "Opportunities by status, open nonconformities, objectives") { (_: NoParams, context) in
            let store = try store(context)
            let open = try await store.list(ListOpportunities(limit: 500)).items
            return ImprovementStats(byStatus: Dictionary(grouping: open, by: \.status.rawValue).mapValues(\.count),
                                    openNonconformities: try await store.listNonconformities(ListNonconformities()).items.count,
                                    objectives: try await store.objectives().items.count)
        }
        plugin.method(ImprovementMethods.createNonconformity, permission: "improvement.write",
                      description: "Record a nonconformity: the requirement not met, severity, when found") {
            (params: CreateNonconformity, context) in try await store(context).createNonconformity(params, actor: context.actor)
        }
        plugin.method(ImprovementMethods.nonconformity, permission: "improvement.read", idempotent: true, description: "A nonconformity with its actions") {
            (params: NonconformityKey, context) in try await store(context).nonconformity(params)
        }
        plugin.method(ImprovementMethods.listNonconformities, permission: "improvement.read", idempotent: true, description: "Nonconformities; open only by default",
                                                                                              routes: [HTTPRoute("GET", "nonconformities")]) {
            (params: ListNonconformities, context) in try await store(context).listNonconformities(params)
        }
        plugin.method(ImprovementMethods.recordCorrection, permission: "improvement.write", description: "Record the correction and root cause") {
            (params: RecordCorrection, context) in try await store(context).recordCorrection(params, actor: context.actor)
        }
        plugin.method(ImprovementMethods.addCorrectiveAction, permission: "improvement.write", description: "Add a corrective action with owner and due date") {
            (params: AddCorrectiveAction, context) in try await store(context).addCorrectiveAction(params, actor: context.actor)
        }
        plugin.method(ImprovementMethods.completeCorrectiveAction, permission: "improvement.write", description: "Mark a corrective action done") {
            (params: CompleteCorrectiveAction, context) in try await store(context).completeCorrectiveAction(params, actor: context.actor)
        }
        plugin.method(ImprovementMethods.verifyEffectiveness, permission: "improvement.write",
                      description: "Record whether the corrective actions were effective; closes it when they were") {
            (params: VerifyEffectiveness, context) in try await store(context).verifyEffectiveness(params, actor: context.actor)
        }
        plugin.method(ImprovementMethods.createObjective, permission: "improvement.write",
                      description: "A service management objective: KPI, comparator, target, period") {
            (params: CreateObjective, context) in try await store(context).createObjective(params, actor: context.actor)
        }
        plugin.method(ImprovementMethods.objectives, permission: "improvement.read", idempotent: true, description: "Active objectives") {
            (_: NoParams, context) in try await store(context).objectives()
        }
        plugin.method(ImprovementMethods.measureObjective, permission: "improvement.read", idempotent: true,
                      description: "Measure an objective's KPI for the period containing 'at' (default now), from the other processes") {
            (params: MeasureObjective, context) in try await store(context).measure(params, source: statsSource(context))
        }
        plugin.method(ImprovementMethods.objectiveTrend, permission: "improvement.read", idempotent: true,
                      description: "An objective's KPI in each of its last periods (default 6), oldest first, measured as asked and not recorded") {
            params, context in try await store(context).trend(params, source: statsSource(context))
        }
        plugin.method(ImprovementMethods.planInternalAudit, permission: "improvement.write",
                      description: "Plan an internal audit of some clauses and processes; its checklist is generated from the clause map",
                      routes: [HTTPRoute("POST", "internal-audits")]) {
            (params: PlanInternalAudit, context) in try await store(context).planInternalAudit(params, actor: context.actor)
        }
        plugin.method(ImprovementMethods.internalAudit, permission: "improvement.read", idempotent: true,
                      description: "An internal audit with its checklist, findings and history",
                      routes: [HTTPRoute("GET", "internal-audits/{number}")]) {
            (params: InternalAuditKey, context) in try await store(context).internalAudit(params)
        }
        plugin.method(ImprovementMethods.listInternalAudits, permission: "improvement.read", idempotent: true,
                      description: "Internal audits by status and period, in the order planned",
                      routes: [HTTPRoute("GET", "internal-audits")]) {
            (params: ListInternalAudits, context) in try await store(context).listInternalAudits(params)
        }
        plugin.method(ImprovementMethods.auditProgramme, permission: "improvement.read", idempotent: true,
                      description: "The audit programme of a year: each clause with the audits covering it, and the clauses none covers",
                      routes: [HTTPRoute("GET", "audit-programme")]) {
            (params: AuditProgrammeParams, context) in try await store(context).auditProgramme(params)
        }
        plugin.method(ImprovementMethods.recordAuditCheck, permission: "improvement.write",
                      description: "Record a checklist item's result: conforms, nonconformity, observation or not_applicable") {
            (params: RecordAuditCheck, context) in try await store(context).recordAuditCheck(params, actor: context.actor)
        }
        plugin.method(ImprovementMethods.recordAuditFinding, permission: "improvement.write",
                      description: "Record a finding; a nonconformity or an opportunity is raised in the same step") {
            (params: RecordAuditFinding, context) in try await store(context).recordAuditFinding(params, actor: context.actor)
        }
        plugin.method(ImprovementMethods.completeInternalAudit, permission: "improvement.write",
                      description: "Complete an audit whose every checklist item is checked, with its conclusion") {
            (params: CloseInternalAudit, context) in try await store(context).closeInternalAudit(params, cancel: false, actor: context.actor)
        }
        plugin.method(ImprovementMethods.cancelInternalAudit, permission: "improvement.write", description: "Cancel an audit not completed, saying why") {
            (params: CloseInternalAudit, context) in try await store(context).closeInternalAudit(params, cancel: true, actor: context.actor)
        }
        plugin.method(ImprovementMethods.recordManagementReview, permission: "improvement.write",
                      description: "Record a management review: date, chair, attendees, decisions, actions; the pack for its period is kept as presented",
                      routes: [HTTPRoute("POST", "management-reviews")]) {
            (params: RecordManagementReview, context) in
            try await store(context).recordManagementReview(params, actor: context.actor, source: statsSource(context))
        }
        plugin.method(ImprovementMethods.managementReview, permission: "improvement.read", idempotent: true,
                      description: "A management review with its actions and history; the pack as presented with pack: true",
                      routes: [HTTPRoute("GET", "management-reviews/{number}")]) {
            (params: ManagementReviewKey, context) in try await store(context).managementReview(params)
        }
        plugin.method(ImprovementMethods.listManagementReviews, permission: "improvement.read", idempotent: true,
                      description: "Management reviews, latest first, by period", routes: [HTTPRoute("GET", "management-reviews")]) {
            (params: ListManagementReviews, context) in try await store(context).listManagementReviews(params)
        }
        plugin.method(ImprovementMethods.completeReviewAction, permission: "improvement.write",
                      description: "Mark a review action done with its outcome") {
            (params: CompleteReviewAction, context) in try await store(context).completeReviewAction(params, actor: context.actor)
        }

        for type in IntakeRule.eventTypes {
            plugin.subscribe(type) { event, context in
                try await ImprovementStore(database: context.database, settings: try ImprovementSettings(config: context.config))
                    .intake(context.transaction, event)
            }
        }
        return plugin
    }

    static func store(_ context: MethodContext) throws -> ImprovementStore {
        ImprovementStore(database: context.database, settings: try ImprovementSettings(config: context.config))
    }

    /// Figures come from the other processes through the coordinator, never from their tables.
    static func statsSource(_ context: MethodContext) -> ImprovementStore.StatsSource {
        { method, params throws(ResponseError) in try await context.call(method, params: params) }
    }
}
