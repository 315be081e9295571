import Foundation
import ITSMProtocol
@testable import NotificationProcess
import Testing

@Suite struct RuleTests {
    static let breach: JSONValue = [
        "clock": "resolution", "dueAt": "2026-11-30T10:00:00Z", "targetMinutes": 240,
        "incident": ["number": "INC-000042", "title": "Mail <down> & out", "priority": "P1", "service": "email",
                     "assignee": "alan", "caller": "rita@example.org", "major": false, "type": "incident"],
    ]

    @Test func filtersNarrowARuleAndUnsetOnesLetEverythingThrough() {
        func rule(_ filters: RuleFilters) -> Rule {
            Rule(id: 1, name: "r", event: "incident.sla_breached", filters: filters, recipients: [Recipient(kind: .assignee)],
                 template: nil, enabled: true, builtin: false, history: nil)
        }
        #expect(rule(RuleFilters()).matches(Self.breach))
        #expect(rule(RuleFilters(priority: ["P1", "P2"], service: ["email"], clock: ["resolution"])).matches(Self.breach))
        #expect(!rule(RuleFilters(priority: ["P3"])).matches(Self.breach))
        #expect(!rule(RuleFilters(clock: ["response"])).matches(Self.breach))
        #expect(!rule(RuleFilters(major: true)).matches(Self.breach))
        #expect(!rule(RuleFilters(assignmentGroup: ["network"])).matches(Self.breach)) // no group: not in one
        // Suppliers: the one an incident names, or the one a supplier event is about.
        #expect(!rule(RuleFilters(supplier: ["Acme"])).matches(Self.breach))
        var expiring = rule(RuleFilters(supplier: ["SUP-000001"]))
        expiring.event = "supplier.contract_expiring"
        #expect(expiring.matches(["number": "SUP-000001", "name": "Acme"]) && !expiring.matches(["number": "SUP-000002", "name": "Other"]))
    }

    @Test func theTextPartIsTextAndTheHTMLPartEscapesTheRecord() throws {
        let rendered = try RenderedNotification.render(event: "incident.sla_breached", data: Self.breach)
        #expect(rendered.subject == "SLA breached on INC-000042: Mail <down> & out")
        #expect(rendered.text == "The resolution target of INC-000042 (P1) was due at 2026-11-30T10:00:00Z and has passed.")
        #expect(rendered.html.contains("INC-000042 (P1)") && !rendered.html.contains("<down>"))
        // Every wording renders, with and without its optional parts.
        for event in Rule.eventTypes {
            let full = try RenderedNotification.render(event: event, data: Self.breach)
            #expect(!full.subject.isEmpty && !full.text.isEmpty, "\(event)")
            _ = try RenderedNotification.render(event: event, data: [:])
        }
        let resolved = try RenderedNotification.render(event: "incident.resolved", data: [
            "incident": ["number": "INC-7", "type": "incident", "resolutionNotes": "Queue cleared.\nRestarted <smtpd>."]])
        #expect(resolved.text.contains("is resolved.\n\nQueue cleared.\nRestarted <smtpd>."))
        #expect(resolved.html.contains("<p>Queue cleared.<br>Restarted &lt;smtpd&gt;.</p>"), "\(resolved.html)")
        // A rule's own wording replaces the default; a broken one is refused, naming the part.
        let own = try RenderedNotification.render(event: "incident.sla_breached", data: Self.breach,
                                                  template: RuleTemplate(subject: "[{{record.priority}}] {{record.number}} breached"))
        #expect(own.subject == "[P1] INC-000042 breached" && own.text.hasPrefix("The resolution target of INC-000042"))
        #expect(RenderedNotification.problem(with: RuleTemplate(text: "{{#record}}unclosed"))?.hasPrefix("template.text: not a valid template") == true)
        #expect(RenderedNotification.problem(with: RuleTemplate(subject: "{{record.number}}")) == nil)
        let other = try RenderedNotification.render(event: "supplier.contract_expiring", data: ["number": "SUP-000001"])
        #expect(other.subject == "supplier.contract_expiring SUP-000001")
    }

    @Test func peopleAreMailedAtTheirAddressOrTheConfiguredDomain() throws {
        var settings = NotificationSettings()
        #expect(settings.address(of: "rita@example.org") == "rita@example.org")
        #expect(settings.address(of: "alan") == nil)
        settings.emailDomain = "example.org"
        #expect(settings.address(of: "alan") == "alan@example.org")
        // Nothing that could change the SMTP conversation passes for an address.
        for bad in ["a b@example.org", "a@example.org>\r\nRCPT TO:<x@y.z", "<a@example.org>", "a@localhost", "@example.org"] {
            #expect(!NotificationSettings.isAddress(bad), "\(bad)")
        }
        #expect(throws: ResponseError.self) { try NotificationSettings(config: ["smtp": ["host": "mail", "from": "not an address"]]) }
        #expect(throws: ResponseError.self) { try NotificationSettings(config: ["webhooks": ["x": ["url": "ftp://x"]]]) }
        #expect(throws: ResponseError.self) { try NotificationSettings(config: ["smpt": [:]]) }
        let parsed = try NotificationSettings(config: ["smtp": ["host": "mail", "port": 25, "from": "Service desk <desk@example.org>"],
                                                       "retry": ["firstSeconds": 10, "attempts": 3]])
        #expect(parsed.smtp?.from == "desk@example.org" && parsed.fromHeader == "Service desk <desk@example.org>" && parsed.smtp?.startTLS == true)
        #expect(parsed.backoff(after: 1) == .seconds(10) && parsed.backoff(after: 3) == .seconds(40) && parsed.backoff(after: 30) == .seconds(3600))
    }

    @Test func aMessageCannotGrowHeadersAndItsSignatureIsTheReceiversHMAC() {
        var message = MailMessage(from: "desk@example.org", to: ["rita@example.org"], subject: "Résolu: INC-1\r\nBcc: x@evil.example",
                                  text: "ok", html: "<p>ok</p>", messageID: "abc@itsm")
        message.extraHeaders = [("X-ITSM-Record", "INC-1\nX-Injected: yes")]
        let rendered = message.rendered
        #expect(!rendered.contains("\nBcc:") && !rendered.contains("\nX-Injected:"))
        #expect(rendered.contains("Subject: =?UTF-8?B?") && rendered.contains("Message-ID: <abc@itsm>"))
        #expect(rendered.contains("Auto-Submitted: auto-generated"))
        // The RFC 4231 test case 2 key and data.
        #expect(WebhookClient.signature(Data("what do ya want for nothing?".utf8), secret: "Jefe")
                == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}

@Suite struct RecipientTests {
    /// The coordinator's answer for a group, a role, a name: alan has an address, nina none.
    static let contacts: Recipient.Contacts = { query in
        if query["groups"] != nil { return [("alan", "alan@corp.example"), ("nina", nil)] }
        if query["roles"] != nil { return [("olga", "olga@corp.example")] }
        if query["names"]?.arrayValue?.first?.stringValue == "alan" { return [("alan", "alan@corp.example")] }
        return []
    }

    @Test func peopleAreReachedAtTheirAccountsAddressThenTheDomainElseSkippedSayingWhy() async throws {
        let data: JSONValue = ["incident": ["number": "INC-1", "assignee": "alan", "caller": "bob", "assignmentGroup": "network"]]
        var settings = NotificationSettings()
        func targets(_ recipient: Recipient) async throws -> [String] {
            try await recipient.resolve(data, settings: settings, contacts: Self.contacts)
                .map { "\($0.channel):\($0.recipient)" + ($0.problem.map { " (\($0))" } ?? "") }
        }
        #expect(try await targets(Recipient(kind: .assignee)) == ["email:alan@corp.example"])
        #expect(try await targets(Recipient(kind: .caller)) == ["email:bob (no address for bob: give the account an email, or set config.emailDomain)"])
        #expect(try await targets(Recipient(kind: .group)).first == "email:alan@corp.example")
        #expect(try await targets(Recipient(kind: .role, value: "process-owner")) == ["email:olga@corp.example"])
        settings.emailDomain = "example.org"
        #expect(try await targets(Recipient(kind: .caller)) == ["email:bob@example.org"])
        #expect(try await targets(Recipient(kind: .group)) == ["email:alan@corp.example", "email:nina@example.org"])
        #expect(try await targets(Recipient(kind: .webhook, value: "nowhere")) == ["webhook:nowhere (no webhook named nowhere in the configuration)"])
        // Nobody in that place: nobody to tell.
        #expect(try await Recipient(kind: .assignee).resolve(["incident": ["number": "INC-2"]], settings: settings, contacts: Self.contacts).isEmpty)
    }

    /// A request's approver is whoever its waiting level names; a task goes to its group; the
    /// requester hears how it ended.
    @Test func aRequestsApproversTaskGroupAndRequesterAreReached() async throws {
        let settings = NotificationSettings()
        func targets(_ recipient: Recipient, _ data: JSONValue) async throws -> [String] {
            try await recipient.resolve(data, settings: settings, contacts: Self.contacts).map(\.recipient)
        }
        let byGroup: JSONValue = ["number": "REQ-1", "requester": "alan", "level": 1, "approver": ["kind": "group", "name": "leads"]]
        let byRole: JSONValue = ["number": "REQ-1", "approver": ["kind": "role", "name": "process-owner"]]
        let byPerson: JSONValue = ["number": "REQ-1", "approver": ["kind": "user", "name": "alan"]]
        #expect(try await targets(Recipient(kind: .approver), byGroup).first == "alan@corp.example")
        #expect(try await targets(Recipient(kind: .approver), byRole) == ["olga@corp.example"])
        #expect(try await targets(Recipient(kind: .approver), byPerson) == ["alan@corp.example"])
        #expect(try await targets(Recipient(kind: .requester), byGroup) == ["alan@corp.example"])
        #expect(try await targets(Recipient(kind: .group), ["number": "REQ-1", "task": "order", "group": "procurement"]).first == "alan@corp.example")
        let rejected = try RenderedNotification.render(event: "request.rejected", data: [
            "number": "REQ-1", "title": "New laptop", "approvals": [["decidedBy": "user:lena", "comment": "Budget is spent"], ["state": "skipped"]],
        ])
        #expect(rejected.subject == "Not approved: REQ-1 New laptop" && rejected.text.hasSuffix("user:lena: Budget is spent"), "\(rejected.text)")
    }
}
