import Foundation
import IncidentProtocol
import ITSMPluginKit
import ITSMProtocol

/// The service process: the service catalogue, the request catalogue, and the requests raised
/// from it through their approvals and fulfilment tasks (ISO/IEC 20000-1 8.2.4, 8.6.2).
public enum ServicePlugin {
    public static let version = "0.1.0"

    public static func make() -> Plugin {
        var plugin = Plugin(name: "service", version: version, schema: ServiceSchema.name, migrations: ServiceSchema.migrations)
        // A service report reads the customer's incident figures, as the service process itself.
        // Service names used by incident records before the catalogue existed join it.
        plugin.calls = [IncidentMethods.customerFigures.name, IncidentMethods.serviceNames.name]
        plugin.publishes(ServiceEvents.serviceChanged)
        plugin.publishes(ServiceEvents.customerChanged)
        plugin.publishes(ServiceEvents.agreementChanged)
        plugin.publishes(ServiceEvents.reviewRecorded)
        plugin.publishes(ServiceEvents.raised)
        plugin.publishes(ServiceEvents.approvalRequested)
        plugin.publishes(ServiceEvents.approvalReminder)
        plugin.publishes(ServiceEvents.approved)
        plugin.publishes(ServiceEvents.rejected)
        plugin.publishes(ServiceEvents.taskReady)
        plugin.publishes(ServiceEvents.fulfilled)
        plugin.publishes(ServiceEvents.cancelled)
        // Everyone who works here may ask for something and decide what they are named for;
        // auditors read (`*.read`, so every request) and change nothing.
        let everyone = ["requester", "agent", "group-lead", "problem-manager", "capacity-manager", "supplier-manager", "process-owner"]
        plugin.permission("service.read", "Read the catalogues, and follow requests: one's own, those awaiting one's decision, those with tasks for one's groups",
                          grantedTo: everyone)
        plugin.permission("service.request", "Raise requests from the catalogue, decide approvals one is named for, withdraw one's own",
                          grantedTo: everyone)
        plugin.permission(Caller.seeEverything, "See every request", grantedTo: ["agent", "group-lead"])
        plugin.permission(Caller.fulfil, "Carry out fulfilment tasks, raise requests for others, withdraw any request",
                          grantedTo: ["agent", "group-lead"])
        plugin.permission(Caller.approveAny, "Decide any approval level (never one's own request)")
        plugin.permission(reportRead, "Read service reports and service reviews of every customer", grantedTo: ["process-owner", "group-lead"])

        plugin.method(ServiceMethods.setService, permission: "service.write",
                      description: "Add a service to the catalogue, or change its description, owner, status, customers or configuration items",
                      routes: [HTTPRoute("POST", "services")]) {
            (params: SetService, context) in try await store(context).setService(params, actor: context.actor)
        }
        plugin.method(ServiceMethods.service, permission: "service.read", idempotent: true,
                      description: "A service with its request items",
                      routes: [HTTPRoute("GET", "services/{name}")]) {
            (params: ServiceKey, context) in try await store(context).service(params)
        }
        plugin.method(ServiceMethods.services, permission: "service.read", idempotent: true, description: "The service catalogue by name",
                      routes: [HTTPRoute("GET", "services")]) {
            (params: ListServices, context) in try await store(context).services(params)
        }
        plugin.method(ServiceMethods.setItem, permission: "service.write",
                      description: "Define a request item: its form, approval levels, fulfilment tasks and target",
                      routes: [HTTPRoute("POST", "request-items")]) {
            (params: SetRequestItem, context) in try await store(context).setItem(params, actor: context.actor)
        }
        plugin.method(ServiceMethods.item, permission: "service.read", idempotent: true, description: "A request item with its form",
                      routes: [HTTPRoute("GET", "request-items/{name}")]) {
            (params: RequestItemKey, context) in try await store(context).item(params)
        }
        plugin.method(ServiceMethods.items, permission: "service.read", idempotent: true,
                      description: "The request catalogue: items on offer, by service",
                      routes: [HTTPRoute("GET", "request-items")]) {
            (params: ListRequestItems, context) in try await store(context).items(params)
        }
        plugin.method(ServiceMethods.raise, permission: "service.request",
                      description: "Ask for a catalogue item, with the answers its form asks for",
                      routes: [HTTPRoute("POST", "requests")]) {
            (params: RaiseRequest, context) in try await store(context).raise(params, by: Caller(context))
        }
        plugin.method(ServiceMethods.request, permission: "service.read", idempotent: true,
                      description: "A request: its answers, each approval level, each task and its fulfilment clock",
                      routes: [HTTPRoute("GET", "requests/{number}")]) {
            (params: RequestKey, context) in try await store(context).get(params, by: Caller(context))
        }
        plugin.method(ServiceMethods.requests, permission: "service.read", idempotent: true,
                      description: "Requests the caller sees, newest first; those awaiting their approval, or with tasks for them",
                      routes: [HTTPRoute("GET", "requests")]) {
            (params: ListRequests, context) in try await store(context).list(params, by: Caller(context))
        }
        plugin.method(ServiceMethods.decide, permission: "service.request",
                      description: "Approve or reject the level a request waits on, as someone that level names") {
            (params: DecideRequest, context) in try await store(context).decide(params, by: Caller(context))
        }
        plugin.method(ServiceMethods.completeTask, permission: Caller.fulfil,
                      description: "Mark a ready fulfilment task done; the request is fulfilled when its last task is") {
            (params: CompleteTask, context) in try await store(context).completeTask(params, by: Caller(context))
        }
        plugin.method(ServiceMethods.assignTask, permission: Caller.fulfil, description: "Give a fulfilment task to a member of its group") {
            (params: AssignTask, context) in try await store(context).assignTask(params, by: Caller(context))
        }
        plugin.method(ServiceMethods.cancel, permission: "service.request", description: "Withdraw an open request, saying why") {
            (params: CancelRequest, context) in try await store(context).cancel(params, by: Caller(context))
        }

        plugin.method(ServiceMethods.setCustomer, permission: "service.write",
                      description: "Record a customer (an organisation), or change its description, status or contacts (accounts)",
                      routes: [HTTPRoute("POST", "customers")]) {
            (params: SetCustomer, context) in try await store(context).setCustomer(params, actor: context.actor)
        }
        plugin.method(ServiceMethods.customer, permission: "service.read", idempotent: true,
                      description: "A customer with its agreements and service reviews", routes: [HTTPRoute("GET", "customers/{name}")]) {
            (params: CustomerKey, context) in try await store(context).customer(params)
        }
        plugin.method(ServiceMethods.customers, permission: "service.read", idempotent: true, description: "Customers by name",
                      routes: [HTTPRoute("GET", "customers")]) {
            (params: ListCustomers, context) in try await store(context).customers(params)
        }
        plugin.method(ServiceMethods.setAgreement, permission: "service.write",
                      description: "Make or change a service level agreement: customer, service, period, targets per priority, hours",
                      routes: [HTTPRoute("POST", "agreements")]) {
            (params: SetAgreement, context) in try await store(context).setAgreement(params, actor: context.actor)
        }
        plugin.method(ServiceMethods.agreement, permission: "service.read", idempotent: true, description: "An agreement",
                      routes: [HTTPRoute("GET", "agreements/{reference}")]) {
            (params: AgreementKey, context) in try await store(context).agreement(params)
        }
        plugin.method(ServiceMethods.agreements, permission: "service.read", idempotent: true, description: "Agreements by customer and service",
                      routes: [HTTPRoute("GET", "agreements")]) {
            (params: ListAgreements, context) in try await store(context).agreements(params)
        }
        plugin.method(ServiceMethods.report, permission: reportRead, idempotent: true,
                      description: "A customer's service report for a period: agreed against achieved, breaches, requests, trend; JSON, Markdown or HTML",
                      routes: [HTTPRoute("GET", "service-reports/{customer}", defaults: ["format": "html"],
                                         documents: ["markdown": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"])]) {
            (params: ServiceReportParams, context) -> JSONValue in
            let report = try await store(context).report(params) { service, from, to throws(ResponseError) in
                try await context.callAsPlugin(IncidentMethods.customerFigures,
                                               CustomerFiguresParams(customer: params.customer, service: service, from: from, to: to))
            }
            switch params.format ?? "json" {
            case "json": return try JSONValue(encoding: report)
            case "markdown": return ["format": "markdown", "document": .string(report.markdown)]
            case "html": return ["format": "html", "document": .string(report.html)]
            default: throw ResponseError.invalidParams("format: json, markdown or html")
            }
        }
        plugin.method(ServiceMethods.recordReview, permission: "service.write",
                      description: "Record a service review with a customer: date, attendees, findings, actions with owner and due date",
                      routes: [HTTPRoute("POST", "service-reviews")]) {
            (params: RecordServiceReview, context) in try await store(context).recordReview(params, actor: context.actor)
        }
        plugin.method(ServiceMethods.review, permission: reportRead, idempotent: true, description: "A service review with its actions",
                      routes: [HTTPRoute("GET", "service-reviews/{number}")]) {
            (params: ServiceReviewKey, context) in try await store(context).review(params)
        }
        plugin.method(ServiceMethods.reviews, permission: reportRead, idempotent: true,
                      description: "Service reviews, newest first; those with actions still open",
                      routes: [HTTPRoute("GET", "service-reviews")]) {
            (params: ListServiceReviews, context) in try await store(context).reviews(params)
        }
        plugin.method(ServiceMethods.completeReviewAction, permission: "service.write", description: "Record an action's outcome: it is done") {
            (params: CompleteReviewAction, context) in try await store(context).completeReviewAction(params, actor: context.actor)
        }
        // Once: the service names incident records used before the catalogue join it. Tried
        // every 10 s until the incident process answers; then a single indexed read.
        plugin.every(.seconds(10), name: "catalogue-from-records") { context in
            let store = ServiceStore(database: context.database, settings: try ServiceSettings(config: context.config))
            guard try await !store.adopted(from: "incident") else { return }
            let names: [ServiceName]
            do {
                names = try await context.call(IncidentMethods.serviceNames, NoParams())
            } catch let error as ResponseError {
                guard error.kind == "plugin.disabled" else { throw error }
                return
            }
            let added = try await store.adopt(names.map { ($0.name, $0.records) }, from: "incident")
            if !added.isEmpty {
                context.logger.notice("service names the records use were added to the catalogue", metadata: ["itsm.services": "\(added)"])
            }
        }
        plugin.every(.seconds(approvalScanSeconds), name: "approval-deadlines") { context in
            _ = try await ServiceStore(database: context.database, settings: try ServiceSettings(config: context.config))
                .enforceApprovalDeadlines()
        }
        return plugin
    }

    /// How often approval reminders and timeouts are checked: `ITSM_SERVICE_APPROVAL_SCAN_SECONDS`, default 60.
    static var approvalScanSeconds: Int {
        ProcessInfo.processInfo.environment["ITSM_SERVICE_APPROVAL_SCAN_SECONDS"].flatMap(Int.init).map { max(1, $0) } ?? 60
    }

    /// Reports and reviews name every customer's records: for service level managers and auditors.
    static let reportRead = "service.report.read"

    static func store(_ context: MethodContext) throws -> ServiceStore {
        ServiceStore(database: context.database, settings: try ServiceSettings(config: context.config))
    }
}
