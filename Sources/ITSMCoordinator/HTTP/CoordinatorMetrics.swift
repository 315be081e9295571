import Foundation
import ITSMPostgres
import Metrics
import Prometheus
import Synchronization

/// The coordinator's own figures in the Prometheus text format, served at `GET /metrics`:
/// HTTP requests by route and status with their durations (Hummingbird's `MetricsMiddleware`),
/// RPC calls by method and outcome with their durations (`MethodRouter`), and, read at each
/// scrape, plugin instances by state, events waiting per subscriber and the age of the oldest,
/// and the process's memory and descriptors.
final class CoordinatorMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// Subscribers seen with events waiting, so one whose queue emptied reads 0, not its last figure.
    private let subscribers = Mutex<Set<String>>([])

    /// Makes swift-metrics report into this registry; once per process.
    static func bootstrap() -> CoordinatorMetrics {
        let metrics = CoordinatorMetrics()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.registry))
        return metrics
    }

    /// The exposition, with the scrape-time figures brought up to date first.
    func exposition(router: MethodRouter, pool: PostgresPool) async -> [UInt8] {
        for plugin in router.enabledPlugins {
            var counts: [PluginStatus.State: Int] = [:]
            for instance in router.instances(of: plugin) { counts[await instance.snapshot.state, default: 0] += 1 }
            counts[.disconnected, default: 0] += router.departures(of: plugin).count
            for state in [PluginStatus.State.starting, .running, .standby, .restarting, .failed, .disconnected] {
                registry.makeGauge(name: "itsm_plugin_instances", labels: [("plugin", plugin), ("state", state.rawValue)],
                                   help: "Instances of each enabled plugin, by state").set(Double(counts[state] ?? 0))
            }
        }
        if let rows = try? await pool.query("""
            SELECT d.subscriber, count(*) AS waiting, extract(epoch FROM now() - min(o.occurred_at))::float8 AS oldest
            FROM itsm.delivery d JOIN itsm.outbox o ON o.id = d.outbox_id
            WHERE d.delivered_at IS NULL GROUP BY d.subscriber
            """) {
            var waiting: [String: (Int, Double)] = [:]
            for row in rows {
                if let subscriber = try? row.decode(String.self, "subscriber") {
                    waiting[subscriber] = ((try? row.decode(Int.self, "waiting")) ?? 0, (try? row.decode(Double.self, "oldest")) ?? 0)
                }
            }
            let known = subscribers.withLock { $0.formUnion(waiting.keys); return $0 }
            for subscriber in known {
                let (count, age) = waiting[subscriber] ?? (0, 0)
                registry.makeGauge(name: "itsm_events_waiting", labels: [("subscriber", subscriber)],
                                   help: "Events not yet delivered to each subscriber").set(Double(count))
                registry.makeGauge(name: "itsm_events_oldest_waiting_seconds", labels: [("subscriber", subscriber)],
                                   help: "Age of the oldest event not yet delivered to each subscriber").set(age)
            }
        }
        registry.makeGauge(name: "process_resident_memory_bytes", help: "Resident memory of the coordinator").set(Self.residentBytes())
        registry.makeGauge(name: "process_open_fds", help: "Descriptors the coordinator holds open").set(Self.openDescriptors())
        return registry.emitToBuffer()
    }

    private static func residentBytes() -> Double {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = statm.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE)))
    }

    private static func openDescriptors() -> Double {
        Double((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0)
    }
}
