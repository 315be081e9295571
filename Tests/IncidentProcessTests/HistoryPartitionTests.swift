import Foundation
import IncidentProcess
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import ITSMTesting
import Testing

/// History is never deleted, so it is kept a month (UTC) a partition: what was written before
/// partitioning stays where it was, months ahead are made in advance, and a row for a month not
/// made yet waits in the default partition until its month is made.
@Suite struct HistoryPartitionTests {
    static func partitions(_ database: PluginDatabase) async throws -> [String] {
        try await database.query("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'incident.history'::regclass ORDER BY 1
            """).map { try $0.decode(String.self, "relname") }
    }

    static func count(_ database: PluginDatabase, _ table: String) async throws -> Int {
        try await database.query("SELECT count(*) AS n FROM \(unsafeSQL: table)").single().decode(Int.self, "n")
    }

    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// `history_YYYY_MM` of the month `date` falls in, in UTC.
    static func partition(of date: Date) -> String {
        let parts = utc.dateComponents([.year, .month], from: date)
        return String(format: "history_%04d_%02d", parts.year!, parts.month!)
    }

    /// A month from now, as PostgreSQL's `now() + interval '1 month'` counts it.
    static func nextMonth() -> Date {
        utc.date(byAdding: .month, value: 1, to: Date())!
    }

    /// Months since year 0, to check that partitions follow each other.
    static func monthNumber(of date: Date) -> Int {
        let parts = utc.dateComponents([.year, .month], from: date)
        return parts.year! * 12 + parts.month! - 1
    }

    static func fields(_ store: IncidentStore, _ number: String) async throws -> [String] {
        try await store.get(GetIncident(number: number, history: true)).history?.map(\.field) ?? []
    }

    @Test func historyWrittenBeforePartitioningStaysWhereItIsAndTheNextMonthIsMade() async throws {
        let pool = try await TestPostgres.makeMigratedPool(label: "histpartmigrate", schema: IncidentSchema.name,
                                                           migrations: IncidentSchema.migrations.filter { $0.version < 17 })
        let database = PluginDatabase(pool: pool, source: "incident")
        let store = IncidentStore(database: database)
        let old = try await store.create(CreateIncident(title: "Written long ago", impact: .high, urgency: .high), actor: "a",
                                         idempotencyKey: nil, now: Date(timeIntervalSince1970: 1_700_000_000))
        let recent = try await store.create(CreateIncident(title: "Written this month"), actor: "a", idempotencyKey: nil)
        let oldFields = try await Self.fields(store, old.number)
        let rowsBefore = try await Self.count(database, "incident.history")

        try await Migrator(schema: IncidentSchema.name, migrations: IncidentSchema.migrations, logger: logger).migrate(pool)
        #expect(try await Self.partitions(database) == [Self.partition(of: Self.nextMonth()), "history_before_partitioning", "history_default"])
        // Not a row copied: everything is in the table it was written to, now a partition.
        #expect(try await Self.count(database, "ONLY incident.history_before_partitioning") == rowsBefore)
        #expect(try await Self.fields(store, old.number) == oldFields)
        // Its index and foreign key became the partitioned table's own: none built a second time.
        let kept = try await database.query("""
            SELECT (SELECT count(*) FROM pg_index WHERE indrelid = 'incident.history_before_partitioning'::regclass) AS indexes,
                   (SELECT count(*) FROM pg_constraint WHERE conrelid = 'incident.history_before_partitioning'::regclass AND contype = 'f') AS keys,
                   (SELECT count(*) FROM pg_constraint WHERE conrelid = 'incident.history'::regclass AND contype = 'f') AS parent_keys
            """).single()
        #expect(try kept.decode(Int.self, "indexes") == 2 && kept.decode(Int.self, "keys") == 1 && kept.decode(Int.self, "parent_keys") == 1)
        #expect(try await !Self.fields(store, recent.number).isEmpty)

        // New history goes on where the old table left off: ids keep counting, this month's rows
        // join the old partition (it holds everything before next month).
        let after = try await store.create(CreateIncident(title: "After partitioning"), actor: "a", idempotencyKey: nil)
        #expect(try await Self.count(database, "incident.history_default") == 0)
        #expect(try await Self.count(database, "incident.history") == rowsBefore + Self.fields(store, after.number).count)
        let ids = try await database.query("SELECT id FROM incident.history ORDER BY at, id").map { try $0.decode(Int.self, "id") }
        #expect(ids == ids.sorted() && Set(ids).count == ids.count)
        await #expect(throws: PostgresError.self) { try await database.query("UPDATE incident.history SET actor = 'someone else'") }
        await #expect(throws: PostgresError.self) { try await database.query("DELETE FROM incident.history_before_partitioning") }
    }

    @Test func aRowAheadOfItsMonthWaitsInTheDefaultPartitionAndMovesWhenItsMonthIsMade() async throws {
        let database = try await makeIncidentDatabase("histpartahead")
        let store = IncidentStore(database: database)
        // A clock 100 days ahead: no month is made for it yet, and the write is not refused.
        let ahead = Date().addingTimeInterval(100 * 86_400)
        let record = try await store.create(CreateIncident(title: "From the future", impact: .low, urgency: .low), actor: "a",
                                            idempotencyKey: nil, now: ahead)
        let fields = try await Self.fields(store, record.number)
        let waiting = try await Self.count(database, "incident.history_default")
        #expect(waiting == fields.count && waiting > 0)
        #expect(try await !Self.partitions(database).contains(Self.partition(of: ahead)))

        // Made by four callers at once (the hourly job on several instances): each month once,
        // and the rows that waited are in theirs.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { try await store.ensureHistoryMonths(now: ahead) } }
            try await group.waitForAll()
        }
        let partitions = try await Self.partitions(database)
        #expect(partitions.contains(Self.partition(of: ahead)))
        #expect(partitions.contains(Self.partition(of: ahead.addingTimeInterval(32 * 86_400))))
        #expect(try await Self.count(database, "incident.history_default") == 0)
        #expect(try await Self.count(database, "incident.\(Self.partition(of: ahead))") == waiting)
        #expect(try await Self.fields(store, record.number) == fields)
        // A change months after the record was made is in its history: only months before it are left out.
        var change = UpdateIncident(number: record.number)
        change.title = "From further in the future"
        _ = try await store.update(change, actor: "a", now: ahead.addingTimeInterval(70 * 86_400))
        #expect(try await Self.fields(store, record.number) == fields + ["title"])
        // The months follow each other from the old table's end, none missing, none twice.
        let months = partitions.compactMap { name -> Int? in
            let parts = name.split(separator: "_")
            guard parts.count == 3, let year = Int(parts[1]), let month = Int(parts[2]) else { return nil }
            return year * 12 + month - 1
        }
        #expect(months.first == Self.monthNumber(of: Self.nextMonth()))
        #expect(months == Array((months.first ?? 0)..<((months.first ?? 0) + months.count)))
        // Still append-only, in the month made and in the default partition put back.
        await #expect(throws: PostgresError.self) { try await database.query("UPDATE incident.history SET actor = 'someone else'") }
        await #expect(throws: PostgresError.self) {
            try await database.query("DELETE FROM \(unsafeSQL: "incident." + Self.partition(of: ahead))")
        }
        _ = try await store.create(CreateIncident(title: "Further ahead"), actor: "a", idempotencyKey: nil,
                                   now: ahead.addingTimeInterval(200 * 86_400))
        await #expect(throws: PostgresError.self) { try await database.query("DELETE FROM incident.history_default") }
        for table in ["incident.history"] + (try await Self.partitions(database)).map({ "incident." + $0 }) {
            await #expect(throws: PostgresError.self, "TRUNCATE \(table)") { try await database.query("TRUNCATE \(unsafeSQL: table)") }
        }
        // Nothing to make: the job takes no lock and changes nothing.
        try await store.ensureHistoryMonths(now: Date())
        #expect(try await Self.partitions(database) == partitions)
    }
    /// Making a month waits 100 ms at most for the table's lock: behind a long transaction it
    /// gives up, to try again at the next hour, instead of queueing every history write behind
    /// its wait. (Waiting here would never end: the transaction holding the table waits for it.)
    @Test(.timeLimit(.minutes(1))) func makingAMonthDoesNotQueueWritesBehindALongTransaction() async throws {
        let database = try await makeIncidentDatabase("histpartbusy")
        let store = IncidentStore(database: database)
        _ = try await store.create(CreateIncident(title: "Before the export"), actor: "a", idempotencyKey: nil)
        let ahead = Date().addingTimeInterval(100 * 86_400)
        try await database.pool.withTransaction { export in
            _ = try await export.query("SELECT count(*) FROM incident.history")
            let refused = await #expect(throws: PostgresError.self) { try await store.ensureHistoryMonths(now: ahead) }
            #expect(refused?.sqlState?.rawValue == "55P03", "\(String(describing: refused))")
            // Writes go on meanwhile.
            _ = try await store.create(CreateIncident(title: "During the export"), actor: "a", idempotencyKey: nil)
        }
        try await store.ensureHistoryMonths(now: ahead)
        #expect(try await Self.partitions(database).contains(Self.partition(of: ahead)))
    }
}
