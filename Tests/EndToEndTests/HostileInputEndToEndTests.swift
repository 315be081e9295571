import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Logging
import Testing

/// Input a read-only or careless client can send: refused at once with the field named, and
/// no plugin restarts because of it.
@Suite struct HostileInputEndToEndTests {
    static func error(_ body: [String: Any]) -> (message: String, code: Int) {
        let error = body["error"] as? [String: Any]
        return (error?["message"] as? String ?? "", error?["code"] as? Int ?? 0)
    }

    @Test func badInputIsRefusedNamingTheFieldAndCrashesNothing() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2ehostile")
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - incident
              - problem
              - supplier
              - improvement
            """, databaseURL: database.conninfo)
        defer { coordinator.remove() }
        // Restarts a loaded machine caused while starting are not what this test is about.
        let restartsAtStart = try await coordinator.restartCounts()

        // Dates no layer can hold: refused by every process, five times over, naming the field.
        for _ in 0..<5 {
            for (method, field) in [("incident.list", "createdFrom"), ("problem.stats", "from"), ("supplier.stats", "from"),
                                    ("supplier.scorecard", "from"), ("improvement.review_pack", "from")] {
                for date in ["294277-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "2026-02-30T00:00:00Z"] {
                    let (status, body) = try await coordinator.call(method, [field: date])
                    #expect(status == 400 && Self.error(body).message.contains(field), "\(method) \(date): \(status) \(body)")
                }
            }
        }

        // NUL is refused, not cut short, on create and on update.
        let nul = try await coordinator.call("incident.create", ["title": "Printer\u{0}jam"])
        #expect(nul.status == 400 && Self.error(nul.body).message.contains("params.title: contains a NUL"), "\(nul)")
        let created = try await coordinator.call("incident.create", ["title": "Printer jam"])
        let number = try #require(created.body["number"] as? String)
        let update = try await coordinator.call("incident.update", ["number": number, "description": "tray\u{0}2"])
        #expect(update.status == 400 && Self.error(update.body).message.contains("params.description"), "\(update)")

        // Nested past what every parser takes: refused with why, not left to the 30 s timeout
        // (which would answer 504, saying it timed out).
        var deep: Any = "bottom"
        for _ in 0..<510 { deep = [deep] }
        let nested = try await coordinator.call("incident.list", ["filter": deep])
        #expect(nested.status == 400 && Self.error(nested.body).message.contains("nested deeper"), "\(nested.status)")

        // A 9 KB idempotency key is a request error, not a database error.
        let key = String(repeating: "k", count: 9_000)
        let keyed = try await coordinator.call("incident.create", ["title": "Keyed"], headers: ["Idempotency-Key": key])
        #expect(keyed.status == 400 && Self.error(keyed.body).message.contains("Idempotency-Key"), "\(keyed)")

        // What schemathesis once found: an empty KPI name crashed the improvement process, and a
        // target too large for an integer would have crashed its review pack.
        let emptyKPI = try await coordinator.call("objective.create", ["title": "Capacity management", "kpi": "", "comparator": "atLeast",
                                                                       "target": -4.055916848147852e+192, "period": "week", "owner": "olga"])
        #expect(emptyKPI.status == 400 && Self.error(emptyKPI.body).message.contains("kpi"), "\(emptyKPI)")

        // Nothing above cost a restart.
        let disturbed = try await coordinator.instancesDisturbed(since: restartsAtStart)
        #expect(disturbed.isEmpty, "\(disturbed)")
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func everyBuiltInMethodDeclaresItsParamsAndRefusesWhatItDoesNotKnow() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eschemas")
        let coordinator = try await RunningCoordinator.start(configuration: RunningCoordinator.everyBuiltInProcess,
                                                             databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let restartsAtStart = try await coordinator.restartCounts()
        let (_, listing) = try await coordinator.request("GET", "api/v1/methods", token: coordinator.token)
        let methods = try #require(try JSONSerialization.jsonObject(with: listing) as? [[String: Any]])
        #expect(methods.count > 50)
        for method in methods {
            let name = method["name"] as? String ?? "?"
            let params = method["params"] as? [String: Any]
            #expect(params?["type"] as? String == "object" && params?["additionalProperties"] as? Bool == false, "\(name): \(params ?? [:])")
            // A member the method does not know is refused before the process sees it, naming it.
            let (status, body) = try await coordinator.call(name, ["attachments": [1]])
            #expect(status == 400 && Self.error(body).message.hasPrefix("params.attachments: unknown member"), "\(name): \(body)")
        }
        // Wrong types are refused with their path, the same way.
        let (status, body) = try await coordinator.call("incident.create", ["title": "Printer", "impact": "huge"])
        #expect(status == 400 && Self.error(body).message == "params.impact: 'huge' is not one of high, medium, low", "\(body)")
        let disturbed = try await coordinator.instancesDisturbed(since: restartsAtStart)
        #expect(disturbed.isEmpty, "\(disturbed)")
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func aRequestIsFollowedThroughTheLogsByItsId() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2erequestid")
        let events = FileManager.default.temporaryDirectory.appendingPathComponent("itsm-events-\(UUID().uuidString.prefix(8)).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: events) }
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - incident
              - name: fixture
                command: [python3, \(CoordinatorEndToEndTests.fixturePlugin)]
                env: {FIXTURE_EVENTS: \(events)}
            """, databaseURL: database.conninfo)
        defer { coordinator.remove() }
        // The id of the request that made a change travels with the event it published, to every subscriber.
        let creation = "7d2c4e9a1b3f4a6c8e0d2f4b6a8c0e1f"
        let made = try await HTTPExchange.send(
            "POST", coordinator.baseURL.appendingPathComponent("api/v1/rpc/incident.create"),
            body: try JSONSerialization.data(withJSONObject: ["title": "Printer on fire"]),
            headers: ["Authorization": "Bearer \(coordinator.token)", "traceparent": "00-\(creation)-00f067aa0ba902b7-01"])
        let number = try #require((try JSONSerialization.jsonObject(with: made.body) as? [String: Any])?["number"] as? String)
        let pool = PostgresPool(conninfo: database.conninfo, logger: Logger(label: "e2e"))
        let recorded = try await pool.query("SELECT request_id FROM itsm.outbox WHERE type = 'incident.created'").single()
        #expect(try recorded.decode(String?.self, "request_id") == creation)
        await pool.close()
        #expect(try await coordinator.waitUntil {
            let lines = ((try? String(contentsOfFile: events, encoding: .utf8)) ?? "").split(separator: "\n")
            return lines.contains { $0.contains(#""type": "incident.created""#) && $0.contains(#""requestId": "\#(creation)""#)
                && $0.contains(#""metaRequestId": "\#(creation)""#) }
        }, "\((try? String(contentsOfFile: events, encoding: .utf8)) ?? "")")
        // A W3C trace id names the request; a refusal shows it in the coordinator's and the plugin's log lines.
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        let answer = try await HTTPExchange.send(
            "POST", coordinator.baseURL.appendingPathComponent("api/v1/rpc/incident.transition"),
            body: try JSONSerialization.data(withJSONObject: ["number": number, "to": "closed"]),
            headers: ["Authorization": "Bearer \(coordinator.token)", "traceparent": "00-\(trace)-00f067aa0ba902b7-01"])
        #expect(answer.status == 409)
        #expect(try await coordinator.waitUntil {
            let lines = coordinator.log.split(separator: "\n").filter { $0.contains("itsm.request=\(trace)") }
            return lines.contains { $0.contains("itsm.plugin=incident") && $0.contains("request refused") }
                && lines.contains { $0.contains("itsm.http.status=409") }
        }, "\(coordinator.log.suffix(3000))")
        #expect(await coordinator.stop() == .exited(0))
    }

    /// schemathesis, as deploy/local/install-prerequisites.sh installs it.
    static func schemathesis() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let tools = environment["ITSM_TOOLS"] ?? (environment["HOME"] ?? "/root") + "/.cache/itsm-tools/venv"
        let path = tools + "/bin/schemathesis"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestHarnessError("schemathesis is not installed at \(path); run deploy/local/install-prerequisites.sh")
        }
        return path
    }

    @Test func theOpenAPIDocumentMatchesWhatTheAPIDoes() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eopenapi")
        let coordinator = try await RunningCoordinator.start(configuration: RunningCoordinator.everyBuiltInProcess,
                                                             databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let restartsAtStart = try await coordinator.restartCounts()
        let (status, data) = try await coordinator.request("GET", "api/v1/openapi.json")
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        #expect(status == 200 && document["openapi"] as? String == "3.1.0" && paths.count > 50)
        #expect(paths["/api/v1/rpc/incident.create"] != nil && paths["/api/v1/rpc/change.create"] == nil)

        // Generated requests to every operation, valid and invalid: no server error, and every
        // answer as the document says (status, content type, body schema, 405 for other verbs).
        // One worker: Python 3.11's ast module is not thread-safe, and hypothesis parses sources
        // while describing strategies ("AST constructor recursion depth mismatch" with two).
        let run = try await Command.run(try Self.schemathesis(), [
            "run", coordinator.baseURL.absoluteString + "/api/v1/openapi.json", "--header", "Authorization: Bearer \(coordinator.token)",
            "--checks", "all", "--exclude-checks", "positive_data_acceptance", "--max-examples", "8", "--workers", "1",
            "--seed", "\(Int.random(in: 1...1_000_000))", "--no-color",
        ], workingDirectory: coordinator.directory) // its cache goes there, not into the checkout
        let summary = run.text.split(separator: "\n").first { $0.contains(" generated, ") }.map(String.init) ?? ""
        // On failure, what went wrong comes first: schemathesis lists errors and failures before its warnings.
        let problems = run.text.range(of: "ERRORS") ?? run.text.range(of: "FAILURES")
        #expect(run.status == .exited(0) && summary.contains("passed") && !summary.contains("failures"),
                "\(problems.map { String(run.text[$0.lowerBound...].prefix(6000)) } ?? String(run.text.suffix(4000)))")
        print("schemathesis: \(summary.trimmingCharacters(in: .whitespaces))")
        let disturbed = try await coordinator.instancesDisturbed(since: restartsAtStart)
        #expect(disturbed.isEmpty, "\(disturbed)")
        #expect(await coordinator.stop() == .exited(0))
    }

    /// The coordinator's own routes are in the OpenAPI document and answer as it says: what
    /// schemathesis found when they were added, kept as fixed cases.
    @Test func theCoordinatorsOwnRoutesAreDescribedAndRefuseAsTheySay() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eownroutes")
        let coordinator = try await RunningCoordinator.start(configuration: "plugins:\n  - incident\n", databaseURL: database.conninfo)
        defer { coordinator.remove() }
        func kind(_ data: Data) -> String? {
            ((try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["error"] as? [String: Any]).flatMap { ($0["data"] as? [String: Any])?["kind"] as? String }
        }
        let document = try #require(try JSONSerialization.jsonObject(with: try await coordinator.request("GET", "api/v1/openapi.json").1) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        for (path, verb) in [("/api/v1/users/{name}", "patch"), ("/api/v1/audit", "get"), ("/api/v1/tokens", "post"), ("/api/v1/evidence", "get")] {
            #expect((paths[path] as? [String: Any])?[verb] != nil, "\(path) \(verb)")
        }
        let trace = try await coordinator.request("TRACE", "api/v1/audit", token: coordinator.token)
        #expect(trace.0 == 405 && kind(trace.1) == "http.method_not_allowed")
        #expect(try await coordinator.request("DELETE", "api/v1/session").0 == 401)
        let format = try await coordinator.request("GET", "api/v1/events?format=xml", token: coordinator.token)
        #expect(format.0 == 400 && String(decoding: format.1, as: UTF8.self).contains("format: json or markdown"))
        let restart = try await coordinator.request("POST", "api/v1/plugins/nosuch/restart", token: coordinator.token)
        #expect(restart.0 == 404 && kind(restart.1) == "plugin.not_found", "\(String(decoding: restart.1, as: UTF8.self))")
        let token = try await coordinator.request("POST", "api/v1/tokens", body: Data(#"{"name":"ci","permissions":[],"expires":"never"}"#.utf8),
                                                  token: coordinator.token)
        #expect(token.0 == 400 && String(decoding: token.1, as: UTF8.self).contains("expires: unknown"), "\(String(decoding: token.1, as: UTF8.self))")
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func generatedBodiesToEveryMethodCauseNoServerErrorAndNoRestart() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2ecampaign")
        let coordinator = try await RunningCoordinator.start(configuration: RunningCoordinator.everyBuiltInProcess,
                                                             databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let restartsAtStart = try await coordinator.restartCounts()
        let campaign = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fuzz/http_campaign.py").standardized.path
        let result = try await Command.run("python3", [campaign, coordinator.baseURL.absoluteString, coordinator.token, "1500", "\(Int.random(in: 1...1_000_000))"])
        #expect(result.status == .exited(0), "\(result.text)")
        #expect(result.text.contains("sent 1500") && result.text.contains("5xx 0") && result.text.contains("slow 0"), "\(result.text)")
        let disturbed = try await coordinator.instancesDisturbed(since: restartsAtStart)
        #expect(disturbed.isEmpty, "\(disturbed)")
        #expect(await coordinator.stop() == .exited(0))
    }
}
