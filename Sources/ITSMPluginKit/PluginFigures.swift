import ITSMProtocol
import Synchronization

/// What the kit counts for every plugin, answered to `$/metrics`: requests by method and
/// outcome with their total duration, and events handled by type and outcome. The coordinator
/// counts the same calls from its side (`itsm_rpc_*`); these add what only the plugin sees:
/// its events, and its time without the transport.
final class PluginFigures: Sendable {
    private struct Key: Hashable {
        var name: String
        var outcome: String
    }

    private struct Figures {
        var requests: [Key: Double] = [:]
        var seconds: [String: Double] = [:]
        var events: [Key: Double] = [:]
    }

    private let figures = Mutex(Figures())

    /// `ok`, or the refusal's kind (`incident.not_found`), as the coordinator counts calls;
    /// never the message.
    static func outcome(of error: (any Error)?) -> String {
        guard let error else { return "ok" }
        return (error as? ResponseError)?.kind ?? "error"
    }

    func request(_ method: String, outcome: String, seconds: Double) {
        figures.withLock {
            $0.requests[Key(name: method, outcome: outcome), default: 0] += 1
            $0.seconds[method, default: 0] += seconds
        }
    }

    func event(_ type: String, outcome: String) {
        figures.withLock { $0.events[Key(name: type, outcome: outcome), default: 0] += 1 }
    }

    var result: MetricsResult {
        let now = figures.withLock { $0 }
        func samples(_ counts: [Key: Double], _ label: String) -> [MetricFamily.Sample] {
            counts.sorted { ($0.key.name, $0.key.outcome) < ($1.key.name, $1.key.outcome) }
                .map { MetricFamily.Sample(labels: [label: $0.key.name, "outcome": $0.key.outcome], value: $0.value) }
        }
        return MetricsResult(metrics: [
            MetricFamily(name: "itsm_plugin_requests_total", help: "Requests the plugin answered, by method and outcome",
                         type: .counter, samples: samples(now.requests, "method")),
            MetricFamily(name: "itsm_plugin_request_seconds_total", help: "Time spent answering requests, by method",
                         type: .counter, samples: now.seconds.sorted { $0.key < $1.key }.map { .init(labels: ["method": $0.key], value: $0.value) }),
            MetricFamily(name: "itsm_plugin_events_total", help: "Events the plugin handled, by type and outcome",
                         type: .counter, samples: samples(now.events, "type")),
        ])
    }
}
