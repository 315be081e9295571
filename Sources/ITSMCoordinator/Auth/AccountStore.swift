import Foundation
import ITSMPostgres
import ITSMProtocol
import Logging

/// People's accounts and the roles that give them permissions: created and changed by
/// administrators, checked at login with throttling. docs/identity.md describes the model.
public struct AccountStore: Sendable {
    let pool: PostgresPool
    let hasher: PasswordHasher
    /// Where directory accounts sign in; nil: local accounts only.
    let directory: DirectoryClient?
    let logger: Logger

    public init(pool: PostgresPool, hasher: PasswordHasher = PasswordHasher(), directory: DirectoryClient? = nil, logger: Logger) {
        self.pool = pool
        self.hasher = hasher
        self.directory = directory
        self.logger = logger
    }

    /// Consecutive failed logins before an account is locked for a while, doubling each time
    /// from `firstLock` up to `longestLock`.
    static let failuresBeforeLock = 5
    static let firstLock = 30
    static let longestLock = 15 * 60

    public struct Account: Codable, Sendable, Hashable {
        public var name: String
        public var displayName: String
        public var email: String?
        /// Whom they report to: the account a request waiting on "the requester's manager" goes to.
        public var manager: String?
        /// `local` (a password kept here) or `directory` (checked by LDAP).
        public var source: String
        public var disabled: Bool
        public var roles: [String]
        /// What the roles add up to.
        public var permissions: [String]
        public var hasPassword: Bool
        public var lockedUntil: Date?
        public var createdAt: Date
        public var lastLoginAt: Date?
    }

    public struct Role: Codable, Sendable, Hashable {
        public var name: String
        public var description: String
        public var permissions: [String]
        public var builtin: Bool
    }

    // MARK: - Accounts

    private static let accountColumns = """
        a.name, a.display_name, a.email, a.manager, a.source, a.disabled, a.password_hash IS NOT NULL AS has_password,
        CASE WHEN a.locked_until > now() THEN a.locked_until END AS locked_until, a.created_at, a.last_login_at,
        ARRAY(SELECT role FROM itsm.account_role WHERE account = a.name ORDER BY role) AS roles,
        itsm.account_permissions(a.name) AS permissions
        """

    private static func account(_ row: PostgresRow) throws -> Account {
        Account(name: try row.decode(String.self, "name"), displayName: try row.decode(String.self, "display_name"),
                email: try row.decode(String?.self, "email"), manager: try row.decode(String?.self, "manager"),
                source: try row.decode(String.self, "source"),
                disabled: try row.decode(Bool.self, "disabled"), roles: try row.decode([String].self, "roles"),
                permissions: try row.decode([String].self, "permissions"), hasPassword: try row.decode(Bool.self, "has_password"),
                lockedUntil: try row.decode(Date?.self, "locked_until"), createdAt: try row.decode(Date.self, "created_at"),
                lastLoginAt: try row.decode(Date?.self, "last_login_at"))
    }

    public func list() async throws -> [Account] {
        try await pool.query("SELECT \(unsafeSQL: Self.accountColumns) FROM itsm.account a ORDER BY a.name").map(Self.account)
    }

    public func account(named name: String) async throws -> Account? {
        try await pool.query("SELECT \(unsafeSQL: Self.accountColumns) FROM itsm.account a WHERE a.name = \(name)").first.map(Self.account)
    }

    /// What a new account or a change to one says; nil members are left as they are.
    public struct Changes: Sendable {
        public var displayName: String?
        public var email: String??
        /// `.some(nil)` removes it.
        public var manager: String??
        public var disabled: Bool?
        public var roles: [String]?
        public var password: String?
        public var source: String?

        public init() {}
    }

    /// Creates an account for `grantor`, who must hold every permission its roles give.
    public func create(name: String, _ changes: Changes, grantor: Principal) async throws(AccountError) -> Account {
        if let problem = Self.nameProblem(name) { throw .invalid("name: \(problem)") }
        let displayName = changes.displayName ?? name
        guard !displayName.isEmpty else { throw .invalid("displayName: must not be empty") }
        let source = changes.source ?? "local"
        guard ["local", "directory"].contains(source) else { throw .invalid("source: local or directory") }
        try validate(changes)
        let hash = try await passwordHash(changes.password)
        return try await transaction { tx in
            try await checkRoles(changes.roles ?? [], grantor: grantor, tx)
            do {
                try await checkManager(changes.manager ?? nil, of: name, tx)
                try await tx.query("""
                    INSERT INTO itsm.account (name, display_name, email, password_hash, source, disabled, manager)
                    VALUES (\(name), \(displayName), \(changes.email ?? nil), \(hash), \(source), \(changes.disabled ?? false),
                            \(changes.manager ?? nil))
                    """)
            } catch let error as PostgresError where error.sqlState == .uniqueViolation {
                throw AccountError.conflict("an account named '\(name)' exists")
            }
            try await setRoles(of: name, changes.roles ?? [], tx)
            return try await tx.query("SELECT \(unsafeSQL: Self.accountColumns) FROM itsm.account a WHERE a.name = \(name)").first.map(Self.account)!
        }
    }

    /// Changes an account for `grantor`. Disabling it ends its sessions at once; its tokens
    /// stop working with it.
    public func update(name: String, _ changes: Changes, grantor: Principal) async throws(AccountError) -> Account {
        try validate(changes)
        if let displayName = changes.displayName, displayName.isEmpty { throw .invalid("displayName: must not be empty") }
        let hash = try await passwordHash(changes.password)
        return try await transaction { tx in
            guard try await !tx.query("SELECT 1 FROM itsm.account WHERE name = \(name) FOR UPDATE").isEmpty else {
                throw AccountError.notFound(name)
            }
            if let roles = changes.roles {
                // Taking a role away needs the same standing as giving it.
                let current = try await tx.query("SELECT role FROM itsm.account_role WHERE account = \(name)").map { try $0.decode(String.self, "role") }
                try await checkRoles(Array(Set(roles).symmetricDifference(current)), grantor: grantor, tx)
                try await setRoles(of: name, roles, tx)
            }
            if let manager = changes.manager { try await checkManager(manager, of: name, tx) }
            try await tx.query("""
                UPDATE itsm.account SET
                    display_name = coalesce(\(changes.displayName), display_name),
                    email = CASE WHEN \(changes.email != nil) THEN \(changes.email ?? nil) ELSE email END,
                    manager = CASE WHEN \(changes.manager != nil) THEN \(changes.manager ?? nil) ELSE manager END,
                    disabled = coalesce(\(changes.disabled), disabled),
                    password_hash = coalesce(\(hash), password_hash),
                    failed_logins = CASE WHEN \(hash != nil) THEN 0 ELSE failed_logins END,
                    locked_until = CASE WHEN \(hash != nil) THEN NULL ELSE locked_until END,
                    updated_at = now()
                WHERE name = \(name)
                """)
            if changes.disabled == true || hash != nil {
                try await tx.query("DELETE FROM itsm.session WHERE account = \(name)")
            }
            return try await tx.query("SELECT \(unsafeSQL: Self.accountColumns) FROM itsm.account a WHERE a.name = \(name)").first.map(Self.account)!
        }
    }

    // MARK: - Login

    public enum LoginOutcome: Sendable {
        case success(Principal)
        /// Wrong name or password, or a disabled account: the same answer for each.
        case failed
        case locked(until: Date)
    }

    /// Checks a person's password: a local account's against its hash, anyone else's against
    /// the directory (when one is configured), which also creates or refreshes their account
    /// with the roles their groups map to. Each failure counts; after `failuresBeforeLock` in a
    /// row the account is locked, doubling up to 15 minutes, and no password is checked while
    /// it is. An unknown name costs the same time as a wrong password.
    public func login(name: String, password: String) async throws -> LoginOutcome {
        let row = try await pool.query("""
            SELECT password_hash, source, disabled, CASE WHEN locked_until > now() THEN locked_until END AS locked_until
            FROM itsm.account WHERE name = \(name)
            """).first
        if let until = try row?.decode(Date?.self, "locked_until") { return .locked(until: until) }
        let disabled = try row?.decode(Bool.self, "disabled") ?? false
        if try row == nil || row?.decode(String.self, "source") == "directory" {
            guard let directory, AccountStore.nameProblem(name) == nil else {
                await hasher.verifyNothing(password)
                return .failed
            }
            guard let person = try await directory.authenticate(name: name, password: password), !disabled else {
                return row == nil ? .failed : try await failed(name)
            }
            try await recordDirectoryLogin(name: name, person)
            return try await principal(name).map(LoginOutcome.success) ?? .failed
        }
        guard let hash = try row?.decode(String?.self, "password_hash") else {
            await hasher.verifyNothing(password)
            return .failed
        }
        guard await hasher.verify(password, against: hash), !disabled else { return try await failed(name) }
        if hasher.needsRehash(hash), let upgraded = try? await hasher.hash(password) {
            try await pool.query("UPDATE itsm.account SET password_hash = \(upgraded) WHERE name = \(name)")
        }
        try await pool.query("UPDATE itsm.account SET failed_logins = 0, locked_until = NULL, last_login_at = now() WHERE name = \(name)")
        return try await principal(name).map(LoginOutcome.success) ?? .failed
    }

    /// Counts a failed sign-in, locking the account once there are too many in a row.
    private func failed(_ name: String) async throws -> LoginOutcome {
        let locked = try await pool.query("""
            UPDATE itsm.account SET failed_logins = failed_logins + 1,
                locked_until = CASE WHEN failed_logins + 1 >= \(Self.failuresBeforeLock)
                    THEN now() + make_interval(secs => least(\(Self.longestLock), \(Self.firstLock) * 2 ^ (failed_logins + 1 - \(Self.failuresBeforeLock))))
                    ELSE locked_until END
            WHERE name = \(name)
            RETURNING CASE WHEN locked_until > now() THEN locked_until END AS locked_until
            """).first.flatMap { try $0.decode(Date?.self, "locked_until") }
        return locked.map { .locked(until: $0) } ?? .failed
    }

    /// Creates or refreshes a directory account: its name, email and roles are the directory's.
    private func recordDirectoryLogin(name: String, _ person: DirectoryClient.Person) async throws {
        try await pool.withTransaction { tx in
            try await tx.query("""
                INSERT INTO itsm.account (name, display_name, email, source, last_login_at)
                VALUES (\(name), \(person.displayName ?? name), \(person.email), 'directory', now())
                ON CONFLICT (name) DO UPDATE SET display_name = EXCLUDED.display_name, email = EXCLUDED.email,
                    failed_logins = 0, locked_until = NULL, last_login_at = now(), updated_at = now()
                """)
            // Roles that do not exist (a mapping's typo) are left out, and logged.
            let roles = try await tx.query("SELECT name FROM itsm.role WHERE name = ANY(\(person.roles))").map { try $0.decode(String.self, "name") }
            if roles.count < person.roles.count {
                logger.warning("directory.groupRoles names roles that do not exist", metadata: [
                    "itsm.roles": "\(Set(person.roles).subtracting(roles).sorted())",
                ])
            }
            try await setRoles(of: name, roles, tx)
        }
    }

    /// The person behind an enabled account, with their roles' permissions now.
    public func principal(_ name: String) async throws -> Principal? {
        try await pool.query("""
            SELECT ARRAY(SELECT role FROM itsm.account_role WHERE account = a.name ORDER BY role) AS roles,
                   itsm.account_permissions(a.name) AS permissions
            FROM itsm.account a WHERE a.name = \(name) AND NOT a.disabled
            """).first.map { row in
            Principal(name: name, kind: .user, permissions: try row.decode([String].self, "permissions"),
                      roles: try row.decode([String].self, "roles"))
        }
    }

    // MARK: - Roles

    public func roles() async throws -> [Role] {
        try await pool.query("SELECT name, description, permissions, builtin FROM itsm.role ORDER BY name").map { row in
            Role(name: try row.decode(String.self, "name"), description: try row.decode(String.self, "description"),
                 permissions: try row.decode([String].self, "permissions"), builtin: try row.decode(Bool.self, "builtin"))
        }
    }

    /// Creates or replaces a role for `grantor`, who must hold every permission it had and gets.
    public func putRole(_ role: Role, grantor: Principal) async throws(AccountError) -> Role {
        if let problem = Self.nameProblem(role.name) { throw .invalid("name: \(problem)") }
        guard !role.permissions.isEmpty else { throw .invalid("permissions: at least one, e.g. incident.read") }
        for permission in role.permissions {
            if let malformation = Principal.malformation(of: permission) { throw .invalid("permissions: \(malformation)") }
            guard grantor.holds(pattern: permission) else { throw .cannotGrant(permission) }
        }
        return try await transaction { tx in
            let before = try await tx.query("SELECT permissions FROM itsm.role WHERE name = \(role.name) FOR UPDATE")
            for permission in try before.first?.decode([String].self, "permissions") ?? [] where !grantor.holds(pattern: permission) {
                throw AccountError.cannotGrant(permission)
            }
            let rows = try await tx.query("""
                INSERT INTO itsm.role (name, description, permissions) VALUES (\(role.name), \(role.description), \(role.permissions))
                ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, permissions = EXCLUDED.permissions
                RETURNING builtin
                """)
            var stored = role
            stored.builtin = try rows.first?.decode(Bool.self, "builtin") ?? false
            return stored
        }
    }

    public func deleteRole(_ name: String, grantor: Principal) async throws(AccountError) {
        try await transaction { tx in
            guard let row = try await tx.query("SELECT builtin, permissions FROM itsm.role WHERE name = \(name) FOR UPDATE").first else {
                throw AccountError.notFound(name)
            }
            if try row.decode(Bool.self, "builtin") { throw AccountError.conflict("'\(name)' is built in: change its permissions instead") }
            for permission in try row.decode([String].self, "permissions") where !grantor.holds(pattern: permission) {
                throw AccountError.cannotGrant(permission)
            }
            try await tx.query("DELETE FROM itsm.role WHERE name = \(name)")
        }
    }

    /// Gives each declared permission to its default roles, once ever per permission and role
    /// (an administrator may take it away for good). Returns what was given now, as
    /// `role: permission`.
    public func applyDefaultGrants(_ permissions: [PermissionDescriptor]) async throws -> [String] {
        let pairs = permissions.flatMap { permission in (permission.grantedTo ?? []).map { (permission.name, $0) } }
        guard !pairs.isEmpty else { return [] }
        return try await pool.query("""
            WITH fresh AS (
                INSERT INTO itsm.role_default_grant (permission, role)
                SELECT p.permission, p.role FROM unnest(\(pairs.map(\.0))::text[], \(pairs.map(\.1))::text[]) AS p (permission, role)
                JOIN itsm.role r ON r.name = p.role
                ON CONFLICT DO NOTHING
                RETURNING permission, role
            ), updated AS (
                UPDATE itsm.role r SET permissions = r.permissions
                    || ARRAY(SELECT f.permission FROM fresh f WHERE f.role = r.name AND NOT f.permission = ANY(r.permissions))
                WHERE r.name IN (SELECT role FROM fresh)
            )
            SELECT role || ': ' || permission AS given FROM fresh ORDER BY 1
            """).map { try $0.decode(String.self, "given") }
    }

    // MARK: - Assignment groups

    public struct Group: Codable, Sendable, Hashable {
        public var name: String
        public var description: String
        public var members: [String]
        /// Members who lead the group.
        public var leads: [String]
    }

    public func groups() async throws -> [Group] {
        try await pool.query("""
            SELECT g.name, g.description,
                   ARRAY(SELECT account FROM itsm.group_member m WHERE m.group_name = g.name ORDER BY account) AS members,
                   ARRAY(SELECT account FROM itsm.group_member m WHERE m.group_name = g.name AND m.lead ORDER BY account) AS leads
            FROM itsm.assignment_group g ORDER BY g.name
            """).map { row in
            Group(name: try row.decode(String.self, "name"), description: try row.decode(String.self, "description"),
                  members: try row.decode([String].self, "members"), leads: try row.decode([String].self, "leads"))
        }
    }

    /// The groups `account` is a member of, by name.
    /// How to reach people, for a plugin that tells them things (`people.contacts`): enabled
    /// accounts named, in one of `groups` (with `leads`, only their leads), holding one of
    /// `roles`, or with one of `emails`.
    public struct Contact: Codable, Sendable, Hashable {
        public var name: String
        public var displayName: String
        public var email: String?
    }

    public func contacts(names: [String], groups: [String], leads: Bool, roles: [String], emails: [String]) async throws -> [Contact] {
        try await pool.query("""
            SELECT name, display_name, email FROM itsm.account a
            WHERE NOT disabled AND (name = ANY(\(names))
                OR EXISTS (SELECT 1 FROM itsm.group_member m WHERE m.account = a.name AND m.group_name = ANY(\(groups)) AND (m.lead OR NOT \(leads)))
                OR EXISTS (SELECT 1 FROM itsm.account_role r WHERE r.account = a.name AND r.role = ANY(\(roles)))
                OR lower(email) = ANY(\(emails.map { $0.lowercased() })))
            ORDER BY name LIMIT 1000
            """).map { row in
            Contact(name: try row.decode(String.self, "name"), displayName: try row.decode(String.self, "display_name"),
                    email: try row.decode(String?.self, "email"))
        }
    }

    public func groupNames(of account: String) async throws -> [String] {
        try await pool.query("SELECT group_name FROM itsm.group_member WHERE account = \(account) ORDER BY group_name")
            .map { try $0.decode(String.self, "group_name") }
    }

    /// Creates or replaces a group and its membership; every lead is a member.
    public func putGroup(_ group: Group) async throws(AccountError) -> Group {
        if let problem = Self.nameProblem(group.name) { throw .invalid("name: \(problem)") }
        if let lead = group.leads.first(where: { !group.members.contains($0) }) {
            throw .invalid("leads: '\(lead)' is not among the members")
        }
        return try await transaction { tx in
            let known = Set(try await tx.query("SELECT name FROM itsm.account WHERE name = ANY(\(group.members))").map { try $0.decode(String.self, "name") })
            if let unknown = group.members.first(where: { !known.contains($0) }) {
                throw AccountError.invalid("members: no account named '\(unknown)'")
            }
            try await tx.query("""
                INSERT INTO itsm.assignment_group (name, description) VALUES (\(group.name), \(group.description))
                ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description
                """)
            try await tx.query("DELETE FROM itsm.group_member WHERE group_name = \(group.name)")
            try await tx.query("""
                INSERT INTO itsm.group_member (group_name, account, lead)
                SELECT \(group.name), m, m = ANY(\(group.leads)::text[]) FROM unnest(\(group.members)::text[]) AS m
                """)
            return Group(name: group.name, description: group.description, members: group.members.sorted(), leads: group.leads.sorted())
        }
    }

    public func deleteGroup(_ name: String) async throws(AccountError) {
        try await transaction { tx in
            guard try await tx.query("DELETE FROM itsm.assignment_group WHERE name = \(name)").affectedRows == 1 else {
                throw AccountError.notFound(name)
            }
        }
    }

    // MARK: - Checks

    /// Why `name` cannot name an account or a role, or nil: 1 to 64 of a-z, 0-9, '-', '_', '.', '@'.
    static func nameProblem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        let plain = (1...64).contains(bytes.count) && bytes.allSatisfy {
            (97...122).contains($0) || (48...57).contains($0) || [45, 46, 64, 95].contains($0)
        }
        return plain ? nil : "1 to 64 of a-z, 0-9, '-', '_', '.', '@'"
    }

    /// A manager is another account, and no one is their own manager's manager.
    private func checkManager(_ manager: String?, of name: String, _ tx: PostgresConnection) async throws {
        guard let manager else { return }
        guard manager != name else { throw AccountError.invalid("manager: not the account itself") }
        guard try await !tx.query("SELECT 1 FROM itsm.account WHERE name = \(manager)").isEmpty else {
            throw AccountError.invalid("manager: no account named '\(manager)'")
        }
        let loop = try await tx.query("""
            WITH RECURSIVE up (name, depth) AS (
                SELECT manager, 1 FROM itsm.account WHERE name = \(manager)
                UNION ALL SELECT a.manager, up.depth + 1 FROM itsm.account a JOIN up ON a.name = up.name WHERE up.depth < 50
            )
            SELECT 1 FROM up WHERE name = \(name) LIMIT 1
            """)
        guard loop.isEmpty else { throw AccountError.invalid("manager: \(manager) reports to \(name) already, directly or not") }
    }

    private func validate(_ changes: Changes) throws(AccountError) {
        if let email = changes.email ?? nil {
            let parts = email.split(separator: "@", omittingEmptySubsequences: false)
            guard email.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
                  !email.contains(where: { $0.isWhitespace }) else { throw .invalid("email: not an address like name@example.org") }
        }
        if let name = changes.displayName, name.count > 200 { throw .invalid("displayName: at most 200 characters") }
        if let password = changes.password, let weakness = PasswordHasher.weakness(of: password) {
            throw .invalid("password: \(weakness)")
        }
        if let roles = changes.roles, let bad = roles.first(where: { Self.nameProblem($0) != nil }) {
            throw .invalid("roles: '\(bad)' is not a role name")
        }
    }

    private func passwordHash(_ password: String?) async throws(AccountError) -> String? {
        guard let password else { return nil }
        do { return try await hasher.hash(password) } catch { throw .unavailable("\(error)") }
    }

    /// Refuses roles that do not exist, or that give a permission `grantor` does not hold.
    private func checkRoles(_ roles: [String], grantor: Principal, _ tx: PostgresConnection) async throws {
        guard !roles.isEmpty else { return }
        let found = try await tx.query("SELECT name, permissions FROM itsm.role WHERE name = ANY(\(roles))")
        let known = Set(try found.map { try $0.decode(String.self, "name") })
        if let unknown = roles.first(where: { !known.contains($0) }) {
            throw AccountError.invalid("roles: no role named '\(unknown)'; GET /api/v1/roles lists them")
        }
        for row in found {
            for permission in try row.decode([String].self, "permissions") where !grantor.holds(pattern: permission) {
                throw AccountError.cannotGrant(permission)
            }
        }
    }

    private func setRoles(of name: String, _ roles: [String], _ tx: PostgresConnection) async throws {
        try await tx.query("DELETE FROM itsm.account_role WHERE account = \(name)")
        try await tx.query("INSERT INTO itsm.account_role (account, role) SELECT \(name), unnest(\(roles)::text[])")
    }

    /// Runs `body` in a transaction, turning database failures into `AccountError.unavailable`.
    private func transaction<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws(AccountError) -> T {
        do {
            return try await pool.withTransaction(body)
        } catch let error as AccountError {
            throw error
        } catch {
            logger.error("account change failed", metadata: ["itsm.error": "\(String(reflecting: error))"])
            throw .unavailable("the database is unavailable")
        }
    }
}

public enum AccountError: Error, Sendable, Hashable {
    case invalid(String)
    case notFound(String)
    case conflict(String)
    case cannotGrant(String)
    case unavailable(String)

    var responseError: ResponseError {
        switch self {
        case .invalid(let message): .invalidParams(message)
        case .notFound(let name): .business(kind: "account.not_found", message: "no account or role named '\(name)'")
        case .conflict(let message): .business(kind: "account.conflict", message: message)
        case .cannotGrant(let permission):
            ResponseError(code: .permissionDenied, kind: "auth.cannot_grant",
                          message: "you can only give permissions you hold yourself; you lack '\(permission)'")
        case .unavailable(let message): ResponseError(code: .unavailable, kind: "database.unavailable", message: message, retryable: true)
        }
    }
}
