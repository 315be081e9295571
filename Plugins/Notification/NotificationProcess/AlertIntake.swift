import Crypto
import Foundation
import IncidentProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol


/// Turns Alertmanager's notifications into incidents: one per alert group while it fires,
/// found again by the group's key; alerts that start firing are noted on it; when the whole
/// group resolves, so does the incident. Alertmanager resends until it gets a 2xx, and resends
/// a firing group every repeat interval: each step is keyed, so a repeat changes nothing.
struct AlertIntake {
    let database: PluginDatabase
    /// Calls to the incident process as this process (its grants).
    let incidents: CoordinatorCaller

    func receive(_ notification: AlertmanagerNotification) async throws -> AlertIntakeResult {
        guard ["firing", "resolved"].contains(notification.status) else { throw ResponseError.invalidParams("status: firing or resolved") }
        guard !notification.groupKey.isEmpty else { throw ResponseError.invalidParams("groupKey: required") }
        for (index, alert) in notification.alerts.enumerated() where !["firing", "resolved"].contains(alert.status) {
            throw ResponseError.invalidParams("alerts[\(index)].status: firing or resolved")
        }
        let group = SHA256.hash(data: Data(notification.groupKey.utf8)).hex.prefix(32)
        // One notification of a group at a time, across instances: the group's row is the lock.
        return try await database.withTransaction { tx in
            try await tx.query("SELECT pg_advisory_xact_lock(hashtext(\(String(group))))")
            let row = try await tx.query("""
                SELECT incident, generation, open, noted FROM notification.alert_group WHERE group_hash = \(String(group))
                """).first
            var generation = try row?.decode(Int.self, "generation") ?? 0
            var incident = try row?.decode(String?.self, "incident")
            var open = try row?.decode(Bool.self, "open") ?? false
            var noted = Set(try row?.decode([String].self, "noted") ?? [])
            let firing = notification.alerts.filter { $0.status == "firing" }
            let action: String

            if notification.status == "firing" {
                if !open || incident == nil {
                    generation += 1
                    let params = incidentParams(notification)
                    let key = "alertmanager:\(group):\(generation):create"
                    let created: Incident
                    do {
                        created = try await incidents.call(IncidentMethods.create, params, idempotencyKey: key)
                    } catch let error as ResponseError where error.code == .invalidParams && error.message.hasPrefix("service:") {
                        // A service label the catalogue does not know must not lose the alert.
                        created = try await incidents.call(IncidentMethods.create, Self.withoutService(params, because: error.message),
                                                           idempotencyKey: key + ":unlisted")
                    }
                    incident = created.number
                    open = true
                    noted = Set(firing.map(Self.identity))
                    action = "created"
                } else {
                    let new = firing.filter { !noted.contains(Self.identity($0)) }
                    if new.isEmpty {
                        action = "unchanged"
                    } else {
                        let lines = new.map { "Firing: " + Self.describe($0) }.joined(separator: "\n")
                        _ = try await incidents.call(IncidentMethods.comment, CommentOnIncident(number: incident, body: lines, visibility: .workNote),
                                                     idempotencyKey: "alertmanager:\(group):\(generation):note:" + new.map(Self.identity).sorted().joined(separator: ","))
                        noted.formUnion(new.map(Self.identity))
                        action = "updated"
                    }
                }
            } else if open, let number = incident {
                let notes = "Alertmanager reports the alert group resolved:\n"
                    + notification.alerts.map { "Resolved: " + Self.describe($0) }.joined(separator: "\n")
                let current = try await incidents.call(IncidentMethods.get, GetIncident(number: number),
                                                       idempotencyKey: "alertmanager:\(group):\(generation):get")
                if !current.incident.status.isOpen {
                    _ = try await incidents.call(IncidentMethods.comment, CommentOnIncident(number: number, body: notes, visibility: .workNote),
                                                 idempotencyKey: "alertmanager:\(group):\(generation):resolved-note")
                } else {
                    var resolve = TransitionIncident(number: number, to: .resolved)
                    (resolve.resolutionCode, resolve.resolutionNotes) = ("resolved_by_monitoring", notes)
                    _ = try await incidents.call(IncidentMethods.transition, resolve, idempotencyKey: "alertmanager:\(group):\(generation):resolve")
                }
                open = false
                action = "resolved"
            } else {
                action = "ignored"
            }
            try await tx.query("""
                INSERT INTO notification.alert_group (group_hash, group_key, incident, generation, open, noted, updated_at)
                VALUES (\(String(group)), \(notification.groupKey), \(incident), \(generation), \(open), \(noted.sorted()), now())
                ON CONFLICT (group_hash) DO UPDATE SET incident = EXCLUDED.incident, generation = EXCLUDED.generation,
                    open = EXCLUDED.open, noted = EXCLUDED.noted, updated_at = now()
                """)
            return AlertIntakeResult(incident: incident, action: action)
        }
    }

    /// The incident for a group: its summary as the title, each alert in the description, the
    /// service and configuration item from the labels, impact and urgency from `severity`.
    func incidentParams(_ notification: AlertmanagerNotification) -> CreateIncident {
        let labels = notification.commonLabels ?? notification.alerts.first?.labels ?? [:]
        let annotations = notification.commonAnnotations ?? notification.alerts.first?.annotations ?? [:]
        let name = labels["alertname"] ?? "alert"
        let title = annotations["summary"] ?? ([name] + (labels["instance"].map { ["on", $0] } ?? [])).joined(separator: " ")
        var description = (annotations["description"].map { $0 + "\n\n" } ?? "")
            + notification.alerts.map { "\($0.status == "firing" ? "Firing" : "Resolved"): " + Self.describe($0) }.joined(separator: "\n")
        if let url = notification.externalURL { description += "\n\nAlertmanager: \(url)" }
        let level: Level = switch labels["severity"]?.lowercased() {
        case "critical", "page", "high": .high
        case "warning", "major", "medium": .medium
        default: .low
        }
        var params = CreateIncident(title: String(title.prefix(200)), impact: level, urgency: level)
        params.description = String(description.prefix(10_000))
        params.category = "monitoring"
        params.service = labels["service"]
        params.configurationItem = labels["ci"] ?? labels["instance"]
        return params
    }

    /// The params without their service, the refusal said in the description instead.
    static func withoutService(_ params: CreateIncident, because reason: String) -> CreateIncident {
        var params = params
        let label = params.service ?? ""
        params.service = nil
        params.description = String(("The alert's service label '\(label)' was not used: \(reason)\n\n" + (params.description ?? "")).prefix(10_000))
        return params
    }

    /// An alert once per start: the same alert firing again later is news.
    static func identity(_ alert: AlertmanagerNotification.Alert) -> String {
        (alert.fingerprint ?? alert.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))
            + "@" + (alert.startsAt ?? "")
    }

    static func describe(_ alert: AlertmanagerNotification.Alert) -> String {
        let labels = alert.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        return (alert.annotations?["summary"].map { "\($0) " } ?? "") + "{\(labels)}" + (alert.startsAt.map { " since \($0)" } ?? "")
    }
}
