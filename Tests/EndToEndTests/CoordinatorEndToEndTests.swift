import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Logging
import Testing

/// These run the real `itsm` and `itsm-incident` binaries over real pipes, HTTP and PostgreSQL.
@Suite(.serialized) struct CoordinatorEndToEndTests {
    static let fixturePlugin = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fixture_plugin.py").path

    @Test func embeddedDatabaseFromCreateToCleanShutdown() async throws {
        let coordinator = try await RunningCoordinator.start()
        defer { coordinator.remove() }

        let (created, record) = try await coordinator.call("incident.create", [
            "title": "Mail server down", "impact": "high", "urgency": "high", "service": "email",
        ])
        #expect(created == 200)
        #expect(record["number"] as? String == "INC-000001")
        #expect(record["priority"] as? String == "P1")
        #expect(record["createdBy"] as? String == "token:admin")
        let id = try #require(record["id"] as? String)

        let (got, detail) = try await coordinator.call("incident.get", ["id": id, "history": true])
        #expect(got == 200)
        #expect((detail["incident"] as? [String: Any])?["title"] as? String == "Mail server down")
        #expect(((detail["history"] as? [[String: Any]])?.count ?? 0) >= 6)
        let (_, page) = try await coordinator.call("incident.list")
        #expect(page["total"] as? Int == 1)

        // The row is in the incident schema of the embedded cluster.
        let cluster = try EmbeddedPostgres(directory: coordinator.dataDirectory + "/postgres", logger: Logger(label: "e2e"))
        let connection = try await PostgresConnection.connect(to: cluster.conninfo(), logger: Logger(label: "e2e"))
        let row = try await connection.query("SELECT number FROM incident.incident WHERE id = \(UUID(uuidString: id)!)").single()
        #expect(try row.decode(String.self, "number") == "INC-000001")
        connection.close()

        // Bad requests get structured errors with fitting statuses.
        #expect(try await coordinator.call("incident.create", ["title": ""]).status == 400)
        #expect(try await coordinator.call("incident.create", ["title": "x", "impact": "huge"]).status == 400)
        #expect(try await coordinator.call("incident.get", ["number": "INC-999999"]).status == 404)
        #expect(try await coordinator.call("incident.nope").status == 404)
        #expect(try await coordinator.call("nobody.home").status == 404)
        let unauthorized = try await coordinator.call("incident.list", token: "itsm_forged")
        #expect(unauthorized.status == 401)
        #expect((unauthorized.body["error"] as? [String: Any])?["code"] as? Int == -32013)
        let (noToken, _) = try await coordinator.request("POST", "api/v1/rpc/incident.list", body: Data("{}".utf8))
        #expect(noToken == 401)
        let (badJSON, badBody) = try await coordinator.request("POST", "api/v1/rpc/incident.create", body: Data("{nope".utf8),
                                                               token: coordinator.token)
        #expect(badJSON == 400)
        #expect(String(decoding: badBody, as: UTF8.self).contains("-32700"))

        // The database going away is a retryable 503, and service resumes when it is back.
        try await cluster.stop()
        let (down, downBody) = try await coordinator.call("incident.list")
        #expect(down == 503)
        #expect(((downBody["error"] as? [String: Any])?["data"] as? [String: Any])?["retryable"] as? Bool == true)
        try await cluster.start()
        #expect(try await coordinator.waitUntil { try await coordinator.call("incident.list").status == 200 })

        // A postmaster that dies without shutting down is started again by serve; nothing committed is lost.
        guard case .running(let postmaster) = try await cluster.status() else {
            Issue.record("the embedded cluster should run")
            return
        }
        kill(postmaster, SIGKILL)
        #expect(try await coordinator.waitUntil(timeout: .seconds(90)) {
            guard case .running(let pid) = try await cluster.status(), pid != postmaster else { return false }
            return try await coordinator.call("incident.get", ["id": id]).status == 200
        }, "\(coordinator.log.suffix(3000))")
        #expect(coordinator.log.contains("embedded PostgreSQL died without shutting down; starting it again"))

        // SIGTERM stops the plugins and the embedded cluster: nothing is left running.
        let pluginPID = try #require(try await coordinator.plugins()["incident"]?["pid"] as? Int)
        #expect(await coordinator.stop() == .exited(0))
        #expect(kill(pid_t(pluginPID), 0) != 0)
        #expect(try await cluster.status() == .stopped)
        #expect(!FileManager.default.fileExists(atPath: coordinator.dataDirectory + "/coordinator.json"))
    }

    @Test func aTakenHTTPPortIsSaidAtOnceBeforeAnythingStarts() async throws {
        // Some other program listens on the port.
        let other = try await RecordingRelay.start(to: "127.0.0.1", port: 9)
        defer { Task { await other.stop() } }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("itsm-taken-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let serve = try await Command.run(try Binaries.path("itsm"), ["serve", "--data-dir", directory, "--http", "127.0.0.1:\(other.port)"])
        #expect(serve.status == .exited(1))
        #expect(serve.text.contains("http: cannot listen on 127.0.0.1:\(other.port): Address already in use"), "\(serve.text)")
        // Refused before the embedded database was even created (judged by what it did, not by
        // the wall clock, which a loaded machine stretches).
        #expect(!serve.text.contains("PostgreSQL"), "\(serve.text)")
    }

    @Test func killedPluginIsRestartedAndServesAgain() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2erestart")
        let coordinator = try await RunningCoordinator.start(databaseURL: database.conninfo)
        defer { coordinator.remove() }
        #expect(try await coordinator.call("incident.create", ["title": "before the crash"]).status == 200)

        let before = try #require(try await coordinator.plugins()["incident"])
        let pid = try #require(before["pid"] as? Int)
        let restarts = try #require(before["restarts"] as? Int)
        kill(pid_t(pid), SIGKILL)
        let restarted = try await coordinator.waitUntil {
            let status = try await coordinator.plugins()["incident"]
            return status?["state"] as? String == "running" && status?["restarts"] as? Int == restarts + 1
                && status?["pid"] as? Int != pid
        }
        #expect(restarted)
        let (status, body) = try await coordinator.call("incident.create", ["title": "after the crash"])
        #expect(status == 200)
        #expect(body["number"] as? String == "INC-000002")
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func misbehavingPluginIsContainedAndEventsAreDelivered() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2efixture")
        let events = "/tmp/itsm-e2e-events-\(UUID().uuidString.prefix(8))"
        defer { unlink(events) }
        let coordinator = try await RunningCoordinator.start(
            configuration: """
                requestTimeoutMs: 3000
                plugins:
                  - incident
                  - name: fixture
                    command: [python3, \(Self.fixturePlugin)]
                    env: {FIXTURE_EVENTS: \(events), FIXTURE_GARBAGE_FIRST: "1"}
                """,
            databaseURL: database.conninfo)
        defer { coordinator.remove() }

        // Garbage before the handshake did not stop it.
        let (echoStatus, echo) = try await coordinator.call("fixture.echo", ["hello": "world"])
        #expect(echoStatus == 200)
        #expect((echo["meta"] as? [String: Any])?["actor"] as? String == "token:admin")
        #expect(try await coordinator.call("fixture.garbage").body["survived"] as? Bool == true)

        // An answer over the line limit is dropped; the caller gets a timeout, not a hang.
        let (hugeStatus, huge) = try await coordinator.call("fixture.huge")
        #expect(hugeStatus == 504)
        #expect((huge["error"] as? [String: Any])?["code"] as? Int == -32011)

        // A plugin may call another process's method through the coordinator.
        _ = try await coordinator.call("incident.create", ["title": "first"])
        #expect(try await coordinator.call("fixture.call").body["total"] as? Int == 1)

        // A crash mid-request is a retryable 503; the other process keeps serving; it comes back.
        let (crashStatus, crash) = try await coordinator.call("fixture.crash")
        #expect(crashStatus == 503)
        #expect(((crash["error"] as? [String: Any])?["data"] as? [String: Any])?["retryable"] as? Bool == true)
        #expect(try await coordinator.call("incident.create", ["title": "second"]).status == 200)
        #expect(try await coordinator.waitUntil { try await coordinator.call("fixture.echo").status == 200 })

        // Each incident.created reached the subscriber exactly once.
        let delivered = try await coordinator.waitUntil {
            ((try? String(contentsOfFile: events, encoding: .utf8)) ?? "").split(separator: "\n").count >= 2
        }
        #expect(delivered)
        let lines = ((try? String(contentsOfFile: events, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(lines.count == 2)
        #expect(Set(lines).count == 2)
        #expect(lines.allSatisfy { $0.contains("incident.created") })
        let log = coordinator.log
        #expect(log.contains("fixture ready"))
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func methodPermissionsAreEnforced() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eperm")
        let coordinator = try await RunningCoordinator.start(databaseURL: database.conninfo)
        defer { coordinator.remove() }
        // A read-only token, issued straight into the token table as an operator would.
        let pool = PostgresPool(conninfo: database.conninfo, logger: Logger(label: "e2e"))
        let token = "itsm_readonly_" + UUID().uuidString
        try await pool.query("""
            INSERT INTO itsm.api_token (name, token_hash, permissions)
            VALUES ('reader', encode(sha256(convert_to(\(token), 'UTF8')), 'hex'), \(["incident.read"]))
            """)
        await pool.close()
        #expect(try await coordinator.call("incident.list", token: token).status == 200)
        let (denied, body) = try await coordinator.call("incident.create", ["title": "x"], token: token)
        #expect(denied == 403)
        #expect(((body["error"] as? [String: Any])?["data"] as? [String: Any])?["kind"] as? String == "auth.permission_denied")
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func tokensIssuedListedAndRevokedThroughTheCLI() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2etokens")
        let coordinator = try await RunningCoordinator.start(databaseURL: database.conninfo)
        defer { coordinator.remove() }
        func cli(_ arguments: [String], token: String? = nil) async throws -> Command.Output {
            try await coordinator.cli(arguments, token: token)
        }
        let created = try await cli(["token", "create", "alice", "--permission", "incident.read", "--permission", "tokens.write"])
        #expect(created.status == .exited(0))
        let alice = try #require(created.text.split(separator: "\n").first { $0.hasPrefix("itsm_") }.map(String.init))

        #expect(try await cli(["incident", "list"], token: alice).status == .exited(0))
        let denied = try await cli(["incident", "create", "--title", "x"], token: alice)
        #expect(denied.status == .exited(4))
        #expect(denied.text.contains("lacks the permission 'incident.write'"))
        // Alice may issue tokens, but none stronger than her own.
        let escalation = try await cli(["token", "create", "mallory", "--permission", "*"], token: alice)
        #expect(escalation.status == .exited(4))
        #expect(escalation.text.contains("can only grant permissions it holds"))
        #expect(try await cli(["token", "create", "reader", "--permission", "incident.read"], token: alice).status == .exited(0))
        #expect(try await cli(["token", "create", "alice", "--permission", "incident.read"]).status == .exited(1)) // name taken

        let listed = try await cli(["token", "list"])
        #expect(listed.text.contains("alice") && listed.text.contains("reader") && !listed.text.contains("itsm_"))
        #expect(try await cli(["token", "revoke", "alice"]).status == .exited(0))
        let revoked = try await cli(["incident", "list"], token: alice)
        #expect(revoked.status == .exited(4))
        #expect(revoked.text.contains("not valid"))
        #expect(try await cli(["token", "revoke", "nobody"]).status == .exited(1))
        #expect(await coordinator.stop() == .exited(0))
    }
}
