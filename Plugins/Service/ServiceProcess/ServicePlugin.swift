import Foundation
import ITSMPluginKit
import ITSMProtocol

/// The service process: the service catalogue, the request catalogue, and the requests raised
/// from it through their approvals and fulfilment tasks (ISO/IEC 20000-1 8.2.4, 8.6.2).
public enum ServicePlugin {
    public static let version = "0.1.0"

    public static func make() -> Plugin {
        var plugin = Plugin(name: "service", version: version, schema: ServiceSchema.name, migrations: ServiceSchema.migrations)
        plugin.publishes(ServiceEvents.serviceChanged)
        plugin.publishes(ServiceEvents.raised)
        plugin.publishes(ServiceEvents.approvalRequested)
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

        plugin.method("service.set", permission: "service.write",
                      description: "Add a service to the catalogue, or change its description, owner, status, customers or configuration items",
                      routes: [HTTPRoute("POST", "services")]) {
            (params: SetService, context) in try await store(context).setService(params, actor: context.actor)
        }
        plugin.method("service.get", permission: "service.read", idempotent: true,
                      description: "A service with its request items",
                      routes: [HTTPRoute("GET", "services/{name}")]) {
            (params: ServiceKey, context) in try await store(context).service(params)
        }
        plugin.method("service.list", permission: "service.read", idempotent: true, description: "The service catalogue by name",
                      routes: [HTTPRoute("GET", "services")]) {
            (params: ListServices, context) in try await store(context).services(params)
        }
        plugin.method("request_item.set", permission: "service.write",
                      description: "Define a request item: its form, approval levels, fulfilment tasks and target",
                      routes: [HTTPRoute("POST", "request-items")]) {
            (params: SetRequestItem, context) in try await store(context).setItem(params, actor: context.actor)
        }
        plugin.method("request_item.get", permission: "service.read", idempotent: true, description: "A request item with its form",
                      routes: [HTTPRoute("GET", "request-items/{name}")]) {
            (params: RequestItemKey, context) in try await store(context).item(params)
        }
        plugin.method("request_item.list", permission: "service.read", idempotent: true,
                      description: "The request catalogue: items on offer, by service",
                      routes: [HTTPRoute("GET", "request-items")]) {
            (params: ListRequestItems, context) in try await store(context).items(params)
        }
        plugin.method("request.raise", permission: "service.request",
                      description: "Ask for a catalogue item, with the answers its form asks for",
                      routes: [HTTPRoute("POST", "requests")]) {
            (params: RaiseRequest, context) in try await store(context).raise(params, by: Caller(context))
        }
        plugin.method("request.get", permission: "service.read", idempotent: true,
                      description: "A request: its answers, each approval level, each task and its fulfilment clock",
                      routes: [HTTPRoute("GET", "requests/{number}")]) {
            (params: RequestKey, context) in try await store(context).get(params, by: Caller(context))
        }
        plugin.method("request.list", permission: "service.read", idempotent: true,
                      description: "Requests the caller sees, newest first; those awaiting their approval, or with tasks for them",
                      routes: [HTTPRoute("GET", "requests")]) {
            (params: ListRequests, context) in try await store(context).list(params, by: Caller(context))
        }
        plugin.method("request.decide", permission: "service.request",
                      description: "Approve or reject the level a request waits on, as someone that level names") {
            (params: DecideRequest, context) in try await store(context).decide(params, by: Caller(context))
        }
        plugin.method("request.complete_task", permission: Caller.fulfil,
                      description: "Mark a ready fulfilment task done; the request is fulfilled when its last task is") {
            (params: CompleteTask, context) in try await store(context).completeTask(params, by: Caller(context))
        }
        plugin.method("request.assign_task", permission: Caller.fulfil, description: "Give a fulfilment task to a member of its group") {
            (params: AssignTask, context) in try await store(context).assignTask(params, by: Caller(context))
        }
        plugin.method("request.cancel", permission: "service.request", description: "Withdraw an open request, saying why") {
            (params: CancelRequest, context) in try await store(context).cancel(params, by: Caller(context))
        }
        return plugin
    }

    static func store(_ context: MethodContext) throws -> ServiceStore {
        ServiceStore(database: context.database, settings: try ServiceSettings(config: context.config))
    }
}
