import ArgumentParser
import CapacityProcess
import CapacityProtocol
import Foundation
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import ITSMSystem

extension Bench {
    /// Capacity ingestion beside its floor: COPY of the same rows into a table of the same
    /// shape, in the same run; then the same ingestion again with a large history stored.
    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ingest",
            abstract: "Time capacity ingestion against COPY into a table of the same shape, with an empty and a large history.",
            discussion: """
                In a throwaway database: --metrics metrics (five per resource), samples a minute apart, \
                sent in batches as a scrape would send them (every metric's sample of a minute together). \
                Times COPY of --samples rows into a copy of the sample table (the floor), the capacity \
                process's ingestion of as many (validation, upsert, hourly and daily rollups, thresholds), \
                then loads --stored older samples and times ingestion again. The process's own path, \
                without HTTP and JSON.
                """)

        @Option(help: "Samples to ingest in each timed run.") var samples = 1_000_000
        @Option(help: "Samples stored before the second run.") var stored = 10_000_000
        @Option(help: "Samples a batch (a request).") var batch = 10_000
        @Option(help: "Metrics (five per resource).") var metrics = 500
        @Option(help: "A database to use instead of a throwaway cluster.") var database: String?
        @Flag(help: "Print the figures as JSON.") var json = false

        func run() async throws {
            guard samples > 0, stored >= 0, batch > 0, batch <= CapacityStore.maximumBatch, metrics >= 5 else {
                throw ValidationError("--samples and --batch (up to \(CapacityStore.maximumBatch)) must be positive, --metrics at least 5")
            }
            try await ThrowawayDatabase.withMigratedPool(url: database, schema: CapacitySchema.name, migrations: CapacitySchema.migrations) { pool in
                let store = CapacityStore(database: PluginDatabase(pool: pool, source: "capacity"))
                let names = ["cpu", "memory", "disk", "network", "load"]
                for resource in 0..<(metrics / 5) {
                    _ = try await store.define(DefineResource(name: "host-\(resource)", metrics: names.map {
                        .init(name: $0, unit: "%", limit: 100, warning: 80, critical: 90)
                    }), actor: "bench")
                }
                let perMetric = samples / metrics
                // The first run ends perMetric minutes ago, the second now; the stored history lies before both.
                let now = Date()
                let firstRun = Self.batches(count: samples, batch: batch, metrics: metrics, names: names,
                                            start: now.addingTimeInterval(-Double(2 * perMetric + 2) * 60))
                let secondRun = Self.batches(count: samples, batch: batch, metrics: metrics, names: names,
                                             start: now.addingTimeInterval(-Double(perMetric + 1) * 60))
                let ids = try await pool.query("""
                    SELECT m.id, r.name AS resource, m.name FROM capacity.metric m JOIN capacity.resource r ON r.id = m.resource_id
                    """).reduce(into: [String: String]()) { ids, row in
                    ids["\(try row.decode(String.self, "resource"))/\(try row.decode(String.self, "name"))"] = try row.decode(UUID.self, "id").uuidString
                }

                try await pool.query("CREATE TABLE public.bench_copy (LIKE capacity.sample INCLUDING INDEXES)")
                func copyRate(_ run: [[Sample]]) async throws -> Double {
                    try await Self.measure(samples) {
                        for samples in run {
                            let rows = samples.map { [ids["\($0.resource)/\($0.metric)"], $0.at, String($0.value)] }
                            try await pool.withConnection { connection in
                                _ = try await connection.copyIn(unsafeSQL: "COPY public.bench_copy (metric_id, at, value) FROM STDIN", rows: rows)
                            }
                        }
                    }.rate
                }
                let floor = try await copyRate(firstRun)
                let (empty, emptyCPU) = try await Self.measure(samples) {
                    for samples in firstRun { _ = try await store.ingest(samples) }
                }
                let loadStarted = ContinuousClock.now
                // The same history goes into the floor's table, whose COPY is timed again beside it.
                if stored > 0 {
                    let newestStored = now.addingTimeInterval(-Double(2 * perMetric + 3) * 60)
                    let oldestStored = newestStored.addingTimeInterval(-Double(max(1, stored / metrics)) * 60)
                    try await pool.query("""
                        SELECT capacity.ensure_sample_months(ARRAY(SELECT generate_series(\(oldestStored), \(newestStored), interval '1 day'))
                                                             || \(newestStored)::timestamptz)
                        """)
                    for table in ["capacity.sample", "public.bench_copy"] {
                        try await pool.query("""
                            INSERT INTO \(unsafeSQL: table) (metric_id, at, value)
                            SELECT m.id, \(newestStored) - n * interval '1 minute', (n % 100)::float8
                            FROM (SELECT id FROM capacity.metric) m, generate_series(1, \(max(1, stored / metrics))) AS n
                            """)
                        try await pool.query("VACUUM ANALYZE \(unsafeSQL: table)")
                    }
                }
                let storedCount = try await pool.query("SELECT count(*) AS n FROM capacity.sample").single().decode(Int.self, "n")
                if !json { print("stored \(storedCount) samples in \(ContinuousClock.now - loadStarted)") }
                let storedFloor = try await copyRate(secondRun)
                let (large, largeCPU) = try await Self.measure(samples) {
                    for samples in secondRun { _ = try await store.ingest(samples) }
                }
                // Each ingestion beside the COPY into a table holding as much, with this process's
                // own CPU time (the capacity process's part; the rest is PostgreSQL's).
                let figures: [(String, Double, floor: Double, cpu: Double?)] = [
                    ("COPY into a table of the same shape, empty (floor)", floor, floor, nil),
                    ("ingest, empty history", empty, floor, emptyCPU),
                    ("COPY into a table of the same shape holding \(storedCount) (floor)", storedFloor, storedFloor, nil),
                    ("ingest, \(storedCount) samples stored", large, storedFloor, largeCPU),
                ]
                if json {
                    print(compact(.object(["copyPerSecond": .double(floor), "ingestEmptyPerSecond": .double(empty),
                                           "copyStoredPerSecond": .double(storedFloor), "ingestStoredPerSecond": .double(large),
                                           "ingestEmptyCPUMicrosPerSample": .double(emptyCPU),
                                           "ingestStoredCPUMicrosPerSample": .double(largeCPU),
                                           "stored": .int(Int64(storedCount))])))
                } else {
                    print("\(samples) samples, \(metrics) metrics, batches of \(batch)")
                    print(table([["", "rows/s", "÷ COPY", "own CPU ms / 1,000"]] + figures.map {
                        [$0.0, String(Int($0.1)), ($0.1 / $0.floor).figure(fractionDigits: 3), $0.cpu.map { $0.figure(fractionDigits: 2) } ?? ""]
                    }))
                }
            }
        }

        /// Rows per second of `work`, which handles `count` rows, and this process's CPU time
        /// (user and system) a row in µs, which is ms a thousand.
        static func measure(_ count: Int, _ work: () async throws -> Void) async throws -> (rate: Double, cpuMicrosPerRow: Double) {
            func processCPU() -> Double {
                var usage = rusage()
                getrusage(RUSAGE_SELF.rawValue, &usage)
                return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
            }
            let cpu = processCPU()
            let started = ContinuousClock.now
            try await work()
            let elapsed = max((ContinuousClock.now - started).inSeconds, 0.000_001)
            return (Double(count) / elapsed, (processCPU() - cpu) * 1_000_000 / Double(count))
        }

        /// `count` samples a minute apart from `start`, each minute every metric's, cut into batches.
        static func batches(count: Int, batch: Int, metrics: Int, names: [String], start: Date) -> [[Sample]] {
            let stamp = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
            var all: [Sample] = []
            all.reserveCapacity(count)
            var minute = 0
            while all.count < count {
                let at = start.addingTimeInterval(Double(minute) * 60).formatted(stamp)
                for metric in 0..<metrics where all.count < count {
                    all.append(Sample(resource: "host-\(metric / 5)", metric: names[metric % 5], at: at, value: Double((minute * 7 + metric) % 70)))
                }
                minute += 1
            }
            return stride(from: 0, to: all.count, by: batch).map { Array(all[$0..<min($0 + batch, all.count)]) }
        }
    }
}
