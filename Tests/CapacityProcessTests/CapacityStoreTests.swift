import CapacityProcess
import Foundation
import IncidentProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import ITSMTesting
import Synchronization
import Testing

func makeCapacityStore(_ label: String, settings: CapacitySettings = CapacitySettings()) async throws -> (CapacityStore, PostgresPool) {
    let pool = try await TestPostgres.makeMigratedPool(label: label, schema: CapacitySchema.name, migrations: CapacitySchema.migrations)
    let store = CapacityStore(database: PluginDatabase(pool: pool, source: "capacity"), settings: settings)
    _ = try await store.define(DefineResource(name: "db-1", service: "billing", configurationItem: "DB-1", metrics: [
        .init(name: "disk", unit: "GB", limit: 500, warning: 400, critical: 450),
        .init(name: "cpu", unit: "%", limit: 100, warning: 80, critical: 90),
    ]), actor: "a")
    return (store, pool)
}

let stamp = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

@Suite struct CapacityIngestTests {
    @Test func goodRowsAreKeptBadOnesReportedAndRepeatsAreIdempotent() async throws {
        let (store, pool) = try await makeCapacityStore("capingest")
        let result = try await store.ingest([
            Sample(resource: "db-1", metric: "disk", at: "2026-11-20T10:00:00Z", value: 300),
            Sample(resource: "db-1", metric: "disk", at: "2026-11-20T10:30:00Z", value: 310),
            Sample(resource: "db-1", metric: "nope", at: "2026-11-20T10:00:00Z", value: 1),
            Sample(resource: "db-1", metric: "disk", at: "yesterday", value: 1),
            Sample(resource: "db-1", metric: "disk", at: "2026-11-20T09:00:00Z", value: 290), // out of order
            Sample(resource: "db-1", metric: "disk", at: "2026-11-20T10:30:00Z", value: 320), // same time again: the later wins
        ])
        #expect(result.accepted == 4)
        #expect(result.rejected.map(\.index) == [2, 3] && result.rejected[0].reason.contains("no metric 'nope'"))
        _ = try await store.ingest([Sample(resource: "db-1", metric: "disk", at: "2026-11-20T10:00:00Z", value: 300)]) // a retry
        #expect(try await pool.query("SELECT count(*) AS n FROM capacity.sample").single().decode(Int.self, "n") == 3)
        // Rollups wait for a reader, then cover every batch at once.
        #expect(try await pool.query("SELECT count(*) AS n FROM capacity.rollup").single().decode(Int.self, "n") == 0)
        #expect(try await pool.query("SELECT count(*) AS n FROM capacity.rollup_pending").single().decode(Int.self, "n") == 3)
        try await store.refreshRollups()
        #expect(try await pool.query("SELECT count(*) AS n FROM capacity.rollup_pending").single().decode(Int.self, "n") == 0)
        let hour = try await pool.query("""
            SELECT min, avg, max, samples FROM capacity.rollup WHERE granularity = 'hour' AND bucket = '2026-11-20T10:00:00Z'
            """).single()
        #expect(try hour.decode(Double.self, "min") == 300 && hour.decode(Double.self, "max") == 320 && hour.decode(Double.self, "avg") == 310)
        #expect(try await pool.query("SELECT samples FROM capacity.rollup WHERE granularity = 'day'").single().decode(Int.self, "samples") == 3)
        // The newest sample sets the state, whatever order they came in.
        #expect(try await store.metrics().first { $0.name == "disk" }?.lastValue == 320)
    }

    /// A new batch goes straight in with COPY; one holding a sample stored already is taken
    /// whole by the upsert instead, so nothing of it is lost or doubled.
    @Test func aBatchWithAStoredSampleReplacesItAndKeepsTheNewOnes() async throws {
        let (store, pool) = try await makeCapacityStore("capresend")
        _ = try await store.ingest([Sample(resource: "db-1", metric: "disk", at: "2026-11-20T09:00:00Z", value: 290),
                                    Sample(resource: "db-1", metric: "cpu", at: "2026-11-20T09:00:00Z", value: 50)])
        let result = try await store.ingest([
            Sample(resource: "db-1", metric: "cpu", at: "2026-11-20T09:30:00Z", value: 95),
            Sample(resource: "db-1", metric: "disk", at: "2026-11-20T09:00:00.000000Z", value: 295), // stored: replaced
            Sample(resource: "db-1", metric: "disk", at: "2026-11-20T11:00:00Z", value: 330),
        ])
        #expect(result.accepted == 3 && result.rejected.isEmpty)
        let stored = try await pool.query("""
            SELECT m.name, s.at, s.value FROM capacity.sample s JOIN capacity.metric m ON m.id = s.metric_id ORDER BY m.name, s.at
            """).map { "\(try $0.decode(String.self, "name")) \(try $0.decode(Date.self, "at").formatted(.iso8601)) \(try $0.decode(Double.self, "value"))" }
        #expect(stored == ["cpu 2026-11-20T09:00:00Z 50.0", "cpu 2026-11-20T09:30:00Z 95.0",
                           "disk 2026-11-20T09:00:00Z 295.0", "disk 2026-11-20T11:00:00Z 330.0"])
        // The batch's newest samples set each metric's value and state: cpu crossed its critical line.
        let metrics = try await store.metrics()
        #expect(metrics.first { $0.name == "disk" }?.lastValue == 330 && metrics.first { $0.name == "cpu" }?.lastValue == 95)
        #expect(result.thresholdChanges == ["db-1/cpu: ok → critical"])
        // Its buckets wait for the rollups: two hours of disk, one of cpu, a day each.
        let pending = try await pool.query("SELECT count(*) AS n FROM capacity.rollup_pending").single().decode(Int.self, "n")
        #expect(pending == 3 + 2)
    }

    @Test func rawSamplesArePrunedAndRollupsKept() async throws {
        var settings = CapacitySettings()
        settings.rawRetentionDays = 7
        let (store, pool) = try await makeCapacityStore("capprune", settings: settings)
        let old = Date().addingTimeInterval(-30 * 86_400)
        _ = try await store.ingest([Sample(resource: "db-1", metric: "cpu", at: old.formatted(stamp), value: 20),
                                    Sample(resource: "db-1", metric: "cpu", at: Date().formatted(stamp), value: 25)])
        #expect(try await store.prune() == 1)
        #expect(try await pool.query("SELECT count(*) AS n FROM capacity.rollup WHERE granularity = 'day'").single().decode(Int.self, "n") == 2)
    }

    @Test func prometheusTextIsParsedAsTheFormatSays() {
        let body = """
            # HELP node_load1 1m load average.
            # TYPE node_load1 gauge
            node_load1 3.5
            node_filesystem_avail_bytes{mountpoint="/",fstype="ext4",device="/dev/sda1"} 1.2e10 1795454529000
            node_filesystem_avail_bytes{device="/dev/sdb1",fstype="ext4",mountpoint="/data"}\t7e9
            node_network_receive_bytes_total{device="eth0"} 123
            node_memory_MemAvailable_bytes NaN
            node_entropy +Inf
            broken_line_without_value
            foo{a="1" 55
            foo 1 2 3
            qux 0x10
            quoted{path="C:\\\\temp\\"x\\"",} 5
            """
        let parsed = PrometheusText.parse(body, resource: "db-1", metrics: [
            "node_load1", "node_filesystem_avail_bytes{mountpoint=\"/\"}", "node_memory_MemAvailable_bytes", "foo", "qux",
            "quoted{path=\"C:\\\\temp\\\"x\\\"\"}",
        ])
        // Labels match as a set, in any order, and a subset selects.
        #expect(parsed.samples.map(\.metric) == ["node_load1", "node_filesystem_avail_bytes{mountpoint=\"/\"}",
                                                 "quoted{path=\"C:\\\\temp\\\"x\\\"\"}"])
        #expect(parsed.samples[1].value == 1.2e10 && parsed.samples[1].at.hasPrefix("2026-11-23"))
        #expect(parsed.lines == [3, 4, 13])
        // /data's series, eth0 and the entropy line are not selected by any metric.
        #expect(parsed.skipped == 3)
        #expect(parsed.rejected.map(\.number) == [7, 9, 10, 11, 12], "\(parsed.rejected)")
        #expect(parsed.rejected[0].reason.contains("not a measurement"))
    }

    @Test func seriesSelectorsAreLabelSets() throws {
        let selector = try #require(SeriesSelector("node_filesystem_avail_bytes{mountpoint=\"/\"}"))
        #expect(selector.selects(try #require(SeriesSelector("node_filesystem_avail_bytes{fstype=\"xfs\",mountpoint=\"/\"}"))))
        #expect(!selector.selects(try #require(SeriesSelector("node_filesystem_avail_bytes{mountpoint=\"/boot\"}"))))
        #expect(SeriesSelector("disk (GB)") == nil && SeriesSelector("a{b=\"1\",b=\"2\"}") == nil)
    }

    @Test func everySampleIsCheckedOnItsOwnAndTheFutureIsRefused() async throws {
        let (store, pool) = try await makeCapacityStore("capsampletime")
        let now = Date()
        let result = try await store.ingest([
            Sample(resource: "db-1", metric: "cpu", at: now.addingTimeInterval(-60).formatted(stamp), value: 20),
            Sample(resource: "db-1", metric: "cpu", at: "9999-12-31T00:00:00Z", value: 99),
            Sample(resource: "db-1", metric: "cpu", at: "2026-02-30T10:00:00Z", value: 1),
            Sample(resource: "db-1", metric: "cpu", at: "0000-01-01T00:00:00Z", value: 1),
            Sample(resource: "db-1", metric: "cpu", at: now.addingTimeInterval(120).formatted(stamp), value: 30), // within the skew
        ], now: now)
        #expect(result.accepted == 2)
        #expect(result.rejected.map(\.index) == [1, 2, 3], "\(result.rejected)")
        #expect(result.rejected[0].reason.contains("in the future"))
        #expect(try await pool.query("SELECT count(*) AS n FROM capacity.sample").single().decode(Int.self, "n") == 2)
        // Newer real samples still move the metric.
        _ = try await store.ingest([Sample(resource: "db-1", metric: "cpu", at: now.addingTimeInterval(180).formatted(stamp), value: 95)],
                                   now: now.addingTimeInterval(180))
        #expect(try await store.metrics().first { $0.name == "cpu" }?.state == "critical")
    }
}

@Suite struct CapacityThresholdTests {
    @Test func hysteresisKeepsAFlappingMetricQuiet() {
        func next(_ value: Double, _ current: String) -> String {
            CapacityStore.state(for: value, current: current, warning: 80, critical: 90, limit: 100, hysteresisPercent: 5)
        }
        #expect(next(79, "ok") == "ok" && next(80, "ok") == "warning" && next(95, "ok") == "critical")
        #expect(next(76, "warning") == "warning" && next(74, "warning") == "ok")
        #expect(next(86, "critical") == "critical" && next(84, "critical") == "warning" && next(70, "critical") == "ok")
    }

    @Test func aBreachOpensOneIncidentAndClearsOnce() async throws {
        let (store, pool) = try await makeCapacityStore("capbreach")
        var at = Date().addingTimeInterval(-3600)
        func feed(_ values: [Double]) async throws {
            for value in values {
                at = at.addingTimeInterval(60)
                _ = try await store.ingest([Sample(resource: "db-1", metric: "cpu", at: at.formatted(stamp), value: value)])
            }
        }
        let creates = Mutex<[(CreateIncident, String)]>([])
        let updates = Mutex<[UpdateIncident]>([])
        let opened = Incident(id: UUID(), number: "INC-000042", type: .incident, title: "", description: "", impact: .medium,
                              urgency: .medium, priority: Priority(rawValue: 3)!, status: .new, reopenCount: 0, major: false,
                              escalationLevel: 0, createdBy: "plugin:capacity", createdAt: Date(), updatedAt: Date())
        let calls = CapacityStore.IncidentCalls(
            create: { params, key in
                creates.withLock { $0.append((params, key)) }
                return opened
            },
            update: { params in
                updates.withLock { $0.append(params) }
                return opened
            })
        try await feed([50, 82, 79, 81])  // warning, stays (hysteresis)
        try await store.openIncidentsForBreaches(calls)
        try await store.openIncidentsForBreaches(calls)
        #expect(creates.withLock { $0.count } == 1 && updates.withLock { $0.isEmpty })
        let created = try #require(creates.withLock { $0.first })
        #expect(created.0.title.contains("db-1 cpu") && created.0.service == "billing" && created.0.impact == .medium)
        #expect(created.0.category == "capacity" && created.1.hasPrefix("capacity-breach-"))
        // Warning becomes critical: the same incident is raised, once.
        try await feed([95, 88])
        try await store.openIncidentsForBreaches(calls)
        try await store.openIncidentsForBreaches(calls)
        #expect(creates.withLock { $0.count } == 1 && updates.withLock { $0.count } == 1)
        let raised = try #require(updates.withLock { $0.last })
        #expect(raised.number == "INC-000042" && raised.impact == .high && raised.urgency == .high)
        #expect(raised.title?.hasPrefix("Capacity critical: db-1 cpu at 95") == true)
        try await feed([60])
        let events = try await pool.query("SELECT type FROM itsm.outbox ORDER BY id").map { try $0.decode(String.self, "type") }
        #expect(events == ["capacity.threshold_breached", "capacity.threshold_breached", "capacity.threshold_cleared"])
        let breach = try await pool.query("SELECT level, incident, cleared_at IS NOT NULL AS cleared FROM capacity.breach").single()
        #expect(try breach.decode(String.self, "level") == "critical" && breach.decode(String?.self, "incident") == "INC-000042")
        #expect(try breach.decode(Bool.self, "cleared"))

        // Without the incident process, a breach is still recorded, and says why it has no incident.
        try await feed([99])
        let disabled = ResponseError(code: .unavailable, kind: "plugin.disabled", message: "not enabled")
        try await store.openIncidentsForBreaches(.init(create: { _, _ throws(ResponseError) in throw disabled },
                                                       update: { _ throws(ResponseError) in throw disabled }))
        let second = try await pool.query("SELECT incident, note FROM capacity.breach WHERE cleared_at IS NULL").single()
        #expect(try second.decode(String?.self, "incident") == nil && second.decode(String?.self, "note")?.contains("not enabled") == true)
    }
}

@Suite struct CapacityFallingMetricTests {
    @Test func freeSpaceAlertsWhenLowAndIsForecastDownwards() async throws {
        let (store, pool) = try await makeCapacityStore("capbelow")
        _ = try await store.define(DefineResource(name: "db-1", service: "billing", metrics: [
            .init(name: "disk_free", unit: "GB", limit: 0, warning: 100, critical: 50, direction: .below),
        ]), actor: "a")
        #expect(CapacityStore.state(for: 120, current: "ok", warning: 100, critical: 50, limit: 0, hysteresisPercent: 5, direction: .below) == "ok")
        #expect(CapacityStore.state(for: 100, current: "ok", warning: 100, critical: 50, limit: 0, hysteresisPercent: 5, direction: .below) == "warning")
        #expect(CapacityStore.state(for: 103, current: "warning", warning: 100, critical: 50, limit: 0, hysteresisPercent: 5, direction: .below) == "warning")
        #expect(CapacityStore.state(for: 106, current: "warning", warning: 100, critical: 50, limit: 0, hysteresisPercent: 5, direction: .below) == "ok")
        #expect(CapacityStore.state(for: 40, current: "ok", warning: 100, critical: 50, limit: 0, hysteresisPercent: 5, direction: .below) == "critical")
        let invalid = await #expect(throws: ResponseError.self) {
            try await store.define(DefineResource(name: "db-2", metrics: [
                .init(name: "free", unit: "GB", limit: 0, warning: 10, critical: 50, direction: .below)]), actor: "a")
        }
        #expect(invalid?.message.contains("warning >= critical >= limit") == true)

        // 300 GB free, losing 5 GB a day: 50 GB (critical) in ~50 days, 0 in ~60.
        let today = Calendar(identifier: .gregorian).startOfDay(for: Date())
        let samples = (0..<30).map { day in
            Sample(resource: "db-1", metric: "disk_free", at: today.addingTimeInterval(Double(day - 30) * 86_400 + 43_200).formatted(stamp),
                   value: 445 - 5 * Double(day))
        }
        _ = try await store.ingest(samples)
        let forecast = try await store.forecast(resource: "db-1", metric: "disk_free")
        #expect(forecast.direction == .below && forecast.series == .min)
        let limit = try #require(forecast.limit?.expected)
        #expect(abs(limit.timeIntervalSince(today.addingTimeInterval(59.5 * 86_400))) < 3 * 86_400, "\(limit)")

        _ = try await store.ingest([Sample(resource: "db-1", metric: "disk_free", at: Date().addingTimeInterval(-60).formatted(stamp), value: 90)])
        _ = try await store.ingest([Sample(resource: "db-1", metric: "disk_free", at: Date().formatted(stamp), value: 45)])
        let events = try await pool.query("SELECT payload->>'to' AS state FROM itsm.outbox WHERE type = 'capacity.threshold_breached'")
        #expect(try events.map { try $0.decode(String.self, "state") } == ["warning", "critical"])
    }
}

@Suite struct CapacityForecastTests {
    @Test func peaksReachTheLimitBeforeAveragesAndThePlanSaysWhichItFollows() async throws {
        let (store, _) = try await makeCapacityStore("cappeaks")
        // CPU hourly for 28 days: 40 % on average at first, rising 1 % a day, with a daily peak 25 % above the mean
        // in the afternoon. The peaks reach 90 % (critical) around day 25; the averages not for 50 days.
        let today = Calendar(identifier: .gregorian).startOfDay(for: Date())
        var samples: [Sample] = []
        for hour in 0..<(28 * 24) {
            let day = Double(hour / 24)
            let bump: Double = (13...16).contains(hour % 24) ? 25 : -5
            let at: Date = today.addingTimeInterval(Double(hour - 28 * 24) * 3600)
            samples.append(Sample(resource: "db-1", metric: "cpu", at: at.formatted(stamp), value: 40 + day + bump))
        }
        for start in stride(from: 0, to: samples.count, by: 5000) {
            _ = try await store.ingest(Array(samples[start..<min(start + 5000, samples.count)]))
        }
        let forecast = try await store.forecast(resource: "db-1", metric: "cpu")
        #expect(forecast.granularity == "day" && forecast.series == .max)
        let critical = try #require(forecast.critical?.expected)
        // Peaks on the last day are 40 + 27 + 25 = 92: critical is reached now or tomorrow, not in weeks.
        #expect(critical.timeIntervalSince(today) < 3 * 86_400, "\(critical)")
        let plan = try await store.plan(service: "billing")
        #expect(plan.markdown.contains("| daily max |"), "\(plan.markdown)")
    }

    @Test func aStaleMetricIsNotAnnouncedAndThePlanSaysSo() async throws {
        var settings = CapacitySettings()
        settings.horizonDays = 365
        let (store, pool) = try await makeCapacityStore("capstale", settings: settings)
        // 60 days of growth that stopped reporting 40 days ago.
        let today = Calendar(identifier: .gregorian).startOfDay(for: Date())
        let samples = (0..<60).map { day in
            Sample(resource: "db-1", metric: "disk", at: today.addingTimeInterval(Double(day - 99) * 86_400).formatted(stamp),
                   value: 300 + 3 * Double(day))
        }
        _ = try await store.ingest(samples)
        let forecast = try await store.forecast(resource: "db-1", metric: "disk")
        #expect(forecast.stale && forecast.note?.contains("no sample since") == true)
        #expect(try await store.announceExhaustion().isEmpty)
        #expect(try await pool.query("SELECT count(*) AS n FROM itsm.outbox WHERE type = 'capacity.exhaustion_forecast'")
            .single().decode(Int.self, "n") == 0)
        let plan = try await store.plan(service: "billing")
        #expect(plan.items.first { $0.metric.name == "disk" }?.recommendation.hasPrefix("Check collection") == true)
        #expect(plan.markdown.contains("(stale)"))
    }

    @Test func anHourlySeasonalMetricWithWholeDaysOfPointsIsPlanned() async throws {
        let (store, _) = try await makeCapacityStore("capwholedays")
        // Exactly 10 days of hours (a multiple of the 24-hour season), fitted by Holt-Winters.
        let today = Calendar(identifier: .gregorian).startOfDay(for: Date())
        let samples = (0..<240).map { (hour: Int) -> Sample in
            let at: Date = today.addingTimeInterval(Double(hour - 240) * 3600 + 1800)
            let swing: Double = 15 * sin(2 * Double.pi * Double(hour % 24) / 24)
            return Sample(resource: "db-1", metric: "cpu", at: at.formatted(stamp), value: 40 + 0.02 * Double(hour) + swing)
        }
        _ = try await store.ingest(samples)
        let forecast = try await store.forecast(resource: "db-1", metric: "cpu")
        #expect(forecast.granularity == "hour" && forecast.forecast?.points == 240 && forecast.forecast?.model == .holtWinters)
        let plan = try await store.plan(service: "billing")
        let cpu = try #require(plan.items.first { $0.metric.name == "cpu" })
        #expect(cpu.trendPerDay.map { abs($0 - 0.48) < 0.2 } == true, "\(cpu.trendPerDay ?? -1)")
    }

    @Test func exhaustionIsForecastAnnouncedOnceAndPlanned() async throws {
        var settings = CapacitySettings()
        settings.horizonDays = 120
        let (store, pool) = try await makeCapacityStore("capforecast", settings: settings)
        // 60 days (to yesterday noon) of disk growing 3 GB a day from 250 GB: the 500 GB limit is ~23 days after the last.
        let today = Calendar(identifier: .gregorian).startOfDay(for: Date())
        var samples: [Sample] = []
        for day in 0..<60 {
            let at = today.addingTimeInterval(Double(day - 60) * 86_400 + 43_200)
            samples.append(Sample(resource: "db-1", metric: "disk", at: at.formatted(stamp), value: 250 + 3 * Double(day) + (day % 3 == 0 ? 2 : -1)))
        }
        _ = try await store.ingest(samples)
        let forecast = try await store.forecast(resource: "db-1", metric: "disk")
        #expect(forecast.granularity == "day" && forecast.forecast?.model == .linear)
        let expected = try #require(forecast.limit?.expected)
        #expect(abs(expected.timeIntervalSince(today.addingTimeInterval(23.5 * 86_400))) < 3 * 86_400, "\(expected)")
        #expect(forecast.warning?.expected ?? .distantFuture < expected)

        #expect(try await store.announceExhaustion() == ["db-1/disk \(expected.formatted(Date.ISO8601FormatStyle().year().month().day()))"])
        #expect(try await store.announceExhaustion().isEmpty) // same date: not again
        let payload = try await pool.query("SELECT payload FROM itsm.outbox WHERE type = 'capacity.exhaustion_forecast'").single()
            .decode(PostgresJSON.self, "payload").text
        #expect(payload.contains("\"service\":\"billing\"") || payload.contains("\"service\": \"billing\""))

        let plan = try await store.plan(service: "billing")
        let disk = try #require(plan.items.first { $0.metric.name == "disk" })
        #expect(disk.recommendation.hasPrefix("Add capacity now") && disk.chart.hasPrefix("<svg") && disk.chart.contains("polyline"))
        #expect(plan.markdown.contains("| db-1 | disk (GB) |"))
        let cpu = try #require(plan.items.first { $0.metric.name == "cpu" })
        #expect(cpu.recommendation == "Collect more data to forecast.")
    }

    @Test func serviceDeskGroupsAreHumanCapacity() async throws {
        var settings = CapacitySettings()
        settings.hoursPerIncident = 4
        let (store, pool) = try await makeCapacityStore("capgroup", settings: settings)
        _ = try await store.define(DefineResource(name: "service-desk-l2", kind: "human", metrics: [
            .init(name: "workload", unit: "hours/week", limit: 80, warning: 60, critical: 72),
        ]), actor: "a")
        let now = Date()
        try await store.database.withTransaction { tx in
            for n in 0..<16 {
                try await store.observe(tx, incident: Incident(
                    id: UUID(), number: "INC-\(n)", type: .incident, title: "work", description: "", impact: .medium, urgency: .medium,
                    priority: Priority(rawValue: 3)!, status: n < 15 ? .assigned : .resolved, assignmentGroup: "service-desk-l2",
                    reopenCount: 0, major: false, escalationLevel: 0, createdBy: "test", createdAt: now, updatedAt: now))
            }
        }
        let result = try await store.sampleWorkload()
        #expect(result.thresholdChanges == ["service-desk-l2/workload: ok → warning"]) // 15 open x 4 h = 60 h of 80
        #expect(try await pool.query("SELECT last_value FROM capacity.metric WHERE name = 'workload'").single().decode(Double.self, "last_value") == 60)
    }
}
