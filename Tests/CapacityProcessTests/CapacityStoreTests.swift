import CapacityProcess
import Foundation
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
        let hour = try await pool.query("""
            SELECT min, avg, max, samples FROM capacity.rollup WHERE granularity = 'hour' AND bucket = '2026-11-20T10:00:00Z'
            """).single()
        #expect(try hour.decode(Double.self, "min") == 300 && hour.decode(Double.self, "max") == 320 && hour.decode(Double.self, "avg") == 310)
        #expect(try await pool.query("SELECT samples FROM capacity.rollup WHERE granularity = 'day'").single().decode(Int.self, "samples") == 3)
        // The newest sample sets the state, whatever order they came in.
        #expect(try await store.metrics().first { $0.name == "disk" }?.lastValue == 320)
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

    @Test func prometheusTextIsParsedForDefinedSeriesOnly() {
        let body = """
            # HELP node_load1 1m load average.
            # TYPE node_load1 gauge
            node_load1 3.5
            node_filesystem_avail_bytes{mountpoint="/",fstype="ext4"} 1.2e10 1795454529000
            node_network_receive_bytes_total{device="eth0"} 123
            broken_line_without_value
            """
        let parsed = PrometheusText.parse(body, resource: "db-1",
                                          metrics: ["node_load1", "node_filesystem_avail_bytes{fstype=\"ext4\",mountpoint=\"/\"}"])
        #expect(parsed.samples.map(\.metric) == ["node_load1", "node_filesystem_avail_bytes{fstype=\"ext4\",mountpoint=\"/\"}"])
        #expect(parsed.samples[1].value == 1.2e10 && parsed.samples[1].at.hasPrefix("2026-11-23"))
        #expect(parsed.skipped == 1 && parsed.malformed.count == 1)
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
        let calls = Mutex<[String]>([])
        let open: @Sendable (JSONValue, String) async throws(ResponseError) -> JSONValue = { params, key in
            calls.withLock { $0.append(key) }
            #expect(params["title"]?.stringValue?.contains("db-1 cpu") == true && params["service"]?.stringValue == "billing")
            return ["number": "INC-000042"]
        }
        try await feed([50, 82, 79, 81, 95, 88])  // warning, stays (hysteresis), critical, stays
        try await store.openIncidentsForBreaches(createIncident: open)
        try await store.openIncidentsForBreaches(createIncident: open)
        #expect(calls.withLock { $0.count } == 1)
        try await feed([60])
        let events = try await pool.query("SELECT type FROM itsm.outbox ORDER BY id").map { try $0.decode(String.self, "type") }
        #expect(events == ["capacity.threshold_breached", "capacity.threshold_breached", "capacity.threshold_cleared"])
        let breach = try await pool.query("SELECT level, incident, cleared_at IS NOT NULL AS cleared FROM capacity.breach").single()
        #expect(try breach.decode(String.self, "level") == "critical" && breach.decode(String?.self, "incident") == "INC-000042")
        #expect(try breach.decode(Bool.self, "cleared"))

        // Without the incident process, a breach is still recorded, and says why it has no incident.
        try await feed([99])
        try await store.openIncidentsForBreaches { _, _ throws(ResponseError) in
            throw ResponseError(code: .unavailable, kind: "plugin.disabled", message: "not enabled")
        }
        let second = try await pool.query("SELECT incident, note FROM capacity.breach WHERE cleared_at IS NULL").single()
        #expect(try second.decode(String?.self, "incident") == nil && second.decode(String?.self, "note")?.contains("not enabled") == true)
    }
}

@Suite struct CapacityForecastTests {
    @Test func exhaustionIsForecastAnnouncedOnceAndPlanned() async throws {
        var settings = CapacitySettings()
        settings.horizonDays = 120
        let (store, pool) = try await makeCapacityStore("capforecast", settings: settings)
        // 60 days of disk growing 3 GB a day from 250 GB: the 500 GB limit is ~23 days after the last.
        let today = Calendar(identifier: .gregorian).startOfDay(for: Date())
        var samples: [Sample] = []
        for day in 0..<60 {
            let at = today.addingTimeInterval(Double(day - 59) * 86_400 + 43_200)
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
                try await store.observe(tx, incident: ["id": .string(UUID().uuidString), "assignmentGroup": "service-desk-l2",
                                                       "status": n < 15 ? "assigned" : "resolved", "updatedAt": .string(now.formatted(stamp))])
            }
        }
        let result = try await store.sampleWorkload()
        #expect(result.thresholdChanges == ["service-desk-l2/workload: ok → warning"]) // 15 open x 4 h = 60 h of 80
        #expect(try await pool.query("SELECT last_value FROM capacity.metric WHERE name = 'workload'").single().decode(Double.self, "last_value") == 60)
    }
}
