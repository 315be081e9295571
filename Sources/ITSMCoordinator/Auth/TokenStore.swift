import Crypto
import Foundation
import ITSMPostgres
import ITSMSystem
import Logging

/// API tokens: created here, stored as SHA-256 hashes only, checked on every HTTP request.
public struct TokenStore: Sendable {
    let pool: PostgresPool
    let logger: Logger
    /// Principals of tokens checked lately (the coordinator's); without one every check reads.
    let cache: PrincipalCache?

    public init(pool: PostgresPool, logger: Logger, cache: PrincipalCache? = nil) {
        self.pool = pool
        self.logger = logger
        self.cache = cache
    }

    /// Makes sure `file` holds a working admin token: reuses it when its hash is on record,
    /// otherwise issues a new one (mode 0600) for this installation, replacing only this
    /// installation's previous one. Returns true when a new token was written.
    @discardableResult
    public func ensureAdminToken(file: String) async throws -> Bool {
        if let existing = try? String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
           !existing.isEmpty, let found = try await authenticate(existing), found.kind == .service, found.name == "admin" {
            return false
        }
        let token = Self.generateToken()
        let installation = "\(ProcessInfo.processInfo.hostName):\(URL(fileURLWithPath: file).deletingLastPathComponent().path)"
        try await pool.query("""
            INSERT INTO itsm.api_token (name, installation, token_hash, permissions)
            VALUES ('admin', \(installation), \(Self.hash(token)), \(["*"]))
            ON CONFLICT (name, coalesce(installation, '')) DO UPDATE SET token_hash = EXCLUDED.token_hash,
                permissions = EXCLUDED.permissions, revoked_at = NULL, created_at = now()
            """)
        try Self.writeSecret(token + "\n", to: file)
        logger.notice("issued a new admin API token", metadata: ["itsm.token.file": "\(file)"])
        return true
    }

    /// Records a token an operator generated and handed to both sides (the plugin hosts' token,
    /// from a file or a Kubernetes Secret) with `permissions`; only its hash is kept. Each
    /// token is its own row, `<name>-<first 8 hex of its hash>`, so several can be active at
    /// once: rotating is putting the new token in the files, restarting, and revoking the old
    /// one by name when every host uses the new. Coordinators never overwrite each other's, and
    /// a token revoked by name stays revoked. Returns the name it is recorded under.
    @discardableResult
    public func provision(name: String, token: String, permissions: [String]) async throws -> String {
        guard token.hasPrefix("itsm_"), token.count >= 37, token.count < 200 else {
            throw CoordinatorError("the token for '\(name)' must start with itsm_ and have at least 32 random characters after it")
        }
        let hash = Self.hash(token)
        let recorded = "\(name)-\(hash.prefix(8))"
        try await pool.query("""
            INSERT INTO itsm.api_token (name, token_hash, permissions) VALUES (\(recorded), \(hash), \(permissions))
            ON CONFLICT DO NOTHING
            """)
        return recorded
    }

    /// Issues a named token with the given permissions for `grantor` and returns it; only its
    /// hash is kept. A name is unique across installations and belongs to whoever issued it:
    /// a revoked name can be used again by its issuer or an administrator, and the names of
    /// the installation's own tokens (`admin`, provisioned host tokens) by nobody.
    public func issue(name: String, permissions: [String], grantor: Principal) async throws -> String {
        let token = Self.generateToken()
        do {
            try await pool.withTransaction { tx in
                for row in try await tx.query("""
                    SELECT installation, issued_by, revoked_at IS NULL AS active FROM itsm.api_token WHERE name = \(name) FOR UPDATE
                    """) {
                    let issuer = try row.decode(String?.self, "issued_by")
                    if try row.decode(Bool.self, "active") || row.decode(String?.self, "installation") != nil || issuer == nil {
                        throw TokenError.nameTaken(name)
                    }
                    guard grantor.isAdministrator || issuer == grantor.issuer else { throw TokenError.notYours(name) }
                }
                try await tx.query("DELETE FROM itsm.api_token WHERE name = \(name) AND revoked_at IS NOT NULL")
                // A person's token is theirs: it stops with their account and never exceeds their roles.
                let owner: String? = grantor.kind == .user ? grantor.name : nil
                try await tx.query("""
                    INSERT INTO itsm.api_token (name, token_hash, permissions, issued_by, owner)
                    VALUES (\(name), \(Self.hash(token)), \(permissions), \(grantor.issuer), \(owner))
                    """)
            }
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw TokenError.nameTaken(name)
        }
        return token
    }

    /// What is known of a token; never the token itself.
    public struct TokenInfo: Codable, Sendable, Hashable {
        public var name: String
        public var permissions: [String]
        /// The person the token belongs to; nil for a service account.
        public var owner: String?
        public var createdAt: Date
        public var lastUsedAt: Date?
        public var revokedAt: Date?
    }

    public func list() async throws -> [TokenInfo] {
        try await pool.query("""
            SELECT name, permissions, owner, created_at, last_used_at, revoked_at FROM itsm.api_token ORDER BY name, created_at
            """).map { row in
            TokenInfo(name: try row.decode(String.self, "name"), permissions: try row.decode([String].self, "permissions"),
                      owner: try row.decode(String?.self, "owner"), createdAt: try row.decode(Date.self, "created_at"), lastUsedAt: try row.decode(Date?.self, "last_used_at"),
                      revokedAt: try row.decode(Date?.self, "revoked_at"))
        }
    }

    /// Revokes every active token of that name for `grantor`; false when there was none. Only
    /// its issuer or an administrator may, and only an administrator revokes an administrator's
    /// token or one of the installation's own.
    public func revoke(name: String, grantor: Principal) async throws -> Bool {
        try await pool.withTransaction { tx in
            let active = try await tx.query("""
                SELECT issued_by, permissions FROM itsm.api_token WHERE name = \(name) AND revoked_at IS NULL FOR UPDATE
                """)
            guard !active.isEmpty else { return false }
            for row in active where !grantor.isAdministrator {
                let issuer = try row.decode(String?.self, "issued_by")
                if try row.decode([String].self, "permissions").contains("*") || issuer != grantor.issuer {
                    throw TokenError.notYours(name)
                }
            }
            try await tx.query("UPDATE itsm.api_token SET revoked_at = now() WHERE name = \(name) AND revoked_at IS NULL")
            return true
        }
    }

    /// Checks a new token's name and permissions, and that `grantor` holds every permission
    /// it would grant: a token cannot create a token more powerful than itself.
    public static func validate(name: String, permissions: [String], grantor: Principal) throws(TokenError) {
        let nameBytes = Array(name.utf8)
        guard (1...64).contains(nameBytes.count), nameBytes.allSatisfy({
            (97...122).contains($0) || (48...57).contains($0) || [45, 46, 64, 95].contains($0)
        }) else { throw .invalid("name: 1 to 64 of a-z, 0-9, '-', '_', '.', '@'") }
        guard !permissions.isEmpty else { throw .invalid("permissions: at least one, e.g. incident.read") }
        for permission in permissions {
            if let malformation = Principal.malformation(of: permission) { throw .invalid(malformation) }
            let covered = grantor.holds(pattern: permission)
            guard covered else { throw .cannotGrant(permission) }
        }
    }

    /// The principal a bearer token belongs to, or nil for an unknown or revoked token.
    ///
    /// A read, so checking a token costs no commit, and with a cache not even that while the
    /// token and its owner stay as they are; `last_used_at` is refreshed at most once a minute
    /// per token, which is precise enough to find unused tokens.
    public func authenticate(_ token: String) async throws -> Principal? {
        guard token.hasPrefix("itsm_"), token.count < 200 else { return nil }
        let hash = Self.hash(token)
        if let cache, let principal = cache.principal(for: hash) {
            if cache.claimLastUseWrite(for: hash, olderThan: Self.lastUseInterval) { try await recordUse(of: hash) }
            return principal
        }
        let generation = cache?.generationForRead()
        let rows = try await pool.query("""
            SELECT name, permissions, owner, last_used_at IS NULL OR last_used_at < now() - interval '1 minute' AS stale
            FROM itsm.api_token WHERE token_hash = \(hash) AND revoked_at IS NULL
            """)
        guard let row = rows.first else { return nil }
        let name = try row.decode(String.self, "name")
        let permissions = try row.decode([String].self, "permissions")
        var principal = Principal(name: name, kind: .service, permissions: permissions, token: name)
        // A person's token: what they hold now is its ceiling, and it stops with their account.
        if let owner = try row.decode(String?.self, "owner") {
            guard let person = try await pool.query("""
                SELECT itsm.account_permissions(name) AS ceiling,
                       ARRAY(SELECT role FROM itsm.account_role WHERE account = \(owner) ORDER BY role) AS roles
                FROM itsm.account WHERE name = \(owner) AND NOT disabled
                """).first else { return nil }
            principal = Principal(name: owner, kind: .user, permissions: permissions, ceiling: try person.decode([String].self, "ceiling"),
                                  roles: try person.decode([String].self, "roles"), token: name)
        }
        if try row.decode(Bool.self, "stale") { try await recordUse(of: hash) }
        if let generation { cache?.keep(principal, for: hash, readAt: generation) }
        return principal
    }

    private func recordUse(of tokenHash: String) async throws {
        try await pool.query("UPDATE itsm.api_token SET last_used_at = now() WHERE token_hash = \(tokenHash)")
    }

    /// How often a token's `last_used_at` is written while it is in use.
    static let lastUseInterval: Duration = .seconds(60)

    static func hash(_ token: String) -> String { SHA256.hex(Array(token.utf8)) }

    /// `itsm_` and 256 random bits in URL-safe base64.
    static func generateToken() -> String {
        "itsm_" + randomString(bytes: 32)
    }

    /// `bytes` from the system's random source, base64url without padding.
    static func randomString(bytes count: Int) -> String {
        ByteText.base64URL(ByteText.random(count: count))
    }

    /// Creates the file with mode 0600 before writing, so the secret is never readable by others.
    static func writeSecret(_ secret: String, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CoordinatorError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        fchmod(descriptor, 0o600)
        let bytes = Array(secret.utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count else {
            throw CoordinatorError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}

public enum TokenError: Error, Sendable, Hashable {
    case invalid(String)
    case nameTaken(String)
    case cannotGrant(String)
    /// The name was issued by someone else, or is an administrator's.
    case notYours(String)
}

/// A coordinator failure that stops it from starting or running, with a message for the operator.
public struct CoordinatorError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
