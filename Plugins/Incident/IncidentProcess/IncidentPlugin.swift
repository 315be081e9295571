import Foundation
import ProblemProtocol
import ServiceProtocol
import ITSMPluginKit
import ITSMProtocol


/// The incident and service request process: its methods, events and schema.
public enum IncidentPlugin {
    public static let version = "0.2.0"

    public static func make() -> Plugin {
        var plugin = Plugin(name: "incident", version: version, schema: IncidentSchema.name,
                            migrations: IncidentSchema.migrations)
        plugin.publishes(IncidentEvents.created)
        for change in [IncidentEvents.updated, IncidentEvents.assigned, IncidentEvents.statusChanged, IncidentEvents.resolved,
                       IncidentEvents.closed, IncidentEvents.reopened] {
            plugin.publishes(change)
        }
        plugin.publishes(IncidentEvents.slaWarning)
        plugin.publishes(IncidentEvents.slaBreached)
        plugin.publishes(IncidentEvents.majorDeclared)
        plugin.publishes(IncidentEvents.reviewed)
        plugin.publishes(IncidentEvents.escalated)
        plugin.publishes(IncidentEvents.linked)
        plugin.publishes(IncidentEvents.imported)
        plugin.permission(Viewer.seeEverything,
                          "See every incident and request with its work notes; a person without it or incident.group.read sees only their own records and customer comments",
                          grantedTo: ["agent", "problem-manager", "capacity-manager"])
        plugin.permission(Viewer.seeGroups,
                          "See the records assigned to one's assignment groups or oneself, with their work notes (give it instead of incident.all.read to limit agents to their groups)")

        plugin.method(IncidentMethods.create, permission: "incident.write",
                      description: "Create an incident or service request",
                      routes: [HTTPRoute("POST", "incidents")]) { (params: CreateIncident, context) in
            var params = params
            if let requester = Viewer(context.principal), requester.isRequester {
                // A requester reports for themselves, and the desk decides who works on it.
                if let caller = params.caller, caller != requester.name {
                    throw ResponseError.invalidParams("caller: a requester reports for themselves (\(requester.name)), not for \(caller)")
                }
                if params.assignee != nil || params.assignmentGroup != nil { throw Viewer.deskOnly("assigning") }
                params.caller = requester.name
            }
            return try await store(context).create(params, actor: context.actor, idempotencyKey: context.idempotencyKey)
        }
        plugin.method(IncidentMethods.get, permission: "incident.read", idempotent: true,
                      description: "Get one record by id or number, optionally with history and comments",
                      routes: [HTTPRoute("GET", "incidents/{number}", uuidFills: ["number": "id"])]) { (params: GetIncident, context) in
            try await store(context).get(params)
        }
        plugin.method(IncidentMethods.list, permission: "incident.read", idempotent: true,
                      description: "List records, newest first, with filters",
                      routes: [HTTPRoute("GET", "incidents")]) { (params: ListIncidents, context) in
            try await store(context).list(params)
        }
        plugin.method(IncidentMethods.update, permission: "incident.write",
                      description: "Change fields; impact or urgency recompute the priority",
                      routes: [HTTPRoute("PATCH", "incidents/{number}", uuidFills: ["number": "id"])]) { (params: UpdateIncident, context) in
            try deskOnly(context, "incident.update")
            return try await store(context).update(params, actor: context.actor)
        }
        plugin.method(IncidentMethods.assign, permission: "incident.write",
                      description: "Assign to a group and/or an agent") { (params: AssignIncident, context) in
            try deskOnly(context, "incident.assign")
            return try await store(context).assign(params, actor: context.actor)
        }
        plugin.method(IncidentMethods.transition, permission: "incident.write",
                      description: "Move through the lifecycle: in_progress, on_hold, resolved, closed, cancelled, reopen") {
            (params: TransitionIncident, context) in
            let store = try store(context)
            if store.viewer?.isRequester == true {
                // Their own record (else not found), and only confirming, reopening or withdrawing it.
                let current = try await store.get(GetIncident(id: params.id, number: params.number)).incident
                let confirmsOrReopens = current.status == .resolved && [.closed, .inProgress].contains(params.to)
                guard confirmsOrReopens || (current.status.isOpen && params.to == .cancelled) else {
                    throw Viewer.deskOnly("moving a record to \(params.to.rawValue)")
                }
            }
            return try await store.transition(params, actor: context.actor)
        }
        plugin.method(IncidentMethods.comment, permission: "incident.write",
                      description: "Add a work note or a customer-visible comment") { (params: CommentOnIncident, context) in
            var params = params
            if Viewer(context.principal)?.isRequester == true {
                // What a requester writes is for the desk and the customer alike.
                guard params.visibility != .workNote else {
                    throw ResponseError.invalidParams("visibility: a requester's comments are customer comments; work notes are the desk's")
                }
                params.visibility = .customer
            }
            return try await store(context).comment(params, actor: context.actor)
        }
        plugin.method(IncidentMethods.declareMajor, permission: "incident.write",
                      description: "Declare a major incident, recording who, when and why") { (params: DeclareMajor, context) in
            try deskOnly(context, "incident.declare_major")
            return try await store(context).declareMajor(params, actor: context.actor)
        }
        plugin.method(IncidentMethods.review, permission: "incident.write",
                      description: "Record the post-incident review a major incident needs before closing") {
            (params: ReviewIncident, context) in
            try deskOnly(context, "incident.review")
            return try await store(context).review(params, actor: context.actor)
        }
        plugin.method(IncidentMethods.escalate, permission: "incident.write",
                      description: "Escalate functionally (to a group) or hierarchically (up the management line)") {
            (params: EscalateIncident, context) in
            try deskOnly(context, "incident.escalate")
            return try await store(context).escalate(params, actor: context.actor)
        }
        plugin.method(IncidentMethods.link, permission: "incident.write",
                      description: "Relate to a major incident (parent), a duplicate, a problem or a known error") {
            (params: LinkIncident, context) in
            try deskOnly(context, "incident.link")
            return try await store(context).link(params, actor: context.actor)
        }
        plugin.method(IncidentMethods.search, permission: "incident.read", idempotent: true,
                      description: "Full-text search over titles, descriptions, resolutions and comments") {
            (params: SearchIncidents, context) in
            try await store(context).search(params)
        }
        plugin.method(IncidentMethods.stats, permission: "incident.read", idempotent: true,
                      description: "Open records by priority and status, breaches, MTTR and SLA compliance for a period") {
            (params: IncidentStatsParams, context) in
            try deskOnly(context, "incident.stats")
            return try await store(context).stats(params)
        }
        plugin.method(IncidentMethods.beginImport, permission: "incident.import",
                      description: "Start a CSV import: the header and how to map it") { params, context in
            try await store(context).beginImport(params, actor: context.actor)
        }
        plugin.method(IncidentMethods.stageImportRows, permission: "incident.import",
                      description: "Stage the next rows of an import") { params, context in
            try await store(context).stageImportRows(params, actor: context.actor)
        }
        plugin.method(IncidentMethods.commitImport, permission: "incident.import",
                      description: "Import every staged row at once, or none if one is invalid (unless skipInvalid)") {
            params, context in
            try await store(context).commitImport(params, actor: context.actor)
        }
        plugin.method(IncidentMethods.defineServiceLevel, permission: "incident.admin",
                      description: "Create or replace the service level for a service (or all) and a priority") { params, context in
            try await store(context).defineServiceLevel(params, actor: context.actor)
        }
        plugin.method(IncidentMethods.priorityMatrix, permission: "incident.read", idempotent: true,
                      description: "The priority each impact and urgency gives (config.priorityMatrix)") { (_: NoParams, context) in
            try IncidentSettings(config: context.config).matrix.cells
        }
        plugin.method(IncidentMethods.serviceLevels, permission: "incident.read", idempotent: true,
                      description: "The service level definitions") { (_: NoParams, context) in
            try await store(context).serviceLevels()
        }
        // Several instances may scan at once: each warning and breach is claimed in the
        // database and published by exactly one of them.
        // The problem process publishes known errors and links: keep this side in step.
        plugin.subscribe(ProblemEvents.knownErrorPublished) { knownError, _, context in
            try await IncidentSettings(config: context.config).store(context.database)
                .learn(knownError, in: context.transaction)
        }
        plugin.subscribe(ProblemEvents.incidentLinked) { link, _, context in
            try await IncidentSettings(config: context.config).store(context.database)
                .recordProblemLink(link, linked: true, in: context.transaction)
        }
        plugin.subscribe(ProblemEvents.incidentUnlinked) { link, _, context in
            try await IncidentSettings(config: context.config).store(context.database)
                .recordProblemLink(link, linked: false, in: context.transaction)
        }
        // The service process's customers and agreements decide which targets measure a record.
        plugin.subscribe(CatalogueEvents.customerChanged) { customer, _, context in
            try await IncidentSettings(config: context.config).store(context.database).learn(customer, in: context.transaction)
        }
        plugin.subscribe(CatalogueEvents.agreementChanged) { agreement, _, context in
            try await IncidentSettings(config: context.config).store(context.database).learn(agreement, in: context.transaction)
        }
        plugin.subscribe(CatalogueEvents.serviceChanged) { service, _, context in
            try await IncidentSettings(config: context.config).store(context.database).learn(service, in: context.transaction)
        }
        plugin.method(IncidentMethods.serviceNames, permission: "incident.read", idempotent: true,
                      description: "Each service name the records use, with how many use it") { (_: NoParams, context) in
            try await store(context).serviceNames()
        }
        plugin.method(IncidentMethods.customerFigures, permission: "incident.read", idempotent: true,
                      description: "A customer's incidents created in a period: volumes, clock verdicts by priority, and each breach") {
            (params: CustomerFiguresParams, context) in
            // Breaches name other people's records: for those who see every record.
            if Viewer(context.principal) != nil {
                throw ResponseError(code: .permissionDenied, kind: "auth.forbidden",
                                    message: "a customer's figures are for those who see every incident (\(Viewer.seeEverything))")
            }
            return try await store(context).customerFigures(params)
        }
        plugin.every(.seconds(slaScanSeconds), name: "sla-scan") { context in
            try await IncidentSettings(config: context.config).store(context.database).scanServiceLevels()
        }
        plugin.every(.seconds(3600), name: "applied-request-prune") { context in
            try await IncidentSettings(config: context.config).store(context.database).pruneAppliedRequests()
        }
        plugin.every(.seconds(3600), name: "history-months") { context in
            try await IncidentSettings(config: context.config).store(context.database).ensureHistoryMonths()
        }
        return plugin
    }

    /// How often SLA clocks are checked: `ITSM_INCIDENT_SLA_SCAN_SECONDS`, default 15.
    static var slaScanSeconds: Int {
        ProcessInfo.processInfo.environment["ITSM_INCIDENT_SLA_SCAN_SECONDS"].flatMap(Int.init).map { max(1, $0) } ?? 15
    }

    /// A store configured from the plugin's `config:` section, for the request's audience.
    static func store(_ context: MethodContext) throws -> IncidentStore {
        var store = try IncidentSettings(config: context.config).store(context.database)
        store.requestKey = context.idempotencyKey
        store.viewer = Viewer(context.principal)
        return store
    }

    /// Refuses the desk's own work to a requester.
    static func deskOnly(_ context: MethodContext, _ method: String) throws(ResponseError) {
        if Viewer(context.principal)?.isRequester == true { throw Viewer.deskOnly(method) }
    }
}

/// The incident process's settings in itsm.yaml:
///
/// ```yaml
/// plugins:
///   - name: incident
///     config:
///       priorityMatrix: [[1, 2, 3], [2, 3, 4], [3, 4, 5]]   # rows: impact high..low; columns: urgency high..low
///       reopenWindowHours: 168
///       majorIncidentPriority: P1        # records at P1 become major incidents automatically
///       escalateOnWarning: {kind: functional, toGroup: service-desk-tier2}
///       knownErrorSimilarity: 0.6        # title similarity that attaches a known error's workaround
/// ```
public struct IncidentSettings: Sendable {
    public var matrix = PriorityMatrix.itil
    public var lifecycle = Lifecycle()
    public var majorPriority: Priority?
    public var escalationOnWarning: EscalateIncident.Kind?
    public var escalationGroup: String?
    /// How similar (0 to 1) a title must be to a known error's title and symptoms to get its workaround.
    public var knownErrorSimilarity = 0.6

    public func store(_ database: PluginDatabase) -> IncidentStore {
        IncidentStore(database: database, matrix: matrix, lifecycle: lifecycle, majorPriority: majorPriority,
                      escalationOnWarning: escalationOnWarning, escalationGroup: escalationGroup,
                      knownErrorSimilarity: knownErrorSimilarity)
    }

    public init(config: JSONValue) throws {
        if let rows = config["priorityMatrix"] {
            guard let numbers = try? rows.decode([[Int]].self), let matrix = PriorityMatrix(rows: numbers) else {
                throw ResponseError.business(kind: "incident.bad_config",
                                             message: "config.priorityMatrix must be 3 rows of 3 priorities from 1 to 5")
            }
            self.matrix = matrix
        }
        if let hours = config["reopenWindowHours"] {
            guard let value = hours.intValue, value >= 0 else {
                throw ResponseError.business(kind: "incident.bad_config", message: "config.reopenWindowHours must be a whole number >= 0")
            }
            lifecycle = Lifecycle(reopenWindow: Double(value) * 3600)
        }
        if let major = config["majorIncidentPriority"] {
            guard let priority = try? major.decode(Priority.self) else {
                throw ResponseError.business(kind: "incident.bad_config", message: "config.majorIncidentPriority must be P1 ... P5")
            }
            majorPriority = priority
        }
        if let similarity = config["knownErrorSimilarity"] {
            guard let value = similarity.doubleValue, value > 0, value <= 1 else {
                throw ResponseError.business(kind: "incident.bad_config", message: "config.knownErrorSimilarity must be between 0 and 1")
            }
            knownErrorSimilarity = value
        }
        if let escalation = config["escalateOnWarning"] {
            guard let kind = escalation["kind"].flatMap({ try? $0.decode(EscalateIncident.Kind.self) }),
                  kind == .hierarchical || escalation["toGroup"]?.stringValue != nil else {
                throw ResponseError.business(kind: "incident.bad_config", message:
                    "config.escalateOnWarning needs kind: functional (with toGroup) or hierarchical")
            }
            escalationOnWarning = kind
            escalationGroup = escalation["toGroup"]?.stringValue
        }
    }
}
