import Foundation
import ITSMProtocol

/// The notification process's `config` in itsm.yaml: the mail server, named webhooks, how
/// people's names become addresses, and how often a failed delivery is tried again.
///
/// ```yaml
/// - name: notification
///   config:
///     smtp: {host: mail.example.org, port: 587, username: desk, passwordFile: /etc/itsm/smtp.password,
///            from: "Service desk <desk@example.org>"}
///     mailbox: {host: mail.example.org, port: 143, username: desk, passwordFile: /etc/itsm/imap.password, pollSeconds: 30}
///     emailDomain: example.org
///     webhooks:
///       ops-chat: {url: "https://chat.example.org/hooks/abc", format: mattermost}
///       siem: {url: "https://siem.example.org/itsm", format: json, secretFile: /etc/itsm/siem.secret}
///     retry: {firstSeconds: 30, attempts: 8, claimSeconds: 120}
/// ```
public struct NotificationSettings: Sendable, Hashable {
    public var smtp: SMTPSettings?
    /// The desk's mailbox: new mail becomes incidents, replies customer comments.
    public var mailbox: MailboxSettings?
    /// The From header as written (`Service desk <desk@example.org>`).
    public var fromHeader: String?
    /// A person known only by name (`alan`) is mailed at `alan@<emailDomain>`.
    public var emailDomain: String?
    public var webhooks: [String: WebhookSettings] = [:]
    /// The first retry waits this long, each next one twice as long (at most an hour).
    public var firstRetry: Duration = .seconds(30)
    /// Attempts before a delivery is given up (status `failed`, with its last error).
    public var attempts = 8
    /// A notification claimed this long ago and still `sending` lost its sender (the process
    /// died mid-send): it is claimed again.
    public var claimTimeout: Duration = .seconds(120)

    public init() {}

    public init(config: JSONValue) throws(ResponseError) {
        let known: Set = ["smtp", "mailbox", "emailDomain", "webhooks", "retry"]
        if let unknown = config.objectValue?.keys.first(where: { !known.contains($0) }) {
            throw .invalidParams("config.\(unknown): unknown; the notification process takes \(known.sorted().joined(separator: ", "))")
        }
        if let smtp = config["smtp"] {
            let keys: Set = ["host", "port", "startTLS", "caFile", "username", "passwordFile", "from", "heloName"]
            if let unknown = smtp.objectValue?.keys.first(where: { !keys.contains($0) }) { throw .invalidParams("config.smtp.\(unknown): unknown") }
            guard let host = smtp["host"]?.stringValue, !host.isEmpty else { throw .invalidParams("config.smtp.host: required") }
            guard let from = smtp["from"]?.stringValue, let address = Self.address(in: from) else {
                throw .invalidParams("config.smtp.from: required, an address (desk@example.org) or 'Name <desk@example.org>'")
            }
            let port = smtp["port"]?.intValue ?? 587
            guard (1...65535).contains(port) else { throw .invalidParams("config.smtp.port: 1 to 65535") }
            var settings = SMTPSettings(host: host, port: Int(port), from: address)
            settings.startTLS = smtp["startTLS"]?.boolValue ?? true
            settings.caFile = smtp["caFile"]?.stringValue
            settings.username = smtp["username"]?.stringValue
            if let file = smtp["passwordFile"]?.stringValue {
                settings.password = try Self.secret(file, "config.smtp.passwordFile")
            }
            if let helo = smtp["heloName"]?.stringValue { settings.heloName = helo }
            self.smtp = settings
            fromHeader = from
        }
        if let mailbox = config["mailbox"] {
            let keys: Set = ["host", "port", "startTLS", "caFile", "username", "passwordFile", "folder", "pollSeconds"]
            if let unknown = mailbox.objectValue?.keys.first(where: { !keys.contains($0) }) { throw .invalidParams("config.mailbox.\(unknown): unknown") }
            guard let host = mailbox["host"]?.stringValue, !host.isEmpty else { throw .invalidParams("config.mailbox.host: required") }
            guard let username = mailbox["username"]?.stringValue, let file = mailbox["passwordFile"]?.stringValue else {
                throw .invalidParams("config.mailbox: username and passwordFile are required")
            }
            let port = mailbox["port"]?.intValue ?? 143
            guard (1...65535).contains(port) else { throw .invalidParams("config.mailbox.port: 1 to 65535") }
            var settings = MailboxSettings(host: host, port: Int(port), username: username,
                                           password: try Self.secret(file, "config.mailbox.passwordFile"))
            settings.startTLS = mailbox["startTLS"]?.boolValue ?? true
            settings.caFile = mailbox["caFile"]?.stringValue
            if let folder = mailbox["folder"]?.stringValue { settings.folder = folder }
            if let seconds = mailbox["pollSeconds"] {
                guard let value = seconds.intValue, value >= 1 else { throw .invalidParams("config.mailbox.pollSeconds: 1 or more") }
                settings.poll = .seconds(value)
            }
            self.mailbox = settings
        }
        if let domain = config["emailDomain"]?.stringValue {
            guard !domain.isEmpty, !domain.contains("@"), Self.isAddress("x@" + domain) else {
                throw .invalidParams("config.emailDomain: a domain like example.org")
            }
            emailDomain = domain
        }
        for (name, webhook) in config["webhooks"]?.objectValue ?? [:] {
            guard let url = webhook["url"]?.stringValue, let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? "") else {
                throw .invalidParams("config.webhooks.\(name).url: an http or https URL")
            }
            let formatName = webhook["format"]?.stringValue ?? "json"
            guard let format = WebhookSettings.Format(rawValue: formatName) else {
                throw .invalidParams("config.webhooks.\(name).format: " + WebhookSettings.Format.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let secret = try webhook["secretFile"]?.stringValue.map { file throws(ResponseError) in
                try Self.secret(file, "config.webhooks.\(name).secretFile")
            }
            webhooks[name] = WebhookSettings(name: name, url: url, format: format, secret: secret)
        }
        if let retry = config["retry"] {
            if let seconds = retry["firstSeconds"] {
                guard let value = seconds.intValue, value >= 1 else { throw .invalidParams("config.retry.firstSeconds: 1 or more") }
                firstRetry = .seconds(value)
            }
            if let seconds = retry["claimSeconds"] {
                guard let value = seconds.intValue, value >= 5 else { throw .invalidParams("config.retry.claimSeconds: 5 or more") }
                claimTimeout = .seconds(value)
            }
            if let count = retry["attempts"] {
                guard let value = count.intValue, (1...100).contains(value) else { throw .invalidParams("config.retry.attempts: 1 to 100") }
                attempts = Int(value)
            }
        }
    }

    /// How long before attempt `attempt + 1`: doubling from `firstRetry`, at most an hour.
    public func backoff(after attempt: Int) -> Duration {
        let seconds = Double(firstRetry.components.seconds) * pow(2, Double(max(0, attempt - 1)))
        return .seconds(min(3600, seconds))
    }

    /// The address to mail a person at: the name itself when it is an address, else at
    /// `emailDomain` when one is set.
    public func address(of person: String) -> String? {
        if Self.isAddress(person) { return person }
        guard let emailDomain, !person.isEmpty, Self.isAddress(person + "@" + emailDomain) else { return nil }
        return person + "@" + emailDomain
    }

    /// A plain mailbox (`local@domain`): no spaces, angle brackets or line breaks, so it cannot
    /// change the SMTP conversation it is written into.
    public static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), text.count <= 254 else { return false }
        return text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7f && !"<>()[],;:\\\"".unicodeScalars.contains($0) }
    }

    /// The address in `desk@example.org` or `Service desk <desk@example.org>`.
    static func address(in from: String) -> String? {
        if let open = from.lastIndex(of: "<"), let close = from.lastIndex(of: ">"), open < close {
            let inner = String(from[from.index(after: open)..<close])
            return isAddress(inner) ? inner : nil
        }
        return isAddress(from) ? from : nil
    }

    static func secret(_ file: String, _ field: String) throws(ResponseError) -> String {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw .invalidParams("\(field): cannot read \(file)") }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
