import Foundation
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import Logging

extension Delivery {
    /// What `init(row:)` reads, from `notification.delivery d` joined to its rule `r`.
    static let columns = """
        d.id, d.event_type, d.event_id, d.subject, r.name AS rule, d.channel, d.recipient, d.content::text AS content, d.status,
        d.attempts, CASE WHEN d.status IN ('pending', 'sending') THEN d.next_attempt_at END AS next_attempt_at,
        d.last_error, d.created_at, d.sent_at
        """

    init(row: PostgresRow) throws {
        self.init(id: try row.decode(UUID.self, "id"), event: try row.decode(String.self, "event_type"),
                  eventId: try row.decode(UUID.self, "event_id"), subject: try row.decode(String?.self, "subject"),
                  rule: try row.decode(String.self, "rule"), channel: try row.decode(String.self, "channel"),
                  recipient: try row.decode(String.self, "recipient"),
                  content: try JSONCoding.decoder.decode(RenderedNotification.self, from: Data(try row.decode(String.self, "content").utf8)),
                  status: try row.decode(String.self, "status"), attempts: try row.decode(Int.self, "attempts"),
                  nextAttemptAt: try row.decode(Date?.self, "next_attempt_at"), lastError: try row.decode(String?.self, "last_error"),
                  createdAt: try row.decode(Date.self, "created_at"), sentAt: try row.decode(Date?.self, "sent_at"))
    }
}

public struct NotificationStore: Sendable {
    public let database: PluginDatabase

    public init(database: PluginDatabase) {
        self.database = database
    }

    // MARK: - Rules

    /// Creates the rule, or replaces the one of that name, recording what changed.
    public func setRule(_ params: SetRule, settings: NotificationSettings, actor: String) async throws -> Rule {
        guard params.name.range(of: "^[a-z0-9][a-z0-9-]{0,62}$", options: .regularExpression) != nil else {
            throw ResponseError.invalidParams("name: lower-case letters, digits and dashes, up to 63")
        }
        guard Rule.eventTypes.contains(params.event) else {
            throw ResponseError.invalidParams("event: one of " + Rule.eventTypes.joined(separator: ", "))
        }
        guard !params.recipients.isEmpty else { throw ResponseError.invalidParams("recipients: at least one") }
        for (index, recipient) in params.recipients.enumerated() {
            switch recipient.kind {
            case .assignee, .caller, .requester, .approver:
                guard recipient.value == nil else { throw ResponseError.invalidParams("recipients[\(index)].value: none for \(recipient.kind.rawValue)") }
            case .group, .groupLeads:
                break // none: the record's assignment group
            case .role:
                guard let role = recipient.value, !role.isEmpty else { throw ResponseError.invalidParams("recipients[\(index)].value: the role's name") }
            case .address:
                guard let address = recipient.value, NotificationSettings.isAddress(address) else {
                    throw ResponseError.invalidParams("recipients[\(index)].value: an email address")
                }
            case .webhook:
                guard let name = recipient.value, settings.webhooks[name] != nil else {
                    let known = settings.webhooks.keys.sorted()
                    throw ResponseError.invalidParams("recipients[\(index)].value: a webhook in the configuration"
                                                      + (known.isEmpty ? " (none is configured)" : ": " + known.joined(separator: ", ")))
                }
            }
        }
        if let template = params.template, let problem = RenderedNotification.problem(with: template) {
            throw ResponseError.invalidParams(problem)
        }
        let template = try params.template.map { String(decoding: try JSONCoding.encoder.encode($0), as: UTF8.self) }
        let filters = String(decoding: try JSONCoding.encoder.encode(params.filters ?? RuleFilters()), as: UTF8.self)
        let recipients = String(decoding: try JSONCoding.encoder.encode(params.recipients), as: UTF8.self)
        return try await database.withTransaction { tx in
            let before = try await loadRule(tx, params.name)
            try await tx.query("""
                INSERT INTO notification.rule (name, event_type, filters, recipients, template, enabled, created_by)
                VALUES (\(params.name), \(params.event), \(filters)::jsonb, \(recipients)::jsonb, \(template)::jsonb, \(params.enabled ?? true),
                    \(actor))
                ON CONFLICT (name) DO UPDATE SET event_type = EXCLUDED.event_type, filters = EXCLUDED.filters,
                    recipients = EXCLUDED.recipients, template = EXCLUDED.template, enabled = EXCLUDED.enabled, updated_at = now()
                """)
            let after = try await loadRule(tx, params.name)!
            func text(_ value: some Encodable) -> String { (try? String(decoding: JSONCoding.encoder.encode(value), as: UTF8.self)) ?? "" }
            let changes: [(String, String?, String?)] = [
                ("event", before?.event, after.event), ("filters", before.map { text($0.filters) }, text(after.filters)),
                ("recipients", before.map { text($0.recipients) }, text(after.recipients)),
                ("template", before?.template.map(text), after.template.map(text)),
                ("enabled", before.map { String($0.enabled) }, String(after.enabled)),
            ]
            for (field, old, new) in changes where old != new {
                try await tx.query("""
                    INSERT INTO notification.history (record, actor, field, old_value, new_value)
                    VALUES (\("rule:" + params.name), \(actor), \(field), \(old), \(new))
                    """)
            }
            return after
        }
    }

    public func rule(_ key: RuleKey) async throws -> Rule {
        try await database.withTransaction { tx in
            guard var rule = try await loadRule(tx, key.name) else {
                throw ResponseError.business(kind: "notification.rule_not_found", message: "no rule named \(key.name)")
            }
            rule.history = try await tx.query("""
                SELECT at, actor, field, old_value, new_value FROM notification.history WHERE record = \("rule:" + key.name) ORDER BY id
                """).map { row in
                HistoryEntry(at: try row.decode(Date.self, "at"), actor: try row.decode(String.self, "actor"),
                             field: try row.decode(String.self, "field"), oldValue: try row.decode(String?.self, "old_value"),
                             newValue: try row.decode(String?.self, "new_value"))
            }
            return rule
        }
    }

    public func rules() async throws -> RuleList {
        let names = try await database.query("SELECT name FROM notification.rule ORDER BY event_type, name").map { try $0.decode(String.self, "name") }
        return try await database.withTransaction { tx in
            var items: [Rule] = []
            for name in names { if let rule = try await loadRule(tx, name) { items.append(rule) } }
            return RuleList(items: items)
        }
    }

    private func loadRule(_ tx: PluginTransaction, _ name: String) async throws -> Rule? {
        guard let row = try await tx.query("""
            SELECT id, name, event_type, filters::text AS filters, recipients::text AS recipients, template::text AS template, enabled, builtin
            FROM notification.rule WHERE name = \(name)
            """).first else { return nil }
        let template = try row.decode(String?.self, "template").map { try JSONCoding.decoder.decode(RuleTemplate.self, from: Data($0.utf8)) }
        return Rule(id: try row.decode(Int.self, "id"), name: try row.decode(String.self, "name"), event: try row.decode(String.self, "event_type"),
                    filters: try JSONCoding.decoder.decode(RuleFilters.self, from: Data(try row.decode(String.self, "filters").utf8)),
                    recipients: try JSONCoding.decoder.decode([Recipient].self, from: Data(try row.decode(String.self, "recipients").utf8)),
                    template: template, enabled: try row.decode(Bool.self, "enabled"), builtin: try row.decode(Bool.self, "builtin"), history: nil)
    }

    // MARK: - Intake

    /// Records the notifications an event calls for, in the event's transaction: once per
    /// channel and recipient however often the event is delivered and however many rules name them.
    public func intake(_ tx: PluginTransaction, _ event: EventParams, settings: NotificationSettings,
                       contacts: Recipient.Contacts) async throws {
        let data = event.data
        let rules = try await tx.query("""
            SELECT name FROM notification.rule WHERE event_type = \(event.type) AND enabled ORDER BY id
            """).map { try $0.decode(String.self, "name") }
        guard !rules.isEmpty, let eventID = UUID(uuidString: event.id) else { return }
        let payload = String(decoding: data.serialized(), as: UTF8.self)
        let subject = Rule.record(in: data)["number"]?.stringValue ?? event.subject
        for name in rules {
            guard let rule = try await loadRule(tx, name), rule.matches(data) else { continue }
            let content = try RenderedNotification.render(event: event.type, data: data, template: rule.template)
            let encoded = String(decoding: try JSONCoding.encoder.encode(content), as: UTF8.self)
            var targets: Set<Recipient.Target> = []
            for recipient in rule.recipients { targets.formUnion(try await recipient.resolve(data, settings: settings, contacts: contacts)) }
            for target in targets {
                let (channel, to, problem) = (target.channel, target.recipient, target.problem)
                try await tx.query("""
                    INSERT INTO notification.delivery (event_id, event_type, subject, rule_id, channel, recipient, content, event_data,
                        status, last_error)
                    VALUES (\(eventID), \(event.type), \(subject), \(rule.id), \(channel), \(to), \(encoded)::jsonb, \(payload)::jsonb,
                        \(problem == nil ? "pending" : "skipped"), \(problem))
                    ON CONFLICT (event_id, channel, recipient) DO NOTHING
                    """)
            }
        }
    }

    // MARK: - Sending

    /// Sends what is due, a batch at a time: each claimed (`sending`, one attempt more) in a
    /// transaction of its own, sent, then recorded as sent, to be retried, or given up. A claim
    /// whose sender died is taken again after `claimTimeout`; the resend carries the same
    /// Message-ID or `X-ITSM-Delivery`, so the receiving side can tell it is a repeat.
    public func deliverDue(settings: NotificationSettings, logger: Logger, batch: Int = 20) async throws {
        while true {
            let claimed = try await database.withTransaction { tx in
                try await tx.query("""
                    UPDATE notification.delivery SET status = 'sending', attempts = attempts + 1, claimed_at = now(), updated_at = now()
                    WHERE id IN (
                        SELECT id FROM notification.delivery
                        WHERE (status = 'pending' AND next_attempt_at <= now())
                           OR (status = 'sending' AND claimed_at < now() - make_interval(secs => \(Double(settings.claimTimeout.components.seconds))))
                        ORDER BY next_attempt_at LIMIT \(batch) FOR UPDATE SKIP LOCKED)
                    RETURNING id
                    """).map { try $0.decode(UUID.self, "id") }
            }
            if claimed.isEmpty { return }
            for id in claimed {
                let delivery = try await self.delivery(DeliveryKey(id: id))
                let outcome: DeliveryError?
                do {
                    try await send(delivery, settings: settings)
                    outcome = nil
                } catch let error as DeliveryError {
                    outcome = error
                } catch let error as SMTPError {
                    outcome = DeliveryError(description: error.description, permanent: error.permanent)
                } catch {
                    outcome = DeliveryError(description: "\(error)", permanent: false)
                }
                try await record(delivery, outcome: outcome, settings: settings, logger: logger)
            }
            if claimed.count < batch { return }
        }
    }

    private func send(_ delivery: Delivery, settings: NotificationSettings) async throws {
        switch delivery.channel {
        case "email":
            guard let smtp = settings.smtp else {
                throw DeliveryError(description: "no mail server: set config.smtp for the notification process", permanent: false)
            }
            var message = MailMessage(from: settings.fromHeader ?? smtp.from, to: [delivery.recipient], subject: delivery.content.subject,
                                      text: delivery.content.text, html: delivery.content.html,
                                      messageID: "\(delivery.id.uuidString.lowercased())@itsm")
            message.extraHeaders = [("X-ITSM-Event", delivery.event)] + (delivery.subject.map { [("X-ITSM-Record", $0)] } ?? [])
            try await SMTPClient.send(message, settings: smtp)
        default:
            guard let webhook = settings.webhooks[delivery.recipient] else {
                throw DeliveryError(description: "no webhook named \(delivery.recipient) in the configuration", permanent: true)
            }
            let event = try await database.query("""
                SELECT event_data::text AS data FROM notification.delivery WHERE id = \(delivery.id)
                """).first.flatMap { try? JSONSerialization.jsonObject(with: Data(try $0.decode(String.self, "data").utf8)) as? [String: Any] }
            let body = WebhookClient.body(format: webhook.format, event: delivery.event, deliveryID: delivery.id.uuidString.lowercased(),
                                          subject: delivery.content.subject, text: delivery.content.text, data: event ?? [:])
            try await WebhookClient.post(body, to: webhook, event: delivery.event, deliveryID: delivery.id.uuidString.lowercased())
        }
    }

    private func record(_ delivery: Delivery, outcome: DeliveryError?, settings: NotificationSettings, logger: Logger) async throws {
        guard let outcome else {
            try await database.query("""
                UPDATE notification.delivery SET status = 'sent', sent_at = now(), last_error = NULL, updated_at = now() WHERE id = \(delivery.id)
                """)
            return
        }
        let givingUp = outcome.permanent || delivery.attempts >= settings.attempts
        let wait = settings.backoff(after: delivery.attempts)
        try await database.query("""
            UPDATE notification.delivery SET status = \(givingUp ? "failed" : "pending"), last_error = \(outcome.description),
                next_attempt_at = now() + make_interval(secs => \(Double(wait.components.seconds))), updated_at = now()
            WHERE id = \(delivery.id)
            """)
        if givingUp {
            logger.error("notification given up", metadata: [
                "itsm.notification": "\(delivery.id)", "itsm.attempts": "\(delivery.attempts)", "itsm.error": "\(outcome.description)",
            ])
        } else {
            logger.warning("notification not delivered; trying again", metadata: [
                "itsm.notification": "\(delivery.id)", "itsm.attempts": "\(delivery.attempts)", "itsm.retry_in": "\(wait)",
                "itsm.error": "\(outcome.description)",
            ])
        }
    }

    // MARK: - Reading

    public func delivery(_ key: DeliveryKey) async throws -> Delivery {
        guard let row = try await database.query("""
            SELECT \(unsafeSQL: Delivery.columns) FROM notification.delivery d JOIN notification.rule r ON r.id = d.rule_id WHERE d.id = \(key.id)
            """).first else {
            throw ResponseError.business(kind: "notification.not_found", message: "no notification \(key.id.uuidString.lowercased())")
        }
        return try Delivery(row: row)
    }

    public func deliveries(_ params: ListDeliveries) async throws -> DeliveryList {
        if let status = params.status, !["pending", "sending", "sent", "failed", "skipped"].contains(status) {
            throw ResponseError.invalidParams("status: pending, sending, sent, failed or skipped")
        }
        let limit = params.limit ?? 50
        guard (1...500).contains(limit) else { throw ResponseError.invalidParams("limit: 1 to 500") }
        guard (params.offset ?? 0) >= 0 else { throw ResponseError.invalidParams("offset: 0 or more") }
        let after = try NewestFirstCursor.parse(params.after, offset: params.offset)
        var filter: PostgresQuery = """
             WHERE (\(params.status)::text IS NULL OR d.status = \(params.status))
              AND (\(params.recipient)::text IS NULL OR d.recipient = \(params.recipient))
              AND (\(params.subject)::text IS NULL OR d.subject = \(params.subject))
              AND (\(params.event)::text IS NULL OR d.event_type = \(params.event))
            """
        try filter.appendPeriods(params.recordPeriods(qualifiedBy: "d"))
        let (total, estimated) = try await CappedCount.count(database, from: "notification.delivery d", where: filter,
                                                             limit: DeliveryList.exactTotalLimit)
        var select = PostgresQuery(unsafeSQL: "SELECT \(Delivery.columns) FROM notification.delivery d JOIN notification.rule r ON r.id = d.rule_id")
        select.append(filter)
        if let after { select.append(try after.condition(createdAt: "d.created_at", id: "d.id")) }
        // One more than asked for says whether a next page exists.
        select.append(" ORDER BY d.created_at DESC, d.id DESC LIMIT \(limit + 1) OFFSET \(params.offset ?? 0)")
        let rows = try await database.query(select.plannedForEachRun()).map(Delivery.init(row:))
        let (items, cursor) = ListPaging.page(rows, limit: limit) { NewestFirstCursor(createdAt: $0.createdAt, number: $0.id.uuidString).text }
        return DeliveryList(items: items, total: total, totalIsEstimate: estimated ? true : nil, nextCursor: cursor)
    }

    /// Sends a failed or skipped notification again, now, with a fresh count of attempts.
    public func retry(_ key: DeliveryKey, actor: String) async throws -> Delivery {
        let rows = try await database.query("""
            UPDATE notification.delivery SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()
            WHERE id = \(key.id) AND status IN ('failed', 'skipped') RETURNING id
            """)
        guard !rows.isEmpty else {
            let current = try await delivery(key)
            throw ResponseError.business(kind: "notification.invalid_transition",
                                         message: "\(key.id.uuidString.lowercased()) is \(current.status); only a failed or skipped one is sent again")
        }
        try await database.query("""
            INSERT INTO notification.history (record, actor, field, old_value, new_value)
            VALUES (\("delivery:" + key.id.uuidString.lowercased()), \(actor), 'status', 'failed', 'pending')
            """)
        return try await delivery(key)
    }
}
