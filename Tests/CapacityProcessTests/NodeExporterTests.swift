import CapacityProcess
import Foundation
import ITSMProtocol
import ITSMSystem
import Testing

/// The scrape against a real Prometheus node exporter (Debian's prometheus-node-exporter,
/// installed by deploy/local/install-prerequisites.sh), started on loopback.
@Suite struct NodeExporterTests {
    static let executable = ["/usr/bin/prometheus-node-exporter", "/usr/bin/node_exporter"].first(where: FileManager.default.isExecutableFile)

    @Test func aRealExporterIsScrapedIntoTheMetricsItsSelectorsName() async throws {
        let executable = try #require(Self.executable, "prometheus-node-exporter is missing: run deploy/local/install-prerequisites.sh")
        for _ in 0..<5 {
            // The exporter cannot take port 0; a taken port makes it exit, and the next try picks another.
            let port = Int.random(in: 20_000..<60_000)
            let exporter = try ChildProcess.spawn(.init(
                executable: executable,
                arguments: ["--web.listen-address=127.0.0.1:\(port)", "--collector.disable-defaults", "--collector.filesystem",
                            "--collector.loadavg", "--collector.meminfo"],
                standardOutput: .null, standardError: .null))
            defer { exporter.signal(SIGKILL) }
            let settings = try CapacitySettings(config: ["scrape": [["url": .string("http://127.0.0.1:\(port)/metrics"), "resource": "host-1"]]])
            let (defaults, pool) = try await makeCapacityStore("capexporter\(port)", settings: settings)
            let store = CapacityStore(database: defaults.database, settings: settings)
            _ = try await store.define(DefineResource(name: "host-1", metrics: [
                // Written as the docs write it: a subset of the series' labels, in any order.
                .init(name: "node_filesystem_avail_bytes{mountpoint=\"/\"}", unit: "bytes", limit: 0, warning: 1e9, critical: 2e8,
                      direction: .below),
                .init(name: "node_memory_MemAvailable_bytes", unit: "bytes", limit: 0, warning: 1e8, critical: 5e7, direction: .below),
                .init(name: "node_load1", unit: "load", limit: 1000, warning: 900, critical: 950),
            ]), actor: "a")
            var report: [String] = []
            let deadline = ContinuousClock.now + .seconds(15)
            while ContinuousClock.now < deadline, exporter.status == nil {
                report = await store.scrape()
                if report.first?.hasPrefix("host-1: 3 samples, 0 rejected") == true { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            guard exporter.status == nil else { continue }
            #expect(report.first?.hasPrefix("host-1: 3 samples, 0 rejected") == true, "\(report)")
            // Everything else the exporter exposes is counted, not stored.
            let skipped = report.first.flatMap { $0.split(separator: ",").last?.split(separator: " ").first.flatMap { Int($0) } } ?? 0
            #expect(skipped > 20, "\(report)")
            let values = try await store.metrics().filter { $0.resource == "host-1" }
            #expect(values.count == 3 && values.allSatisfy { ($0.lastValue ?? -1) >= 0 }, "\(values)")
            #expect(try await pool.query("SELECT count(*) AS n FROM capacity.sample").single().decode(Int.self, "n") == 3)
            return
        }
        Issue.record("the node exporter did not start on any of five ports")
    }
}
