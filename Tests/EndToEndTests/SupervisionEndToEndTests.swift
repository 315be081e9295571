import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Testing

/// Supervision at its edges: plugins that never start, hang, or outlive their coordinator.
@Suite(.serialized) struct SupervisionEndToEndTests {
    @Test func aPluginThatKeepsCrashingFailsVisiblyAndComesBackAfterACoolDownOrARestart() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2egiveup")
        // It cannot start until its configuration exists: an outage the operator fixes later.
        let configured = "/tmp/itsm-e2e-configured-\(UUID().uuidString.prefix(8))"
        defer { unlink(configured) }
        let launched = ContinuousClock.now
        let coordinator = try await RunningCoordinator.start(
            configuration: """
                failedCooldownSeconds: 8
                plugins:
                  - incident
                  - name: broken
                    command: [/bin/sh, -c, "test -e \(configured) || { echo 'cannot open config' >&2; exit 1; }; exec python3 \(CoordinatorEndToEndTests.fixturePlugin)"]
                """,
            databaseURL: database.conninfo, allowNotReady: true)
        defer { coordinator.remove() }
        // Each restart waits longer than the one before (250 ms, 500 ms, 1 s, 2 s): from the
        // launch, which comes before the first crash, to giving up takes at least 3.75 s. (When
        // only the first restart waited, it took well under 2 s.) Measured from a moment known
        // to come first, not from when a poll happened to see the first restart.
        var broken: [String: Any]?
        let failed = try await coordinator.waitUntil(timeout: .seconds(30)) {
            broken = try await coordinator.plugins()["broken"]
            return broken?["state"] as? String == "failed"
        }
        #expect(failed)
        #expect(ContinuousClock.now - launched >= .seconds(3.75), "\(ContinuousClock.now - launched)")
        #expect(broken?["restarts"] as? Int == 4) // 5 crashes: the first 4 were restarted
        #expect((broken?["lastError"] as? String)?.contains("exit code 1") == true)
        #expect(coordinator.log.contains("cannot open config"))
        // The broken process does not take the others down; readiness says what is wrong.
        try await coordinator.waitUntilRunning("incident")
        #expect(try await coordinator.call("incident.create", ["title": "still working"]).status == 200)
        // Until its configuration exists it keeps cycling: failed for the cool-down, then four
        // more restarts, then failed again. The checks below wait for a failed phase rather than
        // hoping the cool-down outlasts the steps above (under load it did not).
        #expect(try await coordinator.waitUntil(timeout: .seconds(30)) {
            let (ready, body) = try await coordinator.request("GET", "readyz")
            return ready == 503 && String(decoding: body, as: UTF8.self).contains("\"broken\":\"failed\"")
        })
        // While failed, a call says so at once and that retrying will not help.
        #expect(try await coordinator.waitUntil(timeout: .seconds(30)) {
            let (status, error) = try await coordinator.call("broken.anything")
            let data = (error["error"] as? [String: Any])?["data"] as? [String: Any]
            return status == 503 && (data?["details"] as? [String: Any])?["state"] as? String == "failed" && data?["retryable"] as? Bool == false
        })

        // Fixed: after the cool-down it is tried again, and runs, with no command and no coordinator restart.
        #expect(FileManager.default.createFile(atPath: configured, contents: Data()))
        try await coordinator.waitUntilRunning("broken")
        #expect(coordinator.log.contains("trying again in 8.0 seconds"))
        let pid = try await coordinator.plugins()["broken"]?["pid"] as? Int

        // The operator can restart it at once too.
        let restarted = try await coordinator.cli(["plugins", "restart", "broken"])
        #expect(restarted.status == .exited(0) && restarted.text.contains("broken: 1 instances restarted"), "\(restarted.text)")
        #expect(try await coordinator.waitUntil {
            let broken = try await coordinator.plugins()["broken"]
            return broken?["state"] as? String == "running" && broken?["pid"] as? Int != pid
        })
        #expect(try await coordinator.plugins()["broken"]?["restarts"] as? Int == 0)
        #expect(try await coordinator.waitUntil { try await coordinator.request("GET", "readyz").0 == 200 })
        #expect(try await coordinator.cli(["plugins", "restart", "nothing"]).status != .exited(0))
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func pluginThatStopsAnsweringHeartbeatsIsReplaced() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2ehang")
        let coordinator = try await RunningCoordinator.start(
            configuration: """
                heartbeatMs: 300
                requestTimeoutMs: 60000
                plugins:
                  - name: fixture
                    command: [python3, \(CoordinatorEndToEndTests.fixturePlugin)]
                """,
            databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let before = try #require(try await coordinator.plugins()["fixture"]?["pid"] as? Int)
        // The hung request fails as soon as the plugin is killed, long before its own deadline.
        let started = ContinuousClock.now
        let (status, _) = try await coordinator.call("fixture.hang")
        #expect(status == 503)
        #expect(ContinuousClock.now - started < .seconds(20))
        let replaced = try await coordinator.waitUntil {
            let fixture = try await coordinator.plugins()["fixture"]
            return fixture?["state"] as? String == "running" && fixture?["pid"] as? Int != before
        }
        #expect(replaced)
        #expect(coordinator.log.contains("stopped answering heartbeats"))
        let echo = try await coordinator.call("fixture.echo")
        #expect(echo.status == 200, "\(echo)")
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func anOptionalProcessThatIsDownLeavesTheCoordinatorReady() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eoptional")
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - incident
              - name: reports
                command: [/bin/false]
                required: false
            """, databaseURL: database.conninfo, allowNotReady: true)
        defer { coordinator.remove() }
        // Ready while the optional process keeps failing to start; the body still says so.
        #expect(try await coordinator.waitUntil {
            let (status, body) = try await coordinator.request("GET", "readyz")
            let ready = try JSONSerialization.jsonObject(with: body) as? [String: Any]
            let state = (ready?["plugins"] as? [String: String])?["reports"]
            return status == 200 && state != nil && state != "running" && ready?["optional"] as? [String] == ["reports"]
        })
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func pluginsExitWhenTheCoordinatorIsKilled() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eorphan")
        let coordinator = try await RunningCoordinator.start(databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let pid = try #require(try await coordinator.plugins()["incident"]?["pid"] as? Int)
        #expect(await coordinator.stop(signal: SIGKILL) == .signaled(SIGKILL))
        // The plugin sees end of input on stdin and exits by itself: no orphan is left.
        let gone = try await coordinator.waitUntil(timeout: .seconds(10)) { kill(pid_t(pid), 0) != 0 }
        #expect(gone)
    }

    @Test func migrateAppliesEverySchemaAndIsRepeatable() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2emigrate")
        let directory = "/tmp/itsm-e2e-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "dataDir: \(directory)\nplugins: [incident]\n".write(toFile: directory + "/itsm.yaml", atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["ITSM_DATABASE_URL"] = database.conninfo
        let itsm = try Binaries.path("itsm")
        let first = try await Command.run(itsm, ["migrate", "--config", directory + "/itsm.yaml"], environment: environment)
        #expect(first.status == .exited(0))
        #expect(first.text.contains("itsm: schema at version \(CoreSchema.migrations.count) (\(CoreSchema.migrations.count) applied now)"))
        #expect(first.text.contains("incident: migrated"))
        let again = try await Command.run(itsm, ["migrate", "--config", directory + "/itsm.yaml"], environment: environment)
        #expect(again.status == .exited(0))
        #expect(again.text.contains("(0 applied now)"))
        let pool = PostgresPool(conninfo: database.conninfo, logger: .init(label: "e2e"))
        let schemas = try await pool.query("SELECT DISTINCT schema_name FROM public.itsm_migrations ORDER BY 1").map { try $0.decode(String.self, "schema_name") }
        #expect(schemas == ["incident", "itsm"])
        await pool.close()
    }

    @Test func conformanceCheckPassesTheBuiltInPluginAndPinpointsABrokenOne() async throws {
        let itsm = try Binaries.path("itsm")
        for builtIn in ["itsm-incident", "itsm-problem", "itsm-supplier", "itsm-improvement", "itsm-capacity", "itsm-notification", "itsm-service"] {
            let good = try await Command.run(itsm, ["plugin", "check", "--", try Binaries.path(builtIn)])
            #expect(good.status == .exited(0), "\(builtIn): \(good.text)")
            #expect(good.text.contains("all 20 rules pass"), "\(builtIn)")
            #expect(good.text.contains("called without params answered as their result schemas say"), "\(builtIn): \(good.text)")
        }

        var environment = ProcessInfo.processInfo.environment
        environment["FIXTURE_GARBAGE_FIRST"] = "1"
        let broken = try await Command.run(itsm, ["plugin", "check", "--json", "--", "python3", CoordinatorEndToEndTests.fixturePlugin],
                                           environment: environment)
        #expect(broken.status == .exited(1))
        let outcomes = (try? JSONSerialization.jsonObject(with: Data(broken.text.utf8)) as? [[String: Any]]) ?? []
        let failed = Set(outcomes.filter { $0["passed"] as? Bool == false }.compactMap { $0["rule"] as? String })
        #expect(failed == ["quiet before handshake", "invalid JSON", "line limit", "version negotiation"])
        let quiet = outcomes.first { $0["rule"] as? String == "quiet before handshake" }
        #expect((quiet?["detail"] as? String)?.contains("this is not a protocol message") == true)

        // Lax about batches, params and shutdown: the three rules that say so fail, naming what it did.
        var lax = ProcessInfo.processInfo.environment
        lax["FIXTURE_LAX"] = "1"
        let laxCheck = try await Command.run(itsm, ["plugin", "check", "--json", "--", "python3", CoordinatorEndToEndTests.fixturePlugin],
                                             environment: lax)
        let laxOutcomes = (try? JSONSerialization.jsonObject(with: Data(laxCheck.text.utf8)) as? [[String: Any]]) ?? []
        let laxFailed = Set(laxOutcomes.filter { $0["passed"] as? Bool == false }.compactMap { $0["rule"] as? String })
        #expect(laxFailed == ["invalid JSON", "line limit", "version negotiation", "batch refused", "invalid params", "requests after shutdown"],
                "\(laxCheck.text)")
        let laxParams = laxOutcomes.first { $0["rule"] as? String == "invalid params" }?["detail"] as? String ?? ""
        #expect(laxParams.contains("did not answer -32602, e.g. fixture.echo"), "\(laxParams)")

        // Never answers ping and crashes on a method: each reported with what happened.
        environment["FIXTURE_NO_PING"] = "1"
        environment["FIXTURE_CRASH_ON_UNKNOWN"] = "1"
        let worse = try await Command.run(itsm, ["plugin", "check", "--json", "--", "python3", CoordinatorEndToEndTests.fixturePlugin],
                                          environment: environment)
        #expect(worse.status == .exited(1))
        let details = Dictionary(
            ((try? JSONSerialization.jsonObject(with: Data(worse.text.utf8)) as? [[String: Any]]) ?? [])
                .map { ($0["rule"] as? String ?? "", ($0["passed"] as? Bool ?? true, $0["detail"] as? String ?? "")) }) { $1 }
        #expect(details["ping"]?.0 == false && details["ping"]?.1.contains("no answer to $/ping") == true, "\(worse.text)")
        #expect(details["unknown method"]?.0 == false
                && details["unknown method"]?.1.contains("exited (exit code 3) instead of answering") == true, "\(worse.text)")

        // A result that is not what the method declares, and a method in another process's namespace.
        var wrong = ProcessInfo.processInfo.environment
        wrong["FIXTURE_RESULT_SCHEMA"] = "1"
        wrong["FIXTURE_EXTRA_METHODS"] = "incident.steal"
        let wrongCheck = try await Command.run(itsm, ["plugin", "check", "--json", "--", "python3", CoordinatorEndToEndTests.fixturePlugin],
                                               environment: wrong)
        let wrongOutcomes = Dictionary(
            ((try? JSONSerialization.jsonObject(with: Data(wrongCheck.text.utf8)) as? [[String: Any]]) ?? [])
                .map { ($0["rule"] as? String ?? "", ($0["passed"] as? Bool ?? true, $0["detail"] as? String ?? "")) }) { $1 }
        #expect(wrongOutcomes["results match their schemas"]?.0 == false
                && wrongOutcomes["results match their schemas"]?.1.contains("fixture.echo: result.meta: unknown member") == true, "\(wrongCheck.text)")
        #expect(wrongOutcomes["own namespace"]?.0 == false
                && wrongOutcomes["own namespace"]?.1.hasSuffix("incident.steal") == true, "\(wrongCheck.text)")

        // An event handler that fails inside on a subscribed event: the events rule says which.
        var failing = ProcessInfo.processInfo.environment
        failing["FIXTURE_EVENT_FAILS"] = "1"
        failing["FIXTURE_SUBSCRIBES"] = "incident.created,problem.created"
        let eventCheck = try await Command.run(itsm, ["plugin", "check", "--json", "--", "python3", CoordinatorEndToEndTests.fixturePlugin],
                                               environment: failing)
        let eventOutcomes = Dictionary(
            ((try? JSONSerialization.jsonObject(with: Data(eventCheck.text.utf8)) as? [[String: Any]]) ?? [])
                .map { ($0["rule"] as? String ?? "", ($0["passed"] as? Bool ?? true, $0["detail"] as? String ?? "")) }) { $1 }
        #expect(eventOutcomes["events"]?.0 == false
                && eventOutcomes["events"]?.1 == "2 of 2 subscribed types were mishandled, e.g. incident.created got error -32603: event handler failed",
                "\(eventCheck.text)")
        // The rules this fixture breaks anyway, and no other.
        #expect(Set(eventOutcomes.filter { !$0.value.0 }.keys) == ["invalid JSON", "line limit", "version negotiation", "events"], "\(eventCheck.text)")
    }

    @Test func aPluginThatIgnoresShutdownIsKilledWithinTheBounds() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2estubborn")
        let coordinator = try await RunningCoordinator.start(
            configuration: """
                plugins:
                  - incident
                  - name: fixture
                    command: [python3, \(CoordinatorEndToEndTests.fixturePlugin)]
                    env: {FIXTURE_STUBBORN: "1"}
                """,
            databaseURL: database.conninfo)
        defer { coordinator.remove() }
        // Disabling waits the shutdown grace (5 s) for an answer and an exit, sends SIGTERM,
        // waits as long again, and kills: 10 s.
        let first = try #require(try await coordinator.plugins()["fixture"]?["pid"] as? Int)
        var started = ContinuousClock.now
        let disabled = try await coordinator.cli(["plugins", "disable", "fixture", "--reload"])
        #expect(disabled.status == .exited(0), "\(disabled.text)")
        #expect(ContinuousClock.now - started < .seconds(15), "\(ContinuousClock.now - started)")
        #expect(kill(pid_t(first), 0) != 0)

        // The coordinator's own shutdown keeps the same bounds.
        #expect(try await coordinator.cli(["plugins", "enable", "fixture", "--reload"]).status == .exited(0))
        let second = try #require(try await coordinator.plugins()["fixture"]?["pid"] as? Int)
        started = ContinuousClock.now
        #expect(await coordinator.stop(timeout: .seconds(40)) == .exited(0))
        #expect(ContinuousClock.now - started < .seconds(15), "\(ContinuousClock.now - started)")
        #expect(kill(pid_t(second), 0) != 0)
    }

    @Test func heartbeatsGoOnAfterAnErrorAnswerAndCatchAHang() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2epingerror")
        let coordinator = try await RunningCoordinator.start(
            configuration: """
                heartbeatMs: 300
                requestTimeoutMs: 60000
                plugins:
                  - name: fixture
                    command: [python3, \(CoordinatorEndToEndTests.fixturePlugin)]
                    env: {FIXTURE_PING_ERROR: "1"}
                """,
            databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let before = try #require(try await coordinator.plugins()["fixture"]?["pid"] as? Int)
        // Pings answered with errors: alive, so it is left alone.
        try await Task.sleep(for: .seconds(2))
        #expect(try await coordinator.plugins()["fixture"]?["pid"] as? Int == before)
        #expect(try await coordinator.call("fixture.echo").status == 200)
        // Then it hangs: the unanswered pings catch it long before the request's own deadline.
        let started = ContinuousClock.now
        #expect(try await coordinator.call("fixture.hang").status == 503)
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(try await coordinator.waitUntil {
            let fixture = try await coordinator.plugins()["fixture"]
            return fixture?["state"] as? String == "running" && fixture?["pid"] as? Int != before
        })
        #expect(await coordinator.stop() == .exited(0))
    }
}
