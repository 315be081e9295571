import Foundation
@testable import ITSMCoordinator
import ITSMPostgres
import ITSMTesting
import Testing

/// The audit log grows without bound: it is kept a month a partition, and its chain goes on
/// across the change and across months.
@Suite struct AuditPartitionTests {
    static func partitions(_ pool: PostgresPool) async throws -> [String] {
        try await pool.query("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'itsm.audit_entry'::regclass ORDER BY 1
            """).map { try $0.decode(String.self, "relname") }
    }

    static func month(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month], from: date)
        return String(format: "audit_entry_%04d_%02d", parts.year!, parts.month!)
    }

    @Test func theLogWrittenBeforePartitioningKeepsItsChainAndItGoesOnAcrossMonths() async throws {
        let database = try await TestPostgres.makeDatabase(label: "auditpart")
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        try await Migrator(schema: CoreSchema.name, migrations: CoreSchema.migrations.filter { $0.version < 14 }, logger: logger).migrate(pool)
        let audit = AuditLog(pool: pool, logger: logger)
        for index in 1...3 { await audit.append(.init(actor: "token:admin", action: "token.issue", target: "before-\(index)")) }
        let before = try await audit.verify()
        #expect(before.entries == 3 && before.broken == nil)

        try await Migrator(schema: CoreSchema.name, migrations: CoreSchema.migrations, logger: logger).migrate(pool)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let nextMonth = calendar.date(byAdding: .month, value: 1, to: Date())!
        #expect(try await Self.partitions(pool) == [Self.month(nextMonth), "audit_entry_before_partitioning", "audit_entry_default"])
        let head = try await pool.query("SELECT seq, hash FROM itsm.audit_head").single()
        #expect(try head.decode(Int64.self, "seq") == 3 && head.decode(String.self, "hash") == before.head)

        // The chain goes on from the entry written before: numbers and links continue.
        for index in 1...2 { await audit.append(.init(actor: "token:admin", action: "token.issue", target: "after-\(index)")) }
        // Months made a year ahead change nothing about the chain.
        try await audit.ensureMonths(now: Date().addingTimeInterval(365 * 86_400))
        #expect(try await Self.partitions(pool).count >= 14)
        let after = try await audit.verify()
        #expect(after.entries == 5 && after.broken == nil, "\(after)")
        #expect(try await audit.entries().map(\.target) == ["before-1", "before-2", "before-3", "after-1", "after-2"])

        // Append-only on the table and on every partition, TRUNCATE included.
        for table in ["itsm.audit_entry"] + (try await Self.partitions(pool)).map({ "itsm." + $0 }) {
            await #expect(throws: PostgresError.self, "TRUNCATE \(table)") { try await pool.query("TRUNCATE \(unsafeSQL: table)") }
        }
        await #expect(throws: PostgresError.self) { try await pool.query("DELETE FROM itsm.audit_entry_before_partitioning") }
        await #expect(throws: PostgresError.self) { try await pool.query("UPDATE itsm.audit_entry SET actor = 'someone else'") }
        await #expect(throws: PostgresError.self) { try await pool.query("TRUNCATE itsm.audit_head") }
        #expect(try await audit.verify().entries == 5)
        await pool.close()
    }
}
