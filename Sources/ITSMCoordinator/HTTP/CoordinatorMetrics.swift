import Foundation
import ITSMPostgres
import ITSMProtocol
import ITSMTransport
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
        return registry.emitToBuffer() + Array(Self.exposition(await pluginFigures(router: router)).utf8)
    }

    /// Each ready instance's own figures (`$/metrics`), all asked at once with a short deadline,
    /// so a slow or silent plugin costs the scrape a second, not its answer. A plugin with none
    /// answers -32601 and is left out.
    func pluginFigures(router: MethodRouter) async -> [(plugin: String, instance: String, result: MetricsResult)] {
        var asked: [(plugin: String, instance: String, connection: JSONRPCConnection)] = []
        for plugin in router.enabledPlugins {
            for (index, instance) in router.instances(of: plugin).enumerated() {
                guard let connection = instance.readyConnection else { continue }
                let status = await instance.snapshot
                asked.append((plugin, status.instance ?? status.pid.map { "pid \($0)" } ?? "\(plugin)-\(index + 1)", connection))
            }
        }
        return await withTaskGroup(of: (String, String, MetricsResult?).self) { group in
            for (plugin, instance, connection) in asked {
                group.addTask {
                    let answer = try? await connection.request(ProtocolMethod.metrics, timeout: .seconds(1))
                    return (plugin, instance, answer.flatMap { try? $0.decode(MetricsResult.self) })
                }
            }
            var results: [(plugin: String, instance: String, result: MetricsResult)] = []
            for await (plugin, instance, result) in group {
                if let result { results.append((plugin, instance, result)) }
            }
            return results.sorted { ($0.plugin, $0.instance) < ($1.plugin, $1.instance) }
        }
    }

    /// The plugins' figures in the Prometheus text format, each family once with its samples
    /// from every instance, labelled `plugin` and `instance` by the coordinator (a plugin's own
    /// labels of those names are replaced). Only names a plugin may use (`itsm_plugin_…` or
    /// `<plugin>_…`) and valid label names are kept, at most 1,000 samples an instance.
    static func exposition(_ answers: [(plugin: String, instance: String, result: MetricsResult)]) -> String {
        var families: [String: (help: String, type: MetricFamily.Kind, lines: [String])] = [:]
        for (plugin, instance, result) in answers {
            var budget = 1000
            for family in result.metrics where Self.mayUse(family.name, plugin: plugin) {
                var entry = families[family.name] ?? (String(family.help.prefix(200)), family.type, [])
                guard entry.type == family.type else { continue }  // another plugin's family of that name has another type
                for sample in family.samples where budget > 0 && sample.value.isFinite {
                    budget -= 1
                    var labels = sample.labels.filter { Self.isName($0.key) && $0.key != "plugin" && $0.key != "instance" }
                    labels["plugin"] = plugin
                    labels["instance"] = instance
                    let text = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(Self.escaped($0.value))\"" }.joined(separator: ",")
                    entry.lines.append("\(family.name){\(text)} \(sample.value)")
                }
                families[family.name] = entry
            }
        }
        return families.sorted { $0.key < $1.key }.map { name, entry in
            "# HELP \(name) \(Self.escaped(entry.help))\n# TYPE \(name) \(entry.type.rawValue)\n" + entry.lines.map { $0 + "\n" }.joined()
        }.joined()
    }

    static func mayUse(_ name: String, plugin: String) -> Bool {
        (name.hasPrefix("itsm_plugin_") || name.hasPrefix(plugin.replacingOccurrences(of: "-", with: "_") + "_"))
            && isName(name) && name.count <= 200
    }

    /// Lowercase letters, digits and underscores, starting with a letter: what both metric and
    /// label names allow, kept narrow.
    static func isName(_ text: String) -> Bool {
        guard let head = text.first, ("a"..."z").contains(head) else { return false }
        return text.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// A label value or help text as the text format wants it: backslash, quote and newline escaped.
    static func escaped(_ text: String) -> String {
        String(text.prefix(200)).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
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
