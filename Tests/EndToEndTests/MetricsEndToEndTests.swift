import Foundation
import ITSMEndToEndTesting
import ITSMSystem
import ITSMTesting
import Testing

/// The coordinator's `/metrics`, scraped by a real Prometheus server (Debian's `prometheus`,
/// started here on loopback) and queried through its API, as an operator's dashboards would.
@Suite struct MetricsEndToEndTests {
    static let prometheus = "/usr/bin/prometheus"

    /// The first sample of a PromQL query's answer, nil while there is none.
    static func query(_ port: Int, _ promQL: String) async throws -> Double? {
        var components = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/query")!
        components.queryItems = [URLQueryItem(name: "query", value: promQL)]
        let (_, body) = try await HTTPExchange.send("GET", components.url!, timeout: .seconds(5))
        let data = (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["data"] as? [String: Any]
        let value = ((data?["result"] as? [[String: Any]])?.first?["value"] as? [Any])?.last as? String
        return value.flatMap(Double.init)
    }

    @Test func prometheusScrapesRequestsPluginsAndTheProcess() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.prometheus), "prometheus is missing: run deploy/local/install-prerequisites.sh")
        let database = try await TestPostgres.makeDatabase(label: "e2emetrics")
        let coordinator = try await RunningCoordinator.start(configuration: "plugins: [incident, problem]", databaseURL: database.conninfo)
        defer { coordinator.remove() }
        // Only a token with metrics.read may scrape.
        #expect(try await coordinator.request("GET", "metrics").0 == 401)
        let scraper = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "prometheus", permissions: ["metrics.read"])
        #expect(try await coordinator.request("GET", "metrics", token: scraper).0 == 200)
        let reader = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "reader", permissions: ["incident.read"])
        #expect(try await coordinator.request("GET", "metrics", token: reader).0 == 403)
        for index in 0..<5 { #expect(try await coordinator.call("incident.create", ["title": "metric \(index)"]).status == 200) }
        #expect(try await coordinator.call("incident.get", ["number": "INC-999999"]).status == 404)

        let tokenFile = coordinator.directory + "/prometheus.token"
        try scraper.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let target = "\(coordinator.baseURL.host!):\(coordinator.baseURL.port!)"
        try """
            global: {scrape_interval: 1s}
            scrape_configs:
              - job_name: itsm
                authorization: {credentials_file: \(tokenFile)}
                static_configs: [{targets: ["\(target)"]}]
            """.write(toFile: coordinator.directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        for _ in 0..<5 {
            // Prometheus cannot take port 0; a taken port makes it exit, and the next try picks another.
            let port = Int.random(in: 20_000..<60_000)
            let server = try ChildProcess.spawn(.init(
                executable: Self.prometheus,
                arguments: ["--config.file=\(coordinator.directory)/prometheus.yml", "--storage.tsdb.path=\(coordinator.directory)/tsdb",
                            "--web.listen-address=127.0.0.1:\(port)"],
                standardOutput: .null, standardError: .file(coordinator.directory + "/prometheus.log")))
            defer { server.signal(SIGKILL) }
            let scraped = try await coordinator.waitUntil(timeout: .seconds(60)) {
                guard server.status == nil else { return true } // exited: try another port
                return try await Self.query(port, #"up{job="itsm"}"#) == 1
            }
            guard server.status == nil else { continue }
            #expect(scraped, "\((try? String(contentsOfFile: coordinator.directory + "/prometheus.log", encoding: .utf8))?.suffix(2000) ?? "")")
            #expect(try await Self.query(port, #"itsm_rpc_requests_total{method="incident.create",outcome="ok"}"#) == 5)
            #expect(try await Self.query(port, #"itsm_rpc_requests_total{method="incident.get",outcome="incident.not_found"}"#) == 1)
            #expect(try await Self.query(port, #"itsm_rpc_duration_seconds_count{method="incident.create"}"#) == 5)
            #expect(try await Self.query(port, #"itsm_plugin_instances{plugin="incident",state="running"}"#) == 1)
            // The plugin's own figures, asked of it at each scrape ($/metrics) and labelled by the coordinator.
            #expect(try await Self.query(port, #"itsm_plugin_requests_total{plugin="incident",method="incident.create",outcome="ok"}"#) == 5)
            #expect(try await Self.query(port, #"itsm_plugin_requests_total{plugin="incident",method="incident.get",outcome="incident.not_found"}"#) == 1)
            #expect(try await Self.query(port, #"itsm_plugin_request_seconds_total{plugin="incident",method="incident.create"}"#) ?? 0 > 0)
            #expect(try await Self.query(port, #"sum(hb_requests{http_route="/api/v1/rpc/{method}"})"#) ?? 0 >= 6)
            #expect(try await Self.query(port, "process_resident_memory_bytes") ?? 0 > 1_000_000)
            #expect(await coordinator.stop() == .exited(0))
            return
        }
        Issue.record("prometheus did not start on any of five ports")
    }
}
