import Crypto
import Foundation
import IncidentProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import Logging


/// Turns new mail into incidents, and replies naming a record into customer comments on it.
/// Each message is handled once: its Message-ID keys the incident call and the record of it,
/// and it is flagged seen only after both, so a crash in between repeats nothing.
struct MailIntake {
    let database: PluginDatabase
    /// Calls as this process (its grants): the incident process, and `people.contacts`.
    let coordinator: CoordinatorCaller

    /// Reads the unseen messages; returns how many were handled.
    @discardableResult
    func poll(_ settings: MailboxSettings, ownAddress: String?, logger: Logger) async throws -> Int {
        try await IMAPSession.with(settings) { session in try await read(session, ownAddress: ownAddress, logger: logger) }
    }

    private func read(_ session: IMAPSession, ownAddress: String?, logger: Logger) async throws -> Int {
        var handled = 0
        for uid in try await session.unseen() {
            guard let raw = try await session.fetch(uid) else { continue }
            let mail = InboundMail(raw, ownAddress: ownAddress)
            let id = mail.messageID.isEmpty ? "sha256:" + SHA256.hash(data: raw).hex : mail.messageID
            let known = try await database.query("SELECT 1 FROM notification.inbound WHERE message_id = \(id)")
            if known.isEmpty {
                let (action, record) = try await handle(mail, id: id)
                try await database.query("""
                    INSERT INTO notification.inbound (message_id, sender, subject, action, record, reason)
                    VALUES (\(id), \(mail.from), \(String(mail.subject.prefix(500))), \(action), \(record), \(mail.automatic))
                    ON CONFLICT (message_id) DO NOTHING
                    """)
                logger.info("mail read", metadata: ["itsm.mail.action": "\(action)", "itsm.record": "\(record ?? "-")",
                                                    "itsm.mail.reason": "\(mail.automatic ?? "-")"])
            }
            try await session.markSeen(uid)
            handled += 1
        }
        return handled
    }

    private func handle(_ mail: InboundMail, id: String) async throws(ResponseError) -> (String, String?) {
        if mail.automatic != nil { return ("ignored", nil) }
        let text = mail.text.isEmpty ? "(no text)" : String(mail.text.prefix(10_000))
        if let number = mail.recordNumber {
            do {
                _ = try await coordinator.call(IncidentMethods.comment,
                                               CommentOnIncident(number: number, body: "From \(mail.from) by mail:\n\n" + text, visibility: .customer),
                                               idempotencyKey: "mail:\(id):comment")
                return ("commented", number)
            } catch where error.kind == "incident.not_found" {
                // A number that names nothing: a new incident, as if it named none.
            }
        }
        // The sender as the person they are, where an account has their address.
        let account = try await coordinator.json("people.contacts", ["emails": [.string(mail.from)]], nil)["people"]?.arrayValue?.first?["name"]?.stringValue
        var params = CreateIncident(title: String((mail.subject.isEmpty ? "(no subject)" : mail.subject).prefix(200)))
        (params.description, params.caller, params.category) = (text, account ?? mail.from, "email")
        let created = try await coordinator.call(IncidentMethods.create, params, idempotencyKey: "mail:\(id)")
        return ("created", created.number)
    }

    func list(_ params: ListInbound) async throws -> InboundList {
        let limit = params.limit ?? 50
        guard (1...500).contains(limit) else { throw ResponseError.invalidParams("limit: 1 to 500") }
        let rows = try await database.query("""
            SELECT message_id, sender, subject, action, record, reason, received_at FROM notification.inbound
            WHERE (\(params.action)::text IS NULL OR action = \(params.action)) ORDER BY received_at DESC, message_id LIMIT \(limit)
            """)
        return InboundList(items: try rows.map { row in
            InboundRecord(messageId: try row.decode(String.self, "message_id"), sender: try row.decode(String.self, "sender"),
                          subject: try row.decode(String.self, "subject"), action: try row.decode(String.self, "action"),
                          record: try row.decode(String?.self, "record"), reason: try row.decode(String?.self, "reason"),
                          receivedAt: try row.decode(Date.self, "received_at"))
        })
    }
}

/// When the mailbox was last read by this process: the job runs often, the mailbox is read every `poll`.
actor MailboxClock {
    static let shared = MailboxClock()
    private var last: ContinuousClock.Instant?

    func due(every interval: Duration) -> Bool {
        let now = ContinuousClock.now
        if let last, now - last < interval { return false }
        last = now
        return true
    }
}
