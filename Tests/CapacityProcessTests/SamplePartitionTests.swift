import CapacityProcess
import Foundation
import ITSMPluginKit
import ITSMPostgres
import ITSMTesting
import Logging
import Testing

/// Raw samples live in a partition a month (UTC): made as batches need them, dropped whole
/// by retention.
@Suite struct SamplePartitionTests {
    static func partitions(_ pool: PostgresPool) async throws -> [String] {
        try await pool.query("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'capacity.sample'::regclass ORDER BY 1
            """).map { try $0.decode(String.self, "relname") }
    }

    static func count(_ pool: PostgresPool, _ table: String) async throws -> Int {
        try await pool.query("SELECT count(*) AS n FROM \(unsafeSQL: table)").single().decode(Int.self, "n")
    }

    @Test func aBatchMakesTheMonthsItNeedsAndItsSamplesLandInThem() async throws {
        let (store, pool) = try await makeCapacityStore("cappartmonths")
        // A month's last microsecond and the next month's first, in UTC, and one from further back.
        let result = try await store.ingest([
            Sample(resource: "db-1", metric: "disk", at: "2026-10-31T23:59:59.999999Z", value: 300),
            Sample(resource: "db-1", metric: "disk", at: "2026-11-01T00:00:00Z", value: 301),
            Sample(resource: "db-1", metric: "cpu", at: "2026-11-01T00:30:00+01:00", value: 50), // 23:30 on 31 October, UTC
            Sample(resource: "db-1", metric: "cpu", at: "2025-02-14T12:00:00Z", value: 40),
        ])
        #expect(result.accepted == 4)
        #expect(try await Self.partitions(pool) == ["sample_2025_02", "sample_2026_10", "sample_2026_11"])
        #expect(try await Self.count(pool, "capacity.sample_2026_10") == 2)
        #expect(try await Self.count(pool, "capacity.sample_2026_11") == 1)
        #expect(try await Self.count(pool, "capacity.sample_2025_02") == 1)
        // A repeat takes the upsert, through the same partitions.
        _ = try await store.ingest([Sample(resource: "db-1", metric: "disk", at: "2026-11-01T00:00:00Z", value: 302)])
        #expect(try await pool.query("SELECT value FROM capacity.sample_2026_11").single().decode(Double.self, "value") == 302)
    }

    @Test func batchesThatNeedTheSameNewMonthAtOnceAllLand() async throws {
        let (store, pool) = try await makeCapacityStore("cappartrace")
        let accepted = try await withThrowingTaskGroup(of: Int.self) { group in
            for (hour, metric) in [(10, "disk"), (11, "cpu"), (12, "disk"), (13, "cpu")] {
                group.addTask {
                    try await store.ingest((0..<50).map {
                        Sample(resource: "db-1", metric: metric, at: "2025-06-03T\(hour):\(String(format: "%02d", $0)):00Z", value: 1)
                    }).accepted
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(accepted == 200)
        #expect(try await Self.partitions(pool) == ["sample_2025_06"])
        #expect(try await Self.count(pool, "capacity.sample") == 200)
    }

    @Test func retentionDropsTheMonthsWhollyPastItAndDeletesFromTheOneItCuts() async throws {
        var settings = CapacitySettings()
        settings.rawRetentionDays = 35
        let (store, pool) = try await makeCapacityStore("cappartprune", settings: settings)
        let now = Date()
        // 70 days back lies in a month that ended before the cutoff (35 days back); 36 days
        // back is past the cutoff, in a month that may or may not have ended by then.
        let samples = [now.addingTimeInterval(-70 * 86_400), now.addingTimeInterval(-36 * 86_400), now.addingTimeInterval(-3600)]
        _ = try await store.ingest(samples.enumerated().map { Sample(resource: "db-1", metric: "cpu", at: $1.formatted(stamp), value: Double($0)) })
        let oldest = try #require(try await Self.partitions(pool).first)
        #expect(try await store.prune() == 2)
        #expect(try await Self.count(pool, "capacity.sample") == 1)
        // The oldest month is gone as a table, not emptied row by row.
        #expect(try await !Self.partitions(pool).contains(oldest))
        // What was pruned can come back: its month is made again.
        _ = try await store.ingest([Sample(resource: "db-1", metric: "cpu", at: samples[0].formatted(stamp), value: 9)])
        #expect(try await Self.partitions(pool).contains(oldest))
    }

    @Test func batchesFromBeforeTheRetentionLandWhileRetentionRunsAndKeepTheirRollups() async throws {
        let (store, pool) = try await makeCapacityStore("cappartpruning")
        // Sixty days back: past the 30-day retention, so every prune drops the month these
        // samples need, while batches keep making it again.
        let start = Date().addingTimeInterval(-60 * 86_400)
        let hour = Date(timeIntervalSince1970: (start.timeIntervalSince1970 / 3600).rounded(.down) * 3600)
        let rounds = 40
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for round in 0..<rounds {
                    let at = hour.addingTimeInterval(Double(round) * 3600)
                    let result = try await store.ingest((0..<10).map {
                        Sample(resource: "db-1", metric: "disk", at: at.addingTimeInterval(Double($0) * 60).formatted(stamp), value: Double(round))
                    })
                    #expect(result.accepted == 10 && result.rejected.isEmpty, "round \(round): \(result.rejected)")
                }
            }
            group.addTask {
                for _ in 0..<rounds { try await store.prune() }
            }
            try await group.waitForAll()
        }
        try await store.prune()
        // Every batch's hour has its rollup, from all ten samples, though the samples are gone.
        let hours = try await pool.query("""
            SELECT r.samples, r.max FROM capacity.rollup r JOIN capacity.metric m ON m.id = r.metric_id
            WHERE m.name = 'disk' AND r.granularity = 'hour' ORDER BY r.bucket
            """).map { (try $0.decode(Int.self, "samples"), try $0.decode(Double.self, "max")) }
        #expect(hours.map(\.0) == Array(repeating: 10, count: rounds))
        #expect(hours.map(\.1) == (0..<rounds).map(Double.init))
        #expect(try await Self.count(pool, "capacity.sample") == 0)
    }

    @Test func samplesStoredBeforePartitioningAreMovedIntoTheirMonths() async throws {
        let logger = Logger(label: "test")
        let pool = try await TestPostgres.makeMigratedPool(label: "cappartmigrate", schema: CapacitySchema.name,
                                                           migrations: Array(CapacitySchema.migrations.prefix { $0.version < 6 }))
        let store = CapacityStore(database: PluginDatabase(pool: pool, source: "capacity"))
        _ = try await store.define(DefineResource(name: "db-1", metrics: [.init(name: "cpu", unit: "%", limit: 100, warning: 80, critical: 90)]),
                                   actor: "a")
        // Stored by the version before: the migration's session runs in UTC, these are
        // written with an offset that puts one of them in another month than its local day.
        try await pool.query("""
            INSERT INTO capacity.sample (metric_id, at, value)
            SELECT id, t::timestamptz, 1 FROM capacity.metric,
                unnest(ARRAY['2026-09-30T23:30:00-02:00', '2026-09-15T08:00:00Z', '2026-11-02T08:00:00Z']) AS t
            """)
        try await Migrator(schema: CapacitySchema.name, migrations: CapacitySchema.migrations, logger: logger).migrate(pool)
        #expect(try await Self.partitions(pool) == ["sample_2026_09", "sample_2026_10", "sample_2026_11"])
        #expect(try await Self.count(pool, "capacity.sample_2026_10") == 1)
        #expect(try await Self.count(pool, "capacity.sample") == 3)
        #expect(try await pool.query("SELECT to_regclass('capacity.sample_unpartitioned') IS NULL AS gone").single().decode(Bool.self, "gone"))
    }
}
