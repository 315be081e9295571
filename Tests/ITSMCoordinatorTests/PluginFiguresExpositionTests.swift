@testable import ITSMCoordinator
import ITSMProtocol
import Testing

/// The plugins' own figures as the coordinator serves them at /metrics.
@Suite struct PluginFiguresExpositionTests {
    @Test func eachFamilyOnceLabelledByTheCoordinatorWithOnlyWhatAPluginMayName() {
        let incident = MetricsResult(metrics: [
            MetricFamily(name: "itsm_plugin_requests_total", help: "Requests \"answered\"", type: .counter, samples: [
                .init(labels: ["method": "incident.create", "outcome": "ok", "plugin": "forged"], value: 5),
                .init(labels: ["Bad-Label": "x", "method": "incident.get"], value: .infinity),
            ]),
            // Not a name a plugin may use: the coordinator's own, and another plugin's.
            MetricFamily(name: "process_open_fds", help: "", type: .gauge, samples: [.init(value: 1)]),
            MetricFamily(name: "problem_backlog", help: "", type: .gauge, samples: [.init(value: 1)]),
            MetricFamily(name: "incident_open", help: "Open records", type: .gauge, samples: [.init(labels: ["note": "a\nb"], value: 12)]),
        ])
        let problem = MetricsResult(metrics: [
            MetricFamily(name: "itsm_plugin_requests_total", help: "Requests", type: .counter, samples: [
                .init(labels: ["method": "problem.list", "outcome": "ok"], value: 2),
            ]),
        ])
        let text = CoordinatorMetrics.exposition([(plugin: "incident", instance: "incident-1", result: incident),
                                                  (plugin: "problem", instance: "pid 42", result: problem)])
        #expect(text == """
            # HELP incident_open Open records
            # TYPE incident_open gauge
            incident_open{instance="incident-1",note="a\\nb",plugin="incident"} 12.0
            # HELP itsm_plugin_requests_total Requests \\"answered\\"
            # TYPE itsm_plugin_requests_total counter
            itsm_plugin_requests_total{instance="incident-1",method="incident.create",outcome="ok",plugin="incident"} 5.0
            itsm_plugin_requests_total{instance="pid 42",method="problem.list",outcome="ok",plugin="problem"} 2.0

            """)
    }
}
