import Foundation
import ITSMPostgres
import ITSMTesting
import Testing

@Suite struct MigratorTests {
    static let migrations = [
        Migration(version: 1, name: "create schema", sql: "CREATE SCHEMA widget; CREATE TABLE widget.item (id int PRIMARY KEY);"),
        Migration(version: 2, name: "add name", sql: "ALTER TABLE widget.item ADD COLUMN name text;"),
    ]

    @Test func appliesEachMigrationOnceInOrder() async throws {
        let database = try await TestPostgres.makeDatabase(label: "migrate")
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        // Given out of order, applied in order.
        let migrator = Migrator(schema: "widget", migrations: Self.migrations.reversed(), logger: logger)
        let first = try await migrator.migrate(pool)
        #expect(first == .init(previousVersion: 0, applied: [1, 2]))
        let second = try await migrator.migrate(pool)
        #expect(second == .init(previousVersion: 2, applied: []))
        try await pool.query("INSERT INTO widget.item (id, name) VALUES (\(1), \("a"))")
        #expect(try await migrator.appliedVersion(pool) == 2)

        let extended = Migrator(schema: "widget", migrations: Self.migrations + [
            Migration(version: 3, name: "index", sql: "CREATE INDEX ON widget.item (name);"),
        ], logger: logger)
        #expect(try await extended.migrate(pool).applied == [3])
        await pool.close()
    }

    @Test func concurrentMigratorsApplyOnce() async throws {
        let database = try await TestPostgres.makeDatabase(label: "migraterace")
        let pools = (0..<4).map { _ in PostgresPool(conninfo: database.conninfo, logger: logger) }
        let reports = try await withThrowingTaskGroup(of: Migrator.Report.self) { group in
            for pool in pools {
                group.addTask { try await Migrator(schema: "widget", migrations: Self.migrations, logger: logger).migrate(pool) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(reports.flatMap(\.applied).sorted() == [1, 2])
        let count = try await pools[0].query("SELECT count(*) AS n FROM public.itsm_migrations WHERE schema_name = 'widget'")
        #expect(try count.single().decode(Int.self, "n") == 2)
        for pool in pools { await pool.close() }
    }

    @Test func refusesASchemaNewerThanItKnows() async throws {
        let database = try await TestPostgres.makeDatabase(label: "toonew")
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        try await Migrator(schema: "widget", migrations: Self.migrations, logger: logger).migrate(pool)
        let old = Migrator(schema: "widget", migrations: [Self.migrations[0]], logger: logger)
        let error = await #expect(throws: MigrationError.self) { try await old.migrate(pool) }
        #expect(error?.code == .schemaTooNew)
        await pool.close()
    }

    @Test func refusesAnEditedMigration() async throws {
        let database = try await TestPostgres.makeDatabase(label: "edited")
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        try await Migrator(schema: "widget", migrations: Self.migrations, logger: logger).migrate(pool)
        var edited = Self.migrations
        edited[1].sql = "ALTER TABLE widget.item ADD COLUMN title text;"
        let error = await #expect(throws: MigrationError.self) {
            try await Migrator(schema: "widget", migrations: edited, logger: logger).migrate(pool)
        }
        #expect(error?.code == .checksumMismatch)
        await pool.close()
    }

    @Test func failedMigrationLeavesNothingBehind() async throws {
        let database = try await TestPostgres.makeDatabase(label: "failed")
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        let broken = Self.migrations + [Migration(version: 3, name: "broken", sql: "CREATE TABLE widget.x (id int); SELEC 1;")]
        await #expect(throws: PostgresError.self) {
            try await Migrator(schema: "widget", migrations: broken, logger: logger).migrate(pool)
        }
        #expect(try await Migrator(schema: "widget", migrations: Self.migrations, logger: logger).appliedVersion(pool) == 2)
        let table = try await pool.query("SELECT to_regclass('widget.x')::text AS t").single()
        #expect(try table.decode(String?.self, "t") == nil)
        await pool.close()
    }
}
