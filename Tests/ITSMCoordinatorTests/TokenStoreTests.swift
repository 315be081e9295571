import Foundation
@testable import ITSMCoordinator
import ITSMPostgres
import ITSMTesting
import Logging
import Testing

let logger = Logger(label: "itsm.test.coordinator")

@Suite struct TokenStoreTests {
    @Test func provisionedPluginHostTokensMayOnlyAttachAndRotateWithAnOverlap() async throws {
        let database = try await TestPostgres.makeDatabase(label: "provision")
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        try await Migrator(schema: CoreSchema.name, migrations: CoreSchema.migrations, logger: logger).migrate(pool)
        let store = TokenStore(pool: pool, logger: logger)
        let first = "itsm_" + String(repeating: "a", count: 40)
        let firstName = try await store.provision(name: "remote-plugins", token: first, permissions: ["attach.*"])
        let principal = try #require(try await store.authenticate(first))
        #expect(principal.allows("attach.incident") && !principal.allows("incident.read") && !principal.allows("tokens.write"))
        // Two coordinators provisioning the same file at start agree.
        #expect(try await store.provision(name: "remote-plugins", token: first, permissions: ["attach.*"]) == firstName)
        // One coordinator gets the new token first: both work until the old one is revoked by name.
        let second = "itsm_" + String(repeating: "b", count: 40)
        let secondName = try await store.provision(name: "remote-plugins", token: second, permissions: ["attach.*"])
        #expect(secondName != firstName && secondName.hasPrefix("remote-plugins-"))
        #expect(try await store.authenticate(first)?.name == firstName)
        #expect(try await store.authenticate(second)?.name == secondName)
        #expect(try await store.revoke(name: firstName, grantor: Principal(name: "admin", permissions: ["*"])))
        #expect(try await store.authenticate(first) == nil)
        // A coordinator restarted with the old file does not bring the revoked token back.
        try await store.provision(name: "remote-plugins", token: first, permissions: ["attach.*"])
        #expect(try await store.authenticate(first) == nil)
        #expect(try await store.authenticate(second)?.name == secondName)
        await #expect(throws: CoordinatorError.self) { try await store.provision(name: "remote-plugins", token: "short", permissions: ["attach.*"]) }
        await pool.close()
    }

    /// A checked token is answered from the cache until the database says what it may do
    /// changed: revoked, its owner disabled or given other roles. The cache's own age limit is
    /// an hour here, so only the notices can make these waits end.
    @Test func aCheckedTokenIsKeptUntilTheDatabaseSaysWhatItMayDoChanged() async throws {
        let database = try await TestPostgres.makeDatabase(label: "token-cache")
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        try await Migrator(schema: CoreSchema.name, migrations: CoreSchema.migrations, logger: logger).migrate(pool)
        let cache = PrincipalCache(maximumAge: .seconds(3600))
        let store = TokenStore(pool: pool, logger: logger, cache: cache)
        let accounts = AccountStore(pool: pool, directory: nil, logger: logger)
        let admin = Principal(name: "admin", permissions: ["*"])

        // Not listening yet: nothing is kept.
        let service = try await store.issue(name: "integration", permissions: ["incident.read"], grantor: admin)
        #expect(try await store.authenticate(service)?.name == "integration")
        #expect(cache.principal(for: TokenStore.hash(service)) == nil)

        let following = Task { await cache.follow(conninfo: database.conninfo, logger: logger) }
        defer { following.cancel() }
        try await Self.until("the listener is up") { cache.generationForRead() != nil }

        var changes = AccountStore.Changes()
        changes.roles = ["agent"]
        _ = try await accounts.create(name: "dana", changes, grantor: admin)
        let dana = try #require(try await accounts.principal("dana"))
        let token = try await store.issue(name: "dana-cli", permissions: ["incident.*"], grantor: dana)
        #expect(try await store.authenticate(token)?.allows("incident.write") == true)
        // Kept once the notice of dana's new roles has come and gone.
        try await Self.until("the token is kept") {
            _ = try await store.authenticate(token)
            return cache.principal(for: TokenStore.hash(token)) != nil
        }

        // A change the database does not announce (triggers off) is not seen: the answer comes from the cache.
        try await pool.withTransaction { tx in
            try await tx.query("SET LOCAL session_replication_role = replica")
            try await tx.query("UPDATE itsm.api_token SET permissions = '{incident.read}' WHERE name = 'dana-cli'")
        }
        #expect(try await store.authenticate(token)?.allows("incident.write") == true)

        // Announced changes are.
        changes = AccountStore.Changes()
        changes.roles = ["auditor"]
        _ = try await accounts.update(name: "dana", changes, grantor: admin)
        try await Self.until("the owner's new roles apply") {
            try await store.authenticate(token).map { !$0.allows("incident.write") && $0.allows("incident.read") } == true
        }
        changes = AccountStore.Changes()
        changes.disabled = true
        _ = try await accounts.update(name: "dana", changes, grantor: admin)
        try await Self.until("the disabled owner's token is refused") { try await store.authenticate(token) == nil }

        #expect(try await store.authenticate(service)?.name == "integration")
        #expect(cache.principal(for: TokenStore.hash(service)) != nil)
        #expect(try await store.revoke(name: "integration", grantor: admin))
        try await Self.until("the revoked token is refused") { try await store.authenticate(service) == nil }

        // A read that began before a notice is not kept: it may hold what the notice replaced.
        let generation = try #require(cache.generationForRead())
        cache.forgetAll()
        cache.keep(admin, for: "read-before-the-notice", readAt: generation)
        #expect(cache.principal(for: "read-before-the-notice") == nil)

        following.cancel()
        try await Self.until("the cache stops trusting itself without its listener") { cache.generationForRead() == nil }
        await pool.close()
    }

    /// Polls `condition` until it holds, for at most 20 seconds.
    static func until(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("not within 20 s: \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func adminTokenIsIssuedOnceStoredHashedAndRotatedWhenLost() async throws {
        let database = try await TestPostgres.makeDatabase(label: "tokens")
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        try await Migrator(schema: CoreSchema.name, migrations: CoreSchema.migrations, logger: logger).migrate(pool)
        let store = TokenStore(pool: pool, logger: logger)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("itsm-token-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/admin.token"

        #expect(try await store.ensureAdminToken(file: file))
        let token = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try await store.authenticate(token) == Principal(name: "admin", permissions: ["*"], token: "admin"))
        // Only the hash is in the database.
        let stored = try await pool.query("SELECT token_hash FROM itsm.api_token WHERE name = 'admin'").single()
            .decode(String.self, "token_hash")
        #expect(stored != token && stored == TokenStore.hash(token))

        #expect(try await store.ensureAdminToken(file: file) == false)
        try FileManager.default.removeItem(atPath: file)
        #expect(try await store.ensureAdminToken(file: file))
        #expect(try await store.authenticate(token) == nil) // the lost token no longer works

        // A second installation on the same database gets its own admin token; the first keeps working.
        let newToken = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let otherDirectory = directory + "/other"
        try FileManager.default.createDirectory(atPath: otherDirectory, withIntermediateDirectories: true)
        #expect(try await store.ensureAdminToken(file: otherDirectory + "/admin.token"))
        let otherToken = try String(contentsOfFile: otherDirectory + "/admin.token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await store.authenticate(otherToken)?.name == "admin")
        #expect(try await store.authenticate(newToken)?.name == "admin")

        let admin = Principal(name: "admin", permissions: ["*"])
        let agent = try await store.issue(name: "agent", permissions: ["incident.read"], grantor: admin)
        #expect(try await store.authenticate(agent)?.allows("incident.write") == false)
        #expect(try await store.authenticate("itsm_" + String(repeating: "x", count: 43)) == nil)
        #expect(try await store.authenticate("not-a-token") == nil)
        await pool.close()
    }

    @Test func aTokenNameBelongsToItsIssuerAndAdministratorsTokensToAdministrators() async throws {
        let pool = try await TestPostgres.makeMigratedPool(label: "tokenowners", schema: CoreSchema.name, migrations: CoreSchema.migrations)
        let store = TokenStore(pool: pool, logger: logger)
        let directory = NSTemporaryDirectory() + "itsm-tokens-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try await store.ensureAdminToken(file: directory + "/admin.token")
        let admin = Principal(name: "admin", permissions: ["*"])
        let desk = Principal(name: "desk-lead", permissions: ["incident.*", "tokens.write"])
        let other = Principal(name: "other-lead", permissions: ["incident.*", "tokens.write"])

        // Nobody takes the administrator's name, nor an active one.
        await #expect(throws: TokenError.nameTaken("admin")) { try await store.issue(name: "admin", permissions: ["incident.read"], grantor: desk) }
        _ = try await store.issue(name: "night-shift", permissions: ["incident.read"], grantor: desk)
        await #expect(throws: TokenError.nameTaken("night-shift")) {
            try await store.issue(name: "night-shift", permissions: ["incident.read"], grantor: other)
        }
        // Only the issuer (or an administrator) revokes it, or uses the name again.
        await #expect(throws: TokenError.notYours("night-shift")) { try await store.revoke(name: "night-shift", grantor: other) }
        #expect(try await store.revoke(name: "night-shift", grantor: desk))
        await #expect(throws: TokenError.notYours("night-shift")) {
            try await store.issue(name: "night-shift", permissions: ["incident.read"], grantor: other)
        }
        _ = try await store.issue(name: "night-shift", permissions: ["incident.read"], grantor: desk)
        #expect(try await store.revoke(name: "night-shift", grantor: admin))
        // Nobody but an administrator touches an administrator's token.
        await #expect(throws: TokenError.notYours("admin")) { try await store.revoke(name: "admin", grantor: desk) }
        #expect(try await store.authenticate(try String(contentsOfFile: directory + "/admin.token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines))?.name == "admin")
        await pool.close()
    }
}
