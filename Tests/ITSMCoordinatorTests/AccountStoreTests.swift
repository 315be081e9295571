import Foundation
@testable import ITSMCoordinator
import ITSMPostgres
import ITSMProtocol
import ITSMTesting
import Testing

/// Accounts, roles, sessions and the audit chain against a real PostgreSQL.
@Suite struct AccountStoreTests {
    /// Libsodium's smallest Argon2id parameters: the logic under test, not the cost.
    static let hasher = PasswordHasher(operations: 1, memory: 8192)
    static let admin = Principal(name: "admin", permissions: ["*"])

    static func makeStore(_ label: String) async throws -> (AccountStore, PostgresPool) {
        let database = try await TestPostgres.makeDatabase(label: label)
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        try await Migrator(schema: CoreSchema.name, migrations: CoreSchema.migrations, logger: logger).migrate(pool)
        return (AccountStore(pool: pool, hasher: hasher, logger: logger), pool)
    }

    @Test func passwordsAreStoredAsArgon2idAndAStrongerSettingUpgradesThemAtSignIn() async throws {
        let (store, pool) = try await Self.makeStore("accounthash")
        var changes = AccountStore.Changes()
        changes.password = "a long enough password"
        changes.roles = ["agent"]
        _ = try await store.create(name: "alice", changes, grantor: Self.admin)
        let stored = try await pool.query("SELECT password_hash FROM itsm.account WHERE name = 'alice'").single().decode(String.self, "password_hash")
        #expect(stored.hasPrefix("$argon2id$v=19$m=8,t=1,p=1$"), "\(stored)")
        let stronger = AccountStore(pool: pool, hasher: PasswordHasher(operations: 2, memory: 16384), logger: logger)
        guard case .success(let principal) = try await stronger.login(name: "alice", password: "a long enough password") else {
            Issue.record("the right password was refused")
            return
        }
        #expect(principal.actor == "user:alice" && principal.roles == ["agent"] && principal.allows("incident.write"))
        let upgraded = try await pool.query("SELECT password_hash FROM itsm.account WHERE name = 'alice'").single().decode(String.self, "password_hash")
        #expect(upgraded.hasPrefix("$argon2id$v=19$m=16,t=2,p=1$"), "\(upgraded)")
        await pool.close()
    }

    @Test func aManagerIsAnotherAccountAndNoOneManagesTheirOwnManager() async throws {
        let (store, pool) = try await Self.makeStore("accountmanager")
        for name in ["lena", "rita", "max"] { _ = try await store.create(name: name, AccountStore.Changes(), grantor: Self.admin) }
        var reportsToLena = AccountStore.Changes()
        reportsToLena.manager = .some("lena")
        #expect(try await store.update(name: "rita", reportsToLena, grantor: Self.admin).manager == "lena")
        var reportsToRita = AccountStore.Changes()
        reportsToRita.manager = .some("rita")
        _ = try await store.update(name: "max", reportsToRita, grantor: Self.admin)
        var loop = AccountStore.Changes()
        loop.manager = .some("max")
        await #expect(throws: AccountError.invalid("manager: max reports to lena already, directly or not")) {
            try await store.update(name: "lena", loop, grantor: Self.admin)
        }
        await #expect(throws: AccountError.invalid("manager: not the account itself")) { try await store.update(name: "max", loop, grantor: Self.admin) }
        var nobody = AccountStore.Changes()
        nobody.manager = .some("ghost")
        await #expect(throws: AccountError.invalid("manager: no account named 'ghost'")) { try await store.update(name: "max", nobody, grantor: Self.admin) }
        var none = AccountStore.Changes()
        none.manager = .some(nil)
        #expect(try await store.update(name: "rita", none, grantor: Self.admin).manager == nil)
        await pool.close()
    }

    @Test func nobodyGivesARoleOrPermissionTheyDoNotHoldThemselves() async throws {
        let (store, pool) = try await Self.makeStore("accountgrant")
        let lead = Principal(name: "lena", kind: .user, permissions: ["incident.*", "users.write"])
        var changes = AccountStore.Changes()
        changes.roles = ["administrator"]
        await #expect(throws: AccountError.cannotGrant("*")) { try await store.create(name: "mallory", changes, grantor: lead) }
        changes.roles = ["group-lead"]
        await #expect(throws: AccountError.cannotGrant("problem.read")) { try await store.create(name: "mallory", changes, grantor: lead) }
        changes.roles = ["nonexistent"]
        await #expect(throws: AccountError.self) { try await store.create(name: "mallory", changes, grantor: Self.admin) }
        await #expect(throws: AccountError.cannotGrant("supplier.*")) {
            try await store.putRole(.init(name: "buyers", description: "", permissions: ["supplier.*"], builtin: false), grantor: lead)
        }
        _ = try await store.putRole(.init(name: "night-desk", description: "", permissions: ["incident.*"], builtin: false), grantor: lead)
        await #expect(throws: AccountError.self) { try await store.deleteRole("administrator", grantor: Self.admin) }
        try await store.deleteRole("night-desk", grantor: lead)
        await pool.close()
    }

    @Test func aPluginsDefaultGrantsAreGivenOnceAndNotBackAfterAnAdministratorTookThemAway() async throws {
        let (store, pool) = try await Self.makeStore("accountdefaults")
        let declared = [PermissionDescriptor(name: "incident.all.read", description: "", grantedTo: ["agent", "no-such-role"])]
        #expect(try await store.applyDefaultGrants(declared) == ["agent: incident.all.read"])
        #expect(try await store.applyDefaultGrants(declared).isEmpty)
        var agent = try #require(try await store.roles().first { $0.name == "agent" })
        #expect(agent.permissions.contains("incident.all.read"))
        agent.permissions.removeAll { $0 == "incident.all.read" }
        _ = try await store.putRole(agent, grantor: Self.admin)
        #expect(try await store.applyDefaultGrants(declared).isEmpty)
        #expect(try await store.roles().first { $0.name == "agent" }?.permissions.contains("incident.all.read") == false)
        await pool.close()
    }

    @Test func sessionsEndWhenIdleTooLongOrWhenTheAccountIsDisabled() async throws {
        let (store, pool) = try await Self.makeStore("accountsession")
        var changes = AccountStore.Changes()
        changes.roles = ["agent"]
        _ = try await store.create(name: "sam", changes, grantor: Self.admin)
        let sessions = SessionStore(pool: pool, idleTimeout: .seconds(60), absoluteTimeout: .seconds(3600))
        let idle = try await sessions.open(account: "sam", clientAddress: "127.0.0.1")
        #expect(try await sessions.principal(secret: idle.secret)?.actor == "user:sam")
        #expect(SessionStore.csrfTokenMatches(idle.csrfToken, secret: idle.secret))
        #expect(!SessionStore.csrfTokenMatches(idle.csrfToken.uppercased(), secret: idle.secret))
        // Idle past the timeout, without waiting for it (a loaded machine can take a second
        // between any two statements): the session was last seen two minutes ago.
        try await pool.query("UPDATE itsm.session SET last_seen_at = now() - interval '2 minutes' WHERE account = 'sam'")
        #expect(try await sessions.principal(secret: idle.secret) == nil)

        let live = try await sessions.open(account: "sam", clientAddress: nil)
        #expect(try await sessions.principal(secret: live.secret) != nil)
        changes = AccountStore.Changes()
        changes.disabled = true
        _ = try await store.update(name: "sam", changes, grantor: Self.admin)
        #expect(try await sessions.principal(secret: live.secret) == nil)
        try await sessions.sweep()
        #expect(try await pool.query("SELECT count(*) AS n FROM itsm.session").single().decode(Int.self, "n") == 0)
        await pool.close()
    }

    @Test func theDatabaseAndThisVerifierHashAnEntryAlike() async throws {
        let (_, pool) = try await Self.makeStore("audithash")
        let audit = AuditLog(pool: pool, logger: logger)
        // Fields with newlines, colons, non-ASCII text and none at all must not be confused.
        await audit.append(.init(actor: "user:zoë", action: "incident.comment", target: "INC-1\n2", outcome: "ok",
                                 clientAddress: nil, requestId: "a:b", details: ["params": ["body": "line one\nline two"]]))
        await audit.append(.init(actor: "token:admin", action: "token.issue", target: nil))
        let verification = try await audit.verify()
        #expect(verification.entries == 2 && verification.broken == nil, "\(verification)")
        let entries = try await audit.entries()
        #expect(entries.map(\.hash).last == verification.head && entries.first?.target == "INC-1\n2")
        await pool.close()
    }

    /// A change's answer does not wait for its outcome to be appended, yet whoever reads the log
    /// through the same coordinator afterwards finds it there.
    @Test func outcomesAnsweredBeforeTheyAreWrittenAreInTheLogWhenItIsRead() async throws {
        let (_, pool) = try await Self.makeStore("auditlater")
        let audit = AuditLog(pool: pool, logger: logger)
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<50 {
                group.addTask {
                    _ = await audit.recording(actor: "token:load", action: "incident.create", params: ["title": .string("T\(index)")],
                                              clientAddress: nil, requestId: nil) { .success(JSONValue.object(["number": .string("INC-\(index)")])) }
                }
            }
        }
        let entries = try await audit.entries(limit: 100)
        #expect(entries.count == 50 && entries.allSatisfy { $0.outcome == "ok" })
        #expect(Set(entries.compactMap(\.target)).count == 50)
        #expect(try await pool.query("SELECT 1 FROM itsm.audit_intent").isEmpty)
        #expect(try await audit.verify().broken == nil)
        await pool.close()
    }

    @Test func concurrentAppendsCommitTogetherAndStillFormOneChain() async throws {
        let (_, pool) = try await Self.makeStore("auditbatch")
        let audit = AuditLog(pool: pool, logger: logger)
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask { await audit.append(.init(actor: "token:load", action: "incident.create", target: "INC-\(index)")) }
            }
        }
        let verification = try await audit.verify()
        #expect(verification.entries == 200 && verification.broken == nil, "\(verification)")
        let targets = Set(try await audit.entries(limit: 1000).compactMap(\.target))
        #expect(targets.count == 200)
        // Fewer commits than entries: those that arrived while one batch committed went in the next.
        let transactions = try await pool.query("SELECT count(DISTINCT xmin::text) AS n FROM itsm.audit_entry").single().decode(Int.self, "n")
        #expect(transactions < 200, "\(transactions) transactions")
        await pool.close()
    }
}
