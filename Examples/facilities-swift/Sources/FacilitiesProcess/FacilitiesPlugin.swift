import ITSMPluginKit
import ITSMProtocol

/// The facilities process: its methods, the events it publishes and the ones it handles.
public enum FacilitiesPlugin {
    public static let name = "facilities"

    public static func make() -> Plugin {
        var plugin = Plugin(name: name, version: "0.1.0", schema: FacilitiesSchema.name, migrations: FacilitiesSchema.migrations)
        plugin.publishes(FacilitiesEvents.created)
        plugin.publishes(FacilitiesEvents.completed)

        plugin.method("facilities.create", permission: "facilities.write",
                      description: "Record a new request: title, details",
                      routes: [HTTPRoute("POST", "facilities")]) { (params: CreateRequest, context) in
            try await FacilitiesStore(database: context.database).create(params, actor: context.actor)
        }
        plugin.method("facilities.get", permission: "facilities.read", idempotent: true,
                      description: "One request with its history",
                      routes: [HTTPRoute("GET", "facilities/{number}")]) { (params: RequestNumber, context) in
            try await FacilitiesStore(database: context.database).get(number: params.number)
        }
        plugin.method("facilities.list", permission: "facilities.read", idempotent: true,
                      description: "Requests, newest first, optionally by status",
                      routes: [HTTPRoute("GET", "facilities")]) { (params: ListRequests, context) in
            try await FacilitiesStore(database: context.database).list(params)
        }
        plugin.method("facilities.complete", permission: "facilities.write",
                      description: "Mark an open request completed",
                      routes: [HTTPRoute("POST", "facilities/{number}/complete")]) { (params: RequestNumber, context) in
            try await FacilitiesStore(database: context.database).complete(number: params.number, actor: context.actor)
        }

        // The kit marks the event handled in the same transaction: a redelivery changes nothing.
        plugin.subscribe("incident.major_declared") { event, context in
            guard let incident = event.data["incident"]?["number"]?.stringValue else {
                context.logger.warning("incident.major_declared without an incident number; ignored")
                return
            }
            _ = try await FacilitiesStore.insert(
                title: "Follow up major incident \(incident)", details: "", incident: incident,
                actor: "plugin:facilities", in: context.transaction)
        }
        return plugin
    }
}

/// The events the facilities process publishes, with their payloads: declared once, used to publish.
public enum FacilitiesEvents {
    public static let created = EventType<Request>("facilities.created", "A request was recorded.")
    public static let completed = EventType<Request>("facilities.completed", "A request was completed.")
}
