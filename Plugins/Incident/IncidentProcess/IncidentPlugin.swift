import ITSMPluginKit
import ITSMProtocol

/// The incident and service request process: its methods, events and schema.
public enum IncidentPlugin {
    public static let version = "0.1.0"

    public static func make() -> Plugin {
        var plugin = Plugin(name: "incident", version: version, schema: IncidentSchema.name,
                            migrations: IncidentSchema.migrations)
        plugin.publishes = ["incident.created"]

        plugin.method("incident.create", permission: "incident.write",
                      description: "Create an incident or service request") { (params: CreateIncident, context) in
            try await IncidentStore(database: context.database)
                .create(params, actor: context.actor, idempotencyKey: context.idempotencyKey)
        }
        plugin.method("incident.get", permission: "incident.read", idempotent: true,
                      description: "Get one record by id or number, optionally with its history") { (params: GetIncident, context) in
            try await IncidentStore(database: context.database).get(params)
        }
        plugin.method("incident.list", permission: "incident.read", idempotent: true,
                      description: "List records, newest first, with filters") { (params: ListIncidents, context) in
            try await IncidentStore(database: context.database).list(params)
        }
        return plugin
    }
}
