import Foundation
import IncidentProtocol
import ITSMPluginKit
import ITSMProtocol

/// The notification process: rules turn events into mail and webhook posts, each recorded,
/// sent once per event and recipient, retried on failure and given up visibly; it learns of
/// everything through events alone, like any other process. Alerts come in from Alertmanager
/// and become incidents through the incident process's methods.
public enum NotificationPlugin {
    public static let version = "0.1.0"

    public static func make() -> Plugin {
        var plugin = Plugin(name: "notification", version: version, schema: NotificationSchema.name, migrations: NotificationSchema.migrations)
        plugin.method(NotificationMethods.setRule, permission: "notification.write",
                      description: "Create a rule, or replace the one of that name: event, filters, recipients, enabled",
                      routes: [HTTPRoute("PUT", "notification-rules/{name}")]) { params, context in
            try await NotificationStore(database: context.database)
                .setRule(params, settings: try NotificationSettings(config: context.config), actor: context.actor)
        }
        plugin.method(NotificationMethods.rule, permission: "notification.read", idempotent: true, description: "A rule with its history",
                      routes: [HTTPRoute("GET", "notification-rules/{name}")]) { params, context in
            try await NotificationStore(database: context.database).rule(params)
        }
        plugin.method(NotificationMethods.rules, permission: "notification.read", idempotent: true, description: "Every rule, by event",
                      routes: [HTTPRoute("GET", "notification-rules")]) { _, context in
            try await NotificationStore(database: context.database).rules()
        }
        plugin.method(NotificationMethods.list, permission: "notification.read", idempotent: true,
                      description: "Notifications, latest first: by status, recipient, record, event and period",
                      routes: [HTTPRoute("GET", "notifications")]) { params, context in
            try await NotificationStore(database: context.database).deliveries(params)
        }
        plugin.method(NotificationMethods.get, permission: "notification.read", idempotent: true,
                      description: "One notification: to whom, what, when, its attempts and last error",
                      routes: [HTTPRoute("GET", "notifications/{id}")]) { params, context in
            try await NotificationStore(database: context.database).delivery(params)
        }
        plugin.method(NotificationMethods.retry, permission: "notification.write", description: "Send a failed or skipped notification again") {
            params, context in try await NotificationStore(database: context.database).retry(params, actor: context.actor)
        }
        plugin.calls = [IncidentMethods.create.name, IncidentMethods.comment.name, IncidentMethods.transition.name,
                        IncidentMethods.get.name, "people.contacts"]
        plugin.method(NotificationMethods.alertmanager, permission: "alerts.write",
                      description: "Alertmanager's webhook: one incident per alert group, new alerts noted on it, resolved with the group",
                      routes: [HTTPRoute("POST", "alerts/alertmanager")]) { params, context in
            try await AlertIntake(database: context.database, incidents: context.asPlugin).receive(params)
        }
        plugin.method(NotificationMethods.mailList, permission: "notification.read", idempotent: true,
                      description: "Mail read from the desk's mailbox, latest first, and what became of each",
                      routes: [HTTPRoute("GET", "inbound-mail")]) { params, context in
            try await MailIntake(database: context.database, coordinator: context.asPlugin).list(params)
        }
        for type in Rule.eventTypes {
            plugin.subscribe(type) { event, context in
                try await NotificationStore(database: context.database)
                    .intake(context.transaction, event, settings: try NotificationSettings(config: context.config)) { query throws in
                        try await contacts(query) { method, params throws(ResponseError) in try await context.call(method, params: params) }
                    }
            }
        }
        plugin.every(.seconds(1), name: "deliver") { context in
            try await NotificationStore(database: context.database)
                .deliverDue(settings: try NotificationSettings(config: context.config), logger: context.logger)
        }
        plugin.every(.seconds(1), name: "mailbox") { context in
            let settings = try NotificationSettings(config: context.config)
            guard let mailbox = settings.mailbox, await MailboxClock.shared.due(every: mailbox.poll) else { return }
            // A scheduled job calls as this process, within its grants.
            try await MailIntake(database: context.database, coordinator: context.caller)
                .poll(mailbox, ownAddress: settings.smtp?.from, logger: context.logger)
        }
        return plugin
    }
}


/// People's names and addresses from the coordinator (`people.contacts`).
func contacts(_ query: [String: JSONValue], call: (String, JSONValue) async throws(ResponseError) -> JSONValue) async throws -> [(name: String, email: String?)] {
    let answer = try await call("people.contacts", .object(query))
    return (answer["people"]?.arrayValue ?? []).compactMap { person in
        person["name"]?.stringValue.map { ($0, person["email"]?.stringValue) }
    }
}
