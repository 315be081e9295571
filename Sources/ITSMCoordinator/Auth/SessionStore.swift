import Crypto
import Foundation
import ITSMPostgres
import ITSMSystem

/// Signed-in people. A session is a random secret in an HTTP-only cookie; only its SHA-256 is
/// stored. It ends after `idleTimeout` without a request, after `absoluteTimeout` in any case,
/// at logout, and when its account is disabled or its password changed.
///
/// A browser sends cookies with requests other sites make it send, so a request authenticated
/// by the cookie that changes something must also carry the session's CSRF token (header
/// `X-CSRF-Token`), which only pages of this origin can read. The token is derived from the
/// secret, so nothing more is stored.
public struct SessionStore: Sendable {
    let pool: PostgresPool
    public var idleTimeout: Duration
    public var absoluteTimeout: Duration

    public static let cookieName = "itsm_session"
    public static let csrfHeader = "X-CSRF-Token"

    public init(pool: PostgresPool, idleTimeout: Duration = .seconds(30 * 60), absoluteTimeout: Duration = .seconds(12 * 3600)) {
        self.pool = pool
        self.idleTimeout = idleTimeout
        self.absoluteTimeout = absoluteTimeout
    }

    public struct Opened: Sendable {
        /// Goes in the cookie; never stored.
        public var secret: String
        public var csrfToken: String
        public var expiresAt: Date
    }

    public func open(account: String, clientAddress: String?) async throws -> Opened {
        let secret = TokenStore.randomString(bytes: 32)
        let expiresAt = try await pool.query("""
            INSERT INTO itsm.session (secret_hash, account, client_address, expires_at)
            VALUES (\(TokenStore.hash(secret)), \(account), \(clientAddress), now() + make_interval(secs => \(absoluteTimeout.inSeconds)))
            RETURNING expires_at
            """).first!.decode(Date.self, "expires_at")
        return Opened(secret: secret, csrfToken: Self.csrfToken(for: secret), expiresAt: expiresAt)
    }

    /// The person a live session belongs to, and refreshes its idle clock (at most once a
    /// minute, so most requests cost no write).
    public func principal(secret: String) async throws -> Principal? {
        guard (20...100).contains(secret.utf8.count) else { return nil }
        let hash = TokenStore.hash(secret)
        guard let row = try await pool.query("""
            SELECT s.account, s.last_seen_at < now() - interval '1 minute' AS stale,
                   ARRAY(SELECT role FROM itsm.account_role WHERE account = s.account ORDER BY role) AS roles,
                   itsm.account_permissions(s.account) AS permissions
            FROM itsm.session s JOIN itsm.account a ON a.name = s.account
            WHERE s.secret_hash = \(hash) AND NOT a.disabled AND s.expires_at > now()
              AND s.last_seen_at > now() - make_interval(secs => \(idleTimeout.inSeconds))
            """).first else { return nil }
        if try row.decode(Bool.self, "stale") {
            try await pool.query("UPDATE itsm.session SET last_seen_at = now() WHERE secret_hash = \(hash)")
        }
        return Principal(name: try row.decode(String.self, "account"), kind: .user,
                         permissions: try row.decode([String].self, "permissions"), roles: try row.decode([String].self, "roles"))
    }

    public func close(secret: String) async throws {
        try await pool.query("DELETE FROM itsm.session WHERE secret_hash = \(TokenStore.hash(secret))")
    }

    /// Removes sessions that can no longer be used.
    public func sweep() async throws {
        try await pool.query("""
            DELETE FROM itsm.session WHERE expires_at <= now()
                OR last_seen_at <= now() - make_interval(secs => \(idleTimeout.inSeconds))
            """)
    }

    public static func csrfToken(for secret: String) -> String {
        SHA256.hex(Array("itsm-csrf:\(secret)".utf8))
    }

    /// Compares in constant time, so the response time says nothing of how much matched.
    static func csrfTokenMatches(_ given: String?, secret: String) -> Bool {
        guard let given else { return false }
        let expected = Array(csrfToken(for: secret).utf8)
        let bytes = Array(given.utf8)
        guard bytes.count == expected.count else { return false }
        return zip(bytes, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// `Set-Cookie` for a new session: HTTP-only (no script reads it), Secure, SameSite=Strict.
    public static func cookie(_ opened: Opened) -> String {
        "\(cookieName)=\(opened.secret); Path=/; HttpOnly; Secure; SameSite=Strict; Expires=\(httpDate(opened.expiresAt))"
    }

    public static let clearedCookie = "\(cookieName)=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0"

    /// The session secret in a `Cookie` header, if any.
    public static func secret(inCookieHeader header: String?) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let trimmed = pair.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("\(cookieName)=") { return String(trimmed.dropFirst(cookieName.count + 1)) }
        }
        return nil
    }

    private static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}
