import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Logging
import Testing

/// The capacity process with the incident and improvement processes, as a capacity manager uses it.
@Suite(.serialized) struct CapacityEndToEndTests {
    @Test func aBreachOpensOneIncidentAndAForecastReachesTheImprovementRegister() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2ecapacity")
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - incident
              - capacity
              - improvement
            """, databaseURL: database.conninfo, environment: ["ITSM_CAPACITY_JOB_SECONDS": "1"])
        defer { coordinator.remove() }

        let defined = try await coordinator.cli(["capacity", "define", "db-1", "--service", "billing", "--ci", "DB-1",
                                                 "--metric", "disk:GB:500:400:450", "--metric", "cpu:%:100:80:90"])
        #expect(defined.status == .exited(0), "\(defined.text)")

        // Sixty days of disk growth, imported from CSV: the limit is about three weeks away.
        let csv = coordinator.directory + "/disk.csv"
        let day = 86_400.0
        let today = Calendar(identifier: .gregorian).startOfDay(for: Date())
        var lines = ["resource,metric,at,value"]
        for n in 0..<60 {
            lines.append("db-1,disk,\(today.addingTimeInterval(Double(n - 60) * day + 43_200).formatted(.iso8601)),\(250 + 3 * n)")
        }
        // A bad cell in the middle: nothing is imported, and the line is named.
        lines.insert("db-1,disk,not-a-time,1", at: 31)
        try lines.joined(separator: "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let refused = try await coordinator.cli(["capacity", "import", csv])
        #expect(refused.status == .exited(1) && refused.text.contains("line 32: at: 'not-a-time'")
                && refused.text.contains("nothing imported: 1 of 61 rows are invalid"), "\(refused.text)")
        let stored = try await coordinator.call("capacity.forecast", ["resource": "db-1", "metric": "disk"]).body
        #expect((stored["note"] as? String)?.contains("not enough data") == true, "\(stored)")
        // Small batches by bytes, the bad row skipped on request.
        let imported = try await coordinator.cli(["capacity", "import", csv, "--skip-invalid", "--batch-bytes", "1000"])
        #expect(imported.status == .exited(0) && imported.text.contains("60 samples imported, 1 rejected"), "\(imported.text)")

        var opportunities: [[String: Any]] = []
        #expect(try await coordinator.waitUntil {
            opportunities = (try await coordinator.call("improvement.list", ["status": "proposed"]).body["items"] as? [[String: Any]]) ?? []
            return opportunities.contains { $0["title"] as? String == "db-1 disk forecast to run out" }
        })
        try await Task.sleep(for: .seconds(2)) // more forecasts, same date: no second opportunity
        opportunities = (try await coordinator.call("improvement.list", ["status": "proposed"]).body["items"] as? [[String: Any]]) ?? []
        #expect(opportunities.filter { $0["title"] as? String == "db-1 disk forecast to run out" }.count == 1)
        let forecast = try await coordinator.cli(["capacity", "forecast", "db-1", "disk"])
        #expect(forecast.text.contains("model linear") && forecast.text.contains("limit     expected"), "\(forecast.text)")

        // CPU over critical, pushed in Prometheus format: one incident, however long it stays high.
        let now = Int(Date().timeIntervalSince1970 * 1000)
        for (offset, value) in [95, 97, 96].enumerated() {
            let body = Data("# TYPE cpu gauge\ncpu \(value) \(now + offset * 1000)\n".utf8)
            let (status, answer) = try await coordinator.request("POST", "api/v1/capacity/samples?resource=db-1", body: body,
                                                                 token: coordinator.token, headers: ["Content-Type": "text/plain"])
            #expect(status == 200, "\(String(decoding: answer, as: UTF8.self))")
        }
        func capacityIncidents() async throws -> [[String: Any]] {
            let incidents = try await coordinator.call("incident.list", ["limit": 50]).body["items"] as? [[String: Any]] ?? []
            return incidents.filter { ($0["title"] as? String)?.hasPrefix("Capacity critical: db-1 cpu") == true }
        }
        #expect(try await coordinator.waitUntil { try await !capacityIncidents().isEmpty })
        try await Task.sleep(for: .seconds(3)) // the maintenance job runs every second too: still one
        #expect(try await capacityIncidents().count == 1)
        #expect(try await capacityIncidents().first?["service"] as? String == "billing")

        let (planStatus, plan) = try await coordinator.request("GET", "api/v1/capacity/plan?service=billing&format=markdown", token: coordinator.token)
        #expect(planStatus == 200 && String(decoding: plan, as: UTF8.self).contains("| db-1 | disk (GB) |"))
        let written = try await coordinator.cli(["capacity", "plan", "--service", "billing", "--output", coordinator.directory + "/plan"])
        #expect(written.status == .exited(0) && FileManager.default.fileExists(atPath: coordinator.directory + "/plan/db-1-disk.svg"))

        // The same plan in the console, for a process owner, and not for a requester.
        for (name, role) in [("olga", "process-owner"), ("rita", "requester")] {
            #expect(try await coordinator.cli(["user", "create", name, "--role", role, "--password-stdin"],
                                              input: "\(name) has a long password\n").status == .exited(0))
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Browser/capacity_plan.py").standardized.path
        let browsed = try await Command.run(try ConsoleEndToEndTests.python(), [script, coordinator.baseURL.absoluteString])
        #expect(browsed.status == .exited(0) && browsed.text.contains("capacity plan: all steps passed"), "\(browsed.text)")
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func withoutTheIncidentProcessABreachIsStillRecorded() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2ecapalone")
        let coordinator = try await RunningCoordinator.start(configuration: "plugins:\n  - capacity\n", databaseURL: database.conninfo)
        defer { coordinator.remove() }
        #expect(try await coordinator.call("capacity.define", ["name": "fs-1", "metrics": [
            ["name": "disk", "unit": "%", "limit": 100, "warning": 80, "critical": 90],
        ]]).status == 200)
        let (status, result) = try await coordinator.call("capacity.ingest", ["samples": [
            ["resource": "fs-1", "metric": "disk", "at": Date().formatted(.iso8601), "value": 93],
        ]])
        #expect(status == 200 && (result["thresholdChanges"] as? [String]) == ["fs-1/disk: ok → critical"], "\(result)")
        let pool = PostgresPool(conninfo: database.conninfo, logger: Logger(label: "e2e"))
        defer { Task { await pool.close() } }
        let breach = try await pool.query("SELECT level, incident, note FROM capacity.breach").single()
        #expect(try breach.decode(String.self, "level") == "critical" && breach.decode(String?.self, "incident") == nil)
        #expect(try breach.decode(String?.self, "note")?.contains("incident process is not enabled") == true)
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func aLargeImportWithExporterNamesGoesInBatchesThatFitTheBodyLimit() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2ecapbatch")
        let coordinator = try await RunningCoordinator.start(configuration: "plugins:\n  - capacity\n", databaseURL: database.conninfo)
        defer { coordinator.remove() }
        // A realistic exporter name: some 170 bytes a sample, so 12,000 rows are about 2 MiB,
        // twice the request body limit; one batch of 10,000 rows was refused before.
        let name = #"node_filesystem_avail_bytes{device="/dev/mapper/vg0-root",fstype="ext4",mountpoint="/"}"#
        let defined = try await coordinator.cli(["capacity", "define", "fs-1", "--metric", "\(name):bytes:0:2e10:5e9:below"])
        #expect(defined.status == .exited(0), "\(defined.text)")
        let start = Date().addingTimeInterval(-12_000 * 60)
        var lines = ["resource,metric,at,value"]
        for minute in 0..<12_000 {
            let at = start.addingTimeInterval(Double(minute) * 60).formatted(.iso8601)
            lines.append("fs-1,\"\(name.replacingOccurrences(of: "\"", with: "\"\""))\",\(at),\(9e10 - Double(minute) * 1e6)")
        }
        let csv = coordinator.directory + "/exporter.csv"
        try lines.joined(separator: "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let imported = try await coordinator.cli(["capacity", "import", csv])
        #expect(imported.status == .exited(0) && imported.text.contains("12000 samples imported, 0 rejected"), "\(imported.text.suffix(600))")
        let pool = PostgresPool(conninfo: database.conninfo, logger: Logger(label: "e2e"))
        defer { Task { await pool.close() } }
        #expect(try await pool.query("SELECT count(*) AS n FROM capacity.sample").single().decode(Int.self, "n") == 12_000)
        #expect(await coordinator.stop() == .exited(0))
    }
}
