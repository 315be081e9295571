import Foundation
import IncidentProtocol
import ITSMPluginKit
import ITSMProtocol

/// The problem management process: its methods, events and schema.
public enum ProblemPlugin {
    public static let version = "0.1.0"

    /// Incident events that change what this process knows of an incident.
    public static func make() -> Plugin {
        var plugin = Plugin(name: "problem", version: version, schema: ProblemSchema.name, migrations: ProblemSchema.migrations)
        // Linking checks the incident exists, on behalf of whoever links.
        plugin.calls = [IncidentMethods.get.name]
        plugin.publishes(ProblemEvents.created)
        plugin.publishes(ProblemEvents.updated)
        plugin.publishes(ProblemEvents.statusChanged)
        plugin.publishes(ProblemEvents.resolved)
        plugin.publishes(ProblemEvents.proposed)
        plugin.publishes(ProblemEvents.majorDeclared)
        plugin.publishes(ProblemEvents.knownErrorPublished)
        plugin.publishes(ProblemEvents.incidentLinked)
        plugin.publishes(ProblemEvents.incidentUnlinked)

        plugin.method(ProblemMethods.create, permission: "problem.write",
                      description: "Record a problem: title, description, services, configurationItems, category, impact, urgency, owner",
                      routes: [HTTPRoute("POST", "problems")]) {
            (params: CreateProblem, context) in
            try await store(context).create(params, actor: context.actor)
        }
        plugin.method(ProblemMethods.get, permission: "problem.read", idempotent: true,
                      description: "A problem with its incidents, business impact, known error, review, recurrence and history",
                      routes: [HTTPRoute("GET", "problems/{number}")]) {
            (params: GetProblem, context) in
            try await store(context).get(params)
        }
        plugin.method(ProblemMethods.list, permission: "problem.read", idempotent: true,
                      description: "Problems, newest first, by status, owner or major",
                      routes: [HTTPRoute("GET", "problems")]) { (params: ListProblems, context) in
            try await store(context).list(params)
        }
        plugin.method(ProblemMethods.update, permission: "problem.write",
                      description: "Change fields; fix names the change that fixes it",
                      routes: [HTTPRoute("PATCH", "problems/{number}")]) { (params: UpdateProblem, context) in
            try await store(context).update(params, actor: context.actor)
        }
        plugin.method(ProblemMethods.transition, permission: "problem.write",
                      description: "Move along proposed, new, under_investigation, known_error, resolved, closed") {
            (params: TransitionProblem, context) in
            try await store(context).transition(params, actor: context.actor)
        }
        plugin.method(ProblemMethods.recordRootCause, permission: "problem.write",
                      description: "Record the root cause analysis: method, findings, category") { (params: RecordRootCause, context) in
            try await store(context).recordRootCause(params, actor: context.actor)
        }
        plugin.method(ProblemMethods.link, permission: "problem.write",
                      description: "Link an incident (checked with the incident process)") { (params: LinkProblemIncident, context) in
            try await store(context).link(params, actor: context.actor) { number throws(ResponseError) in
                try await context.call(IncidentMethods.get, GetIncident(number: number)).incident
            }
        }
        plugin.method(ProblemMethods.unlink, permission: "problem.write",
                      description: "Unlink an incident") { (params: LinkProblemIncident, context) in
            try await store(context).unlink(params, actor: context.actor)
        }
        plugin.method(ProblemMethods.review, permission: "problem.write",
                      description: "Record the review a major problem needs before it closes") { (params: ReviewProblem, context) in
            try await store(context).review(params, actor: context.actor)
        }
        plugin.method(ProblemMethods.detect, permission: "problem.write",
                      description: "Look for recurring incidents within the detection window now") { (_: NoParams, context) in
            try await store(context).detectRecent(actor: context.actor)
        }
        plugin.method(ProblemMethods.stats, permission: "problem.read", idempotent: true,
                      description: "Figures for a period: created, proposed, resolved, known errors, open by status") {
            (params: ProblemStatsParams, context) in
            try await store(context).stats(params)
        }
        plugin.method(ProblemMethods.publishKnownError, permission: "problem.write",
                      description: "Publish a problem's known error: symptoms, root cause, workaround") {
            (params: PublishKnownError, context) in
            try await store(context).publishKnownError(params, actor: context.actor)
        }
        plugin.method(ProblemMethods.knownError, permission: "problem.read", idempotent: true,
                      description: "One known error by number",
                      routes: [HTTPRoute("GET", "knownerrors/{number}")]) { (params: KnownErrorKey, context) in
            try await store(context).knownError(number: params.number)
        }
        plugin.method(ProblemMethods.searchKnownErrors, permission: "problem.read", idempotent: true,
                      description: "Known errors matching a description of symptoms, most relevant first",
                      routes: [HTTPRoute("GET", "knownerrors", queryAliases: ["q": "text"])]) {
            (params: SearchKnownErrors, context) in
            try await store(context).searchKnownErrors(params)
        }

        // Keep the incident projection current; look for recurrence when an incident appears
        // or its CI, service or category changes.
        for type in IncidentEvents.carryingTheRecord {
            plugin.subscribe(type) { event, context in
                let store = ProblemStore(database: context.database, settings: try ProblemSettings(config: context.config))
                let findings = try await store.observe(
                    context.transaction, incident: try IncidentEvents.record(from: event), sequence: event.sequence,
                    detect: type == IncidentEvents.created.name || type == IncidentEvents.updated.name)
                for finding in findings {
                    context.logger.notice("recurring incidents", metadata: [
                        "itsm.problem": "\(finding.problem)", "itsm.rule": "\(finding.rule)", "itsm.action": "\(finding.action)",
                    ])
                }
            }
        }
        return plugin
    }

    static func store(_ context: MethodContext) throws -> ProblemStore {
        ProblemStore(database: context.database, settings: try ProblemSettings(config: context.config))
    }
}
