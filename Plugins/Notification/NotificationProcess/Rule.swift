import CapacityProtocol
import Foundation
import ImprovementProtocol
import IncidentProtocol
import ITSMPluginKit
import ITSMProtocol
import Mustache
import ProblemProtocol
import ServiceProtocol
import SupplierProtocol

extension Rule {
    /// The events rules can name: those the process subscribes to.
    public static let eventTypes = [
        IncidentEvents.created.name, IncidentEvents.assigned.name, IncidentEvents.escalated.name, IncidentEvents.majorDeclared.name,
        IncidentEvents.resolved.name, IncidentEvents.reopened.name, IncidentEvents.closed.name, IncidentEvents.slaWarning.name,
        IncidentEvents.slaBreached.name, ProblemEvents.knownErrorPublished.name, ProblemEvents.majorDeclared.name,
        SupplierEvents.contractExpiring.name, SupplierEvents.contractExpired.name, SupplierEvents.targetMissed.name,
        CapacityEvents.thresholdBreached.name, CapacityEvents.exhaustionForecast.name, ImprovementEvents.nonconformityRaised.name,
        ServiceEvents.approvalRequested.name, ServiceEvents.approvalReminder.name, ServiceEvents.taskReady.name,
        ServiceEvents.fulfilled.name, ServiceEvents.rejected.name,
    ]

    /// Whether the event's record passes every filter the rule sets.
    public func matches(_ data: JSONValue) -> Bool {
        let record = Self.record(in: data)
        func member(_ name: String) -> String? { record[name]?.stringValue ?? data[name]?.stringValue }
        for (field, allowed) in [("priority", filters.priority), ("service", filters.service),
                                 ("assignmentGroup", filters.assignmentGroup), ("clock", filters.clock), ("type", filters.type)] {
            guard let allowed else { continue }
            guard let value = member(field), allowed.contains(value) else { return false }
        }
        if let major = filters.major, (record["major"]?.boolValue ?? false) != major { return false }
        // An incident names its supplier; a supplier's own events are about the supplier itself.
        if let suppliers = filters.supplier {
            let named = [member("supplier"), event.hasPrefix("supplier.") ? record["name"]?.stringValue : nil,
                         event.hasPrefix("supplier.") ? record["number"]?.stringValue : nil].compactMap { $0 }
            guard named.contains(where: suppliers.contains) else { return false }
        }
        return true
    }

    /// The record an event is about: incident events carry it as `incident`; the others are it.
    static func record(in data: JSONValue) -> JSONValue {
        data["incident"] ?? data
    }
}

extension Recipient {
    /// Where a notification goes: a channel, an address or webhook, and why it cannot be
    /// reached when it cannot.
    struct Target: Hashable {
        var channel: String
        var recipient: String
        var problem: String?
    }

    /// How to reach people: the coordinator's `people.contacts` (names, groups, roles → addresses).
    public typealias Contacts = @Sendable ([String: JSONValue]) async throws -> [(name: String, email: String?)]

    /// The targets for an event: none when the record has nobody in that place.
    func resolve(_ data: JSONValue, settings: NotificationSettings, contacts: Contacts) async throws -> [Target] {
        let record = Rule.record(in: data)
        func mail(_ people: [(name: String, email: String?)]) -> [Target] {
            people.map { person in
                guard let address = person.email.flatMap({ NotificationSettings.isAddress($0) ? $0 : nil }) ?? settings.address(of: person.name) else {
                    return Target(channel: "email", recipient: person.name,
                                  problem: "no address for \(person.name): give the account an email, or set config.emailDomain")
                }
                return Target(channel: "email", recipient: address, problem: nil)
            }
        }
        switch kind {
        case .assignee, .caller, .requester:
            guard let person = record[kind.rawValue]?.stringValue, !person.isEmpty else { return [] } // nobody to tell
            if NotificationSettings.isAddress(person) { return [Target(channel: "email", recipient: person, problem: nil)] }
            let found = try await contacts(["names": [.string(person)]])
            return mail(found.isEmpty ? [(person, nil)] : found)
        case .approver:
            // Approval events carry the level's approver as the service contract declares it
            // (`ApprovalRequested`), a manager level already named as the person.
            guard let approver = try? data["approver"]?.decode(Approver.self), let name = approver.name, !name.isEmpty else { return [] }
            switch approver.kind {
            case .user:
                let found = try await contacts(["names": [.string(name)]])
                return mail(found.isEmpty ? [(name, nil)] : found)
            case .group: return mail(try await contacts(["groups": [.string(name)]]))
            case .role: return mail(try await contacts(["roles": [.string(name)]]))
            case .manager: return []
            }
        case .group, .groupLeads:
            guard let group = value ?? record["assignmentGroup"]?.stringValue ?? record["group"]?.stringValue, !group.isEmpty else { return [] }
            return mail(try await contacts(["groups": [.string(group)], "leadsOnly": .bool(kind == .groupLeads)]))
        case .role:
            return mail(try await contacts(["roles": [.string(value ?? "")]]))
        case .address:
            return [Target(channel: "email", recipient: value ?? "", problem: nil)]
        case .webhook:
            return [Target(channel: "webhook", recipient: value ?? "",
                           problem: settings.webhooks[value ?? ""] == nil ? "no webhook named \(value ?? "") in the configuration" : nil)]
        }
    }
}

extension RenderedNotification {
    struct Wording {
        var subject: String
        var text: String
    }

    static let wordings: [String: Wording] = [
        "incident.assigned": Wording(subject: "{{record.number}} assigned to you: {{record.title}}",
                                     text: "{{record.number}} ({{record.priority}}) is assigned to {{record.assignee}}{{#record.assignmentGroup}} in {{record.assignmentGroup}}{{/record.assignmentGroup}}."),
        "incident.sla_warning": Wording(subject: "SLA warning on {{record.number}}: {{record.title}}",
                                        text: "The {{clock}} target of {{record.number}} ({{record.priority}}) falls due at {{dueAt}}."),
        "incident.sla_breached": Wording(subject: "SLA breached on {{record.number}}: {{record.title}}",
                                         text: "The {{clock}} target of {{record.number}} ({{record.priority}}) was due at {{dueAt}} and has passed."),
        "incident.resolved": Wording(subject: "Resolved: {{record.number}} {{record.title}}",
                                     text: "Your {{record.type}} {{record.number}} is resolved.{{#record.resolutionNotes}}\n\n{{record.resolutionNotes}}{{/record.resolutionNotes}}\n\nIf it is not, reply or reopen it within the reopen window."),
        "incident.major_declared": Wording(subject: "Major incident {{record.number}}: {{record.title}}",
                                           text: "{{record.number}} ({{record.priority}}) was declared a major incident.{{#record.majorReason}} {{record.majorReason}}{{/record.majorReason}}"),
        "request.approval_requested": Wording(subject: "Approval wanted: {{record.number}} {{record.title}} for {{record.requester}}",
                                              text: "{{record.number}} ({{record.title}}) for {{record.requester}} waits on your decision (level {{record.level}}). Approve or reject it in the console, under Requests."),
        "request.approval_reminder": Wording(subject: "Still waiting for your approval: {{record.number}} {{record.title}}",
                                             text: "{{record.number}} ({{record.title}}) for {{record.requester}} still waits on your decision (level {{record.level}})."),
        "request.task_ready": Wording(subject: "Task for {{record.group}}: {{record.task}} on {{record.number}}",
                                      text: "The task {{record.task}} of {{record.number}} ({{record.title}}, for {{record.requester}}) can be done now."),
        "request.fulfilled": Wording(subject: "Fulfilled: {{record.number}} {{record.title}}",
                                     text: "Your request {{record.number}} ({{record.title}}) is fulfilled."),
        "request.rejected": Wording(subject: "Not approved: {{record.number}} {{record.title}}",
                                    text: "Your request {{record.number}} ({{record.title}}) was not approved.{{#record.approvals}}{{#comment}}\n\n{{decidedBy}}: {{comment}}{{/comment}}{{/record.approvals}}"),
        "incident.escalated": Wording(subject: "Escalated: {{record.number}} {{record.title}}",
                                      text: "{{record.number}} ({{record.priority}}) was escalated ({{kind}}).{{#reason}} {{reason}}{{/reason}}"),
    ]

    static let fallback = Wording(subject: "{{event}}{{#record.number}} {{record.number}}{{/record.number}}{{#record.title}}: {{record.title}}{{/record.title}}",
                                  text: "{{event}}{{#record.number}} on {{record.number}}{{/record.number}}.")

    /// Renders the wording for `event` (the rule's own where it has one) with its data; should
    /// a wording not render, the plain fallback does, so one bad template cannot hold up the
    /// events behind it.
    public static func render(event: String, data: JSONValue, template: RuleTemplate? = nil) throws -> RenderedNotification {
        let standard = wordings[event] ?? fallback
        let wording = Wording(subject: template?.subject ?? standard.subject, text: template?.text ?? standard.text)
        do {
            return try render(wording, event: event, data: data)
        } catch {
            return try render(fallback, event: event, data: data)
        }
    }

    /// Why a rule's wording cannot be used, naming the part, or nil.
    static func problem(with template: RuleTemplate) -> String? {
        for (part, text) in [("subject", template.subject), ("text", template.text)] {
            guard let text else { continue }
            guard text.count <= 10_000 else { return "template.\(part): at most 10000 characters" }
            do {
                _ = try MustacheTemplate(string: text)
            } catch {
                return "template.\(part): not a valid template (\(error))"
            }
        }
        return nil
    }

    static func render(_ wording: Wording, event: String, data: JSONValue) throws -> RenderedNotification {
        let context: [String: Any] = ["event": event, "record": Rule.record(in: data).foundationObject,
                                      "clock": data["clock"]?.stringValue ?? "", "dueAt": data["dueAt"]?.stringValue ?? "",
                                      "kind": data["kind"]?.stringValue ?? "", "reason": data["reason"]?.stringValue ?? ""]
        let text = "{{% CONTENT_TYPE: TEXT}}"
        let subject = try MustacheTemplate(string: text + wording.subject).render(context)
        let body = try MustacheTemplate(string: text + wording.text).render(context)
        // Escaped as HTML by the template, then laid out: paragraphs at blank lines.
        let escaped = try MustacheTemplate(string: wording.text).render(context)
        let html = "<!doctype html><html><body style=\"font-family:system-ui,sans-serif\">"
            + escaped.components(separatedBy: "\n\n").map { "<p>" + $0.replacingOccurrences(of: "\n", with: "<br>") + "</p>" }.joined()
            + "</body></html>"
        return RenderedNotification(subject: subject.replacingOccurrences(of: "\n", with: " "), text: body, html: html)
    }
}

extension JSONValue {
    /// Foundation objects (dictionaries, arrays, strings, numbers), as templates read them.
    var foundationObject: Any {
        switch self {
        case .null: ""
        case .bool(let flag): flag
        case .int(let number): number
        case .double(let number): number
        case .string(let text): text
        case .array(let items): items.map(\.foundationObject)
        case .object(let members): members.mapValues(\.foundationObject)
        }
    }
}
