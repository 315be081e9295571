import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Logging
import Testing

/// The boundary between plugins, the coordinator and API clients, attacked the way a hostile
/// plugin would.
@Suite(.serialized) struct PluginIsolationEndToEndTests {
    /// What a process's descriptors point at (`socket:[123]`, `pipe:[456]`, a path), by number.
    static func descriptors(of pid: Int32) -> [Int: String] {
        let directory = "/proc/\(pid)/fd"
        var found: [Int: String] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            guard let number = Int(entry), let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\(entry)")
            else { continue }
            found[number] = target
        }
        return found
    }

    /// What `plugin` holds that is not its own: a socket its parent holds (a listening socket,
    /// a client's connection, the link to a coordinator) or a pipe a sibling holds (another
    /// plugin's stdin or stdout). Its own pipes are shared with the parent alone.
    static func inherited(by plugin: Int32, parent: Int32, siblings: [Int32]) -> [String] {
        let parents = Set(descriptors(of: parent).values)
        let siblingHeld = Set(siblings.filter { $0 != plugin }.flatMap { descriptors(of: $0).values })
        return descriptors(of: plugin).values.filter { target in
            (target.hasPrefix("socket:") && parents.contains(target)) || (target.hasPrefix("pipe:") && siblingHeld.contains(target))
        }
    }

    @Test func pluginsGetOnlyTheirOwnStdioWhateverWasOpenWhenTheyStarted() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2efds")
        let coordinator = try await RunningCoordinator.start(configuration: """
            remotePlugins:
              listen: 127.0.0.1:0
              plaintext: true
            plugins:
              - incident
              - name: fixture
                command: [python3, \(CoordinatorEndToEndTests.fixturePlugin)]
              - name: problem
                remote: true
              - name: supplier
                remote: true
            """, databaseURL: database.conninfo, allowNotReady: true)
        defer { coordinator.remove() }

        // A client holds a connection open while a plugin is started again after a crash.
        let port = try #require(coordinator.baseURL.port)
        let client = try ChildProcess.spawn(.init(executable: "python3", arguments: [
            "-c", "import socket, time; s = socket.create_connection(('127.0.0.1', \(port))); time.sleep(120)",
        ], standardOutput: .null, standardError: .null))
        defer { client.signal(SIGKILL) }
        let before = try #require(try await coordinator.plugins()["fixture"]?["pid"] as? Int)
        kill(pid_t(before), SIGKILL)
        #expect(try await coordinator.waitUntil {
            let fixture = try await coordinator.plugins()["fixture"]
            return fixture?["state"] as? String == "running" && fixture?["pid"] as? Int != before
        })

        // A host running two plugins: the second must not hold the first's pipes or link.
        let token = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "hosts", permissions: ["attach.*"])
        let agent = try RunningAgent.start(plugins: ["problem", "supplier"], coordinator: try #require(coordinator.remotePluginAddress),
                                           token: token, databaseURL: database.conninfo, name: "host-a", directory: coordinator.directory)
        defer { Task { _ = await agent.stop() } }
        #expect(try await coordinator.waitUntil(timeout: .seconds(60)) { try await coordinator.request("GET", "readyz").0 == 200 },
                "\(agent.log)")

        let local = try await coordinator.plugins().values.compactMap { $0["pid"] as? Int }.map { pid_t($0) }
        #expect(local.count == 2)
        for plugin in local {
            let shared = Self.inherited(by: plugin, parent: coordinator.process.pid, siblings: local)
            #expect(shared.isEmpty, "plugin \(plugin) holds the coordinator's \(shared)")
        }
        let remote = RunningAgent.children(of: agent.process.pid)
        #expect(remote.count == 2)
        for plugin in remote {
            let shared = Self.inherited(by: plugin, parent: agent.process.pid, siblings: remote)
            #expect(shared.isEmpty, "plugin \(plugin) holds the agent's \(shared)")
            #expect(Set(Self.descriptors(of: plugin).keys).isSuperset(of: [0, 1, 2]))
        }

        // A host attaching as a process that runs locally here is refused, even with attach.*.
        let rogue = try RunningAgent.start(plugins: ["incident"], coordinator: try #require(coordinator.remotePluginAddress),
                                           token: token, databaseURL: database.conninfo, name: "rogue", directory: coordinator.directory)
        #expect(try await coordinator.waitUntil { rogue.log.contains("only processes configured remote: true accept instances") },
                "\(rogue.log)")
        _ = await rogue.stop()
        #expect(try await coordinator.pluginInstances().filter { $0["name"] as? String == "incident" }.count == 1)
        _ = await agent.stop()
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func narrowTokensCannotImpersonateOrReadAnotherTokensKeyedRecord() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2enarrow")
        let coordinator = try await RunningCoordinator.start(databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let lead = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "desk-lead", permissions: ["incident.*", "tokens.write"])
        let other = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "other-desk", permissions: ["incident.*"])

        // A token named admin, or the admin's token revoked: both refused.
        let body = try JSONSerialization.data(withJSONObject: ["name": "admin", "permissions": ["incident.read"]])
        let (named, _) = try await coordinator.request("POST", "api/v1/tokens", body: body, token: lead)
        #expect(named == 409)
        let (revoked, _) = try await coordinator.request("DELETE", "api/v1/tokens/admin", token: lead)
        #expect(revoked == 403)
        #expect(try await coordinator.call("incident.list").status == 200) // the admin token still works

        // The same idempotency key from another token is another request.
        let first = try await coordinator.call("incident.create", ["title": "Confidential: payroll"], token: lead,
                                                headers: ["Idempotency-Key": "create-1"])
        let second = try await coordinator.call("incident.create", ["title": "Printer"], token: other,
                                                 headers: ["Idempotency-Key": "create-1"])
        #expect(first.status == 200 && second.status == 200)
        #expect(second.body["title"] as? String == "Printer" && second.body["number"] as? String != first.body["number"] as? String)
        // The same token retrying gets its own record back.
        let again = try await coordinator.call("incident.create", ["title": "Confidential: payroll"], token: lead,
                                               headers: ["Idempotency-Key": "create-1"])
        #expect(again.body["number"] as? String == first.body["number"] as? String)
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func aPluginCallsForItsCallerWithinTheirPermissionsOrAsItselfWithinItsGrants() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eonbehalf")
        func configuration(grants: String) -> String {
            """
            plugins:
              - incident
              - name: fixture
                command: [python3, \(CoordinatorEndToEndTests.fixturePlugin)]
            \(grants)
            """
        }
        let coordinator = try await RunningCoordinator.start(configuration: configuration(grants: ""), databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let narrow = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "narrow", permissions: ["fixture.write"])
        func kind(_ body: [String: Any]) -> String? { PluginManagementEndToEndTests.kind(body) }
        func incidents() async throws -> Int { try await coordinator.call("incident.list").body["total"] as? Int ?? -1 }

        // For a caller without incident.write, the plugin cannot create one: no widening.
        let refused = try await coordinator.call("fixture.create_for_caller", ["title": "via fixture"], token: narrow)
        #expect(refused.status == 403 && kind(refused.body) == "auth.forbidden", "\(refused)")
        #expect("\(refused.body)".contains("token:narrow"))
        // Nor as itself (no grants), nor with a handle it was not given, nor by an undeclared call.
        #expect(try await coordinator.call("fixture.create_as_itself", ["title": "as itself"], token: narrow).status == 403)
        #expect(try await coordinator.call("fixture.borrow", ["title": "borrowed"]).status == 403)
        let undeclared = try await coordinator.call("fixture.undeclared")
        #expect(undeclared.status == 403 && kind(undeclared.body) == "auth.undeclared_call", "\(undeclared)")
        #expect(try await incidents() == 0)

        // For a caller who may, it runs, and the record names both.
        let created = try await coordinator.call("fixture.create_for_caller", ["title": "via fixture"])
        #expect(created.status == 200 && created.body["createdBy"] as? String == "plugin:fixture for token:admin", "\(created)")

        // Granted incident.write in itsm.yaml, the plugin may create one on its own.
        try configuration(grants: "    grants: [incident.write]").write(toFile: coordinator.configFile, atomically: true, encoding: .utf8)
        let before = try await coordinator.plugins()["fixture"]?["pid"] as? Int
        coordinator.process.signal(SIGHUP)
        #expect(try await coordinator.waitUntil {
            let fixture = try await coordinator.plugins()["fixture"]
            return fixture?["state"] as? String == "running" && fixture?["pid"] as? Int != before
        })
        let own = try await coordinator.call("fixture.create_as_itself", ["title": "as itself"], token: narrow)
        #expect(own.status == 200 && own.body["createdBy"] as? String == "plugin:fixture", "\(own)")
        #expect(try await incidents() == 2)

        // The changes made through the plugin are in the audit log under who made them, refusals too.
        let (_, log) = try await coordinator.request("GET", "api/v1/audit?action=incident.create", token: coordinator.token)
        let entries = (try JSONSerialization.jsonObject(with: log) as? [[String: Any]] ?? []).map { "\($0["actor"] ?? "") \($0["outcome"] ?? "")" }
        #expect(entries == [
            "plugin:fixture for token:narrow auth.forbidden", // for a caller without incident.write
            "plugin:fixture auth.forbidden", "plugin:fixture auth.forbidden", // as itself without grants; with a borrowed handle
            "plugin:fixture for token:admin ok", "plugin:fixture ok",
        ], "\(entries)")
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func idleConnectionsToThePluginPortDoNotStallTheAPI() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eidleattach")
        // The waiting peers are given longer than this test runs: the API is asked while every
        // one of them still waits, so an answer cannot have waited for them to be dropped.
        let coordinator = try await RunningCoordinator.start(configuration: """
            remotePlugins:
              listen: 127.0.0.1:0
              plaintext: true
              attachTimeoutSeconds: 3600
            plugins:
              - incident
              - name: problem
                remote: true
            """, databaseURL: database.conninfo, allowNotReady: true)
        defer { coordinator.remove() }
        let address = try #require(coordinator.remotePluginAddress)
        let port = try #require(address.split(separator: ":").last.flatMap { Int($0) })
        // The API's own process is up first (problem waits for a host and is never ready here).
        try await coordinator.waitUntilRunning("incident")
        for _ in 0..<10 { _ = try await coordinator.call("incident.list") }
        let threadsBefore = try #require(coordinator.threadCount)
        // 200 peers that connect and never attach, held until this test lets them go.
        let idle = try ChildProcess.spawn(.init(executable: "python3", arguments: [
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/idle_connections.py").path,
            "127.0.0.1", "\(port)", "200", "3600",
        ], standardOutput: .null, standardError: .null))
        defer { idle.signal(SIGKILL) }
        // Past the cap on pending attaches, the rest are refused at once.
        #expect(try await coordinator.waitUntil { coordinator.log.contains("too many connections waiting to attach") })
        // The 32 waiting to attach hold no thread each (they are channels on the event loops);
        // only the database pool may add some (10 connections, each with its own thread).
        let threadsWaiting = try #require(coordinator.threadCount)
        #expect(threadsWaiting <= threadsBefore + 12, "threads: \(threadsBefore) before, \(threadsWaiting) with 32 peers waiting to attach")
        // Meanwhile the API, whose every call checks a token in the database, answers.
        for _ in 0..<10 {
            #expect(try await coordinator.call("incident.list").status == 200)
        }
        // ...and did so while the peers were still waiting: none was dropped, they still hold on.
        #expect(!coordinator.log.contains("expected $/attach as the first line"), "\(coordinator.log.suffix(2000))")
        #expect(idle.status == nil)
        // Once they hang up, their places free at once and a real host attaches.
        idle.signal(SIGKILL)
        let token = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "hosts", permissions: ["attach.problem"])
        let agent = try RunningAgent.start(plugins: ["problem"], coordinator: address, token: token, databaseURL: database.conninfo,
                                           name: "host-a", directory: coordinator.directory)
        defer { Task { _ = await agent.stop() } }
        #expect(try await coordinator.waitUntil(timeout: .seconds(60)) { try await coordinator.request("GET", "readyz").0 == 200 },
                "\(agent.log)")
        _ = await agent.stop()
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func fiftyRemoteInstancesCostTheCoordinatorNoThreads() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2efifty")
        let coordinator = try await RunningCoordinator.start(configuration: """
            remotePlugins:
              listen: 127.0.0.1:0
              plaintext: true
            plugins:
              - incident
              - name: fixture
                command: [python3, \(CoordinatorEndToEndTests.fixturePlugin)]
                remote: true
            """, databaseURL: database.conninfo, allowNotReady: true)
        defer { coordinator.remove() }
        try await coordinator.waitUntilRunning("incident")
        for _ in 0..<10 { _ = try await coordinator.call("incident.list") }
        let threadsBefore = try #require(coordinator.threadCount)

        let token = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "hosts", permissions: ["attach.fixture"])
        let file = coordinator.directory + "/agent-fifty.yaml"
        try """
            plugins:
              - name: fixture
                command: [python3, \(CoordinatorEndToEndTests.fixturePlugin)]
                instances: 50
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let agent = try RunningAgent.start(plugins: [], coordinator: try #require(coordinator.remotePluginAddress), token: token,
                                           databaseURL: database.conninfo, name: "fifty", arguments: ["--config", file],
                                           directory: coordinator.directory)
        defer { Task { _ = await agent.stop() } }
        func running() async throws -> Int {
            try await coordinator.pluginInstances().filter { $0["name"] as? String == "fixture" && $0["state"] as? String == "running" }.count
        }
        #expect(try await coordinator.waitUntil(timeout: .seconds(120)) { try await running() == 50 }, "\(agent.log.suffix(2000))")
        // Requests reach them all, and the coordinator has no thread per connection.
        for _ in 0..<20 { #expect(try await coordinator.call("fixture.echo", ["n": 1]).status == 200) }
        // What may grow is bounded by the database pool (10 connections, each with its serial
        // queue, and the event listener's), never by the number of plugin connections (50 here).
        // Dispatch keeps a worker that served a serial queue alive for a while after a burst, so
        // the count is awaited: with a thread per connection it would never come down.
        var threadsWithFifty = 0
        let settled = try await coordinator.waitUntil(timeout: .seconds(60)) {
            threadsWithFifty = coordinator.threadCount ?? .max
            return threadsWithFifty <= threadsBefore + 12
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(coordinator.process.pid)/task")) ?? []).compactMap {
            try? String(contentsOfFile: "/proc/\(coordinator.process.pid)/task/\($0)/comm", encoding: .utf8).trimmingCharacters(in: .newlines)
        }
        #expect(settled, "threads: \(threadsBefore) before, \(threadsWithFifty) with 50 remote instances: \(names.sorted())")
        #expect(try await running() == 50)
        _ = await agent.stop()
        #expect(await coordinator.stop() == .exited(0))
    }

    /// An agent running the fixture plugin with `environment` (its version, methods, subscriptions).
    static func fixtureHost(_ name: String, _ environment: [String: String], coordinator: RunningCoordinator, token: String,
                            database: String) throws -> RunningAgent {
        let file = coordinator.directory + "/agent-\(name).yaml"
        let env = environment.map { "\($0.key): \"\($0.value)\"" }.joined(separator: ", ")
        try """
            plugins:
              - name: fixture
                command: [python3, \(CoordinatorEndToEndTests.fixturePlugin)]
                env: {\(env)}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        return try RunningAgent.start(plugins: [], coordinator: try #require(coordinator.remotePluginAddress), token: token,
                                      databaseURL: database, name: name, arguments: ["--config", file], directory: coordinator.directory)
    }

    @Test func aRollingUpgradeRunsTwoVersionsSideBySideAndSwitchesOnlyWhenTold() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eupgrade")
        let coordinator = try await RunningCoordinator.start(configuration: """
            remotePlugins:
              listen: 127.0.0.1:0
              plaintext: true
            plugins:
              - incident
              - name: fixture
                remote: true
            """, databaseURL: database.conninfo, allowNotReady: true)
        defer { coordinator.remove() }
        let token = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "hosts", permissions: ["attach.fixture"])
        let pool = PostgresPool(conninfo: database.conninfo, logger: Logger(label: "e2e"))
        defer { Task { await pool.close() } }
        func subscriptions() async throws -> [String] {
            try await pool.query("SELECT event_type FROM itsm.subscription WHERE subscriber = 'fixture' ORDER BY 1").map { try $0.decode(String.self, "event_type") }
        }
        func echoVersion() async throws -> String? { try await coordinator.call("fixture.echo").body["version"] as? String }
        /// The live instances' versions and states (one that left is listed as disconnected).
        func states() async throws -> [String] {
            try await coordinator.pluginInstances().filter { $0["name"] as? String == "fixture" && $0["state"] as? String != "disconnected" }
                .map { "\($0["version"] as? String ?? "-") \($0["state"] as? String ?? "-")" }.sorted()
        }
        func events(_ file: String) -> Int { ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").count }
        let (v1Events, v2Events) = (coordinator.directory + "/v1.events", coordinator.directory + "/v2.events")

        // Version 1 is the first to connect: it becomes active, with its subscriptions.
        let v1 = try Self.fixtureHost("v1", ["FIXTURE_VERSION": "1.0.0", "FIXTURE_EVENTS": v1Events],
                                      coordinator: coordinator, token: token, database: database.conninfo)
        defer { Task { _ = await v1.stop() } }
        #expect(try await coordinator.waitUntil(timeout: .seconds(60)) { try await coordinator.request("GET", "readyz").0 == 200 }, "\(v1.log)")
        #expect(try await subscriptions() == ["incident.created"])

        // Another instance of the same version that declares more: its methods join, nothing is replaced, the database keeps its subscriptions.
        let same = try Self.fixtureHost("same", ["FIXTURE_VERSION": "1.0.0", "FIXTURE_EXTRA_METHODS": "fixture.extra",
                                                 "FIXTURE_SUBSCRIBES": "incident.created,incident.resolved"],
                                        coordinator: coordinator, token: token, database: database.conninfo)
        #expect(try await coordinator.waitUntil { try await states() == ["1.0.0 running", "1.0.0 running"] }, "\(same.log)")
        #expect(try await coordinator.call("fixture.extra").status == 200)
        #expect(try await subscriptions() == ["incident.created"])
        _ = await same.stop()
        #expect(try await coordinator.waitUntil { try await states() == ["1.0.0 running"] })
        #expect(try await coordinator.pluginInstances().contains { $0["instance"] as? String == "same/fixture-1" && $0["state"] as? String == "disconnected" })
        #expect(try await coordinator.call("fixture.echo").status == 200) // still routed after it left
        #expect(try await coordinator.call("fixture.extra").status == 404)

        // Version 2 joins and stands by: no requests, no events, no new methods, the service stays ready.
        let v2 = try Self.fixtureHost("v2", ["FIXTURE_VERSION": "2.0.0", "FIXTURE_EVENTS": v2Events, "FIXTURE_EXTRA_METHODS": "fixture.trend",
                                             "FIXTURE_SUBSCRIBES": "incident.created,incident.resolved"],
                                      coordinator: coordinator, token: token, database: database.conninfo)
        defer { Task { _ = await v2.stop() } }
        #expect(try await coordinator.waitUntil { try await states() == ["1.0.0 running", "2.0.0 standby"] }, "\(v2.log)")
        for _ in 0..<6 { #expect(try await echoVersion() == "1.0.0") }
        #expect(try await coordinator.call("fixture.trend").status == 404)
        #expect(try await coordinator.request("GET", "readyz").0 == 200)
        #expect(try await coordinator.call("incident.create", ["title": "before the switch"]).status == 200)
        #expect(try await coordinator.waitUntil { events(v1Events) == 1 })
        #expect(events(v2Events) == 0)

        // A version nobody runs cannot be switched to; the one connected can, by the operator.
        let (missing, body) = try await coordinator.request("POST", "api/v1/plugins/fixture/upgrade",
                                                          body: Data(#"{"version": "3.0.0"}"#.utf8), token: coordinator.token)
        #expect(missing == 400 && String(decoding: body, as: UTF8.self).contains("version: no instance of fixture 3.0.0"))
        let switched = try await coordinator.cli(["plugins", "upgrade", "fixture"])
        #expect(switched.status == .exited(0) && switched.text.contains("fixture: version 2.0.0 is active (was 1.0.0)"), "\(switched.text)")
        #expect(try await states() == ["1.0.0 standby", "2.0.0 running"])
        for _ in 0..<6 { #expect(try await echoVersion() == "2.0.0") }
        #expect(try await coordinator.call("fixture.trend").status == 200)
        #expect(try await subscriptions() == ["incident.created", "incident.resolved"])
        #expect(try await coordinator.call("incident.create", ["title": "after the switch"]).status == 200)
        #expect(try await coordinator.waitUntil { events(v2Events) == 1 })
        #expect(events(v1Events) == 1)
        let row = try await pool.query("SELECT version, previous_version, activated_by FROM itsm.process_version WHERE process = 'fixture'").single()
        #expect(try row.decode(String.self, "activated_by") == "token:admin" && row.decode(String.self, "previous_version") == "1.0.0")

        // Version 1 drained and stopped: nothing changes for callers.
        _ = await v1.stop()
        #expect(try await coordinator.waitUntil { try await states() == ["2.0.0 running"] })
        #expect(try await echoVersion() == "2.0.0")
        _ = await v2.stop()
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func aHostWhoseManifestIsRefusedIsToldWhy() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2erefused")
        let coordinator = try await RunningCoordinator.start(configuration: RunningCoordinator.remotePluginsOnly(["fixture"]),
                                                             databaseURL: database.conninfo, allowNotReady: true)
        defer { coordinator.remove() }
        let token = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "hosts", permissions: ["attach.fixture"])
        // `*` alone is not a pattern of calls: the manifest is invalid.
        let host = try Self.fixtureHost("host", ["FIXTURE_CALLS": "*"], coordinator: coordinator, token: token, database: database.conninfo)
        defer { Task { _ = await host.stop() } }
        #expect(try await coordinator.waitUntil {
            host.log.contains("the coordinator ended the session: handshake refused: invalid manifest: calls: '*' must be a method name")
        }, "\(host.log)")
        _ = await host.stop()
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func everyMethodIsRefusedToEveryPrincipalWithoutItsPermission() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2ematrix")
        // The fixture runs on a plugin host, attached with an attach token; it declares calls to
        // every namespace, and is granted incident.read on its own.
        let coordinator = try await RunningCoordinator.start(configuration: """
            remotePlugins:
              listen: 127.0.0.1:0
              plaintext: true
            \(RunningCoordinator.everyBuiltInProcess)
              - name: fixture
                remote: true
                grants: [incident.read]
            """, databaseURL: database.conninfo, allowNotReady: true)
        defer { coordinator.remove() }
        let builtIns = ["incident", "problem", "capacity", "supplier", "improvement"]
        #expect(try await coordinator.waitUntil(timeout: RunningCoordinator.startTimeout) {
            let plugins = try await coordinator.plugins()
            return builtIns.allSatisfy { plugins[$0]?["state"] as? String == "running" }
        })
        let (_, listing) = try await coordinator.request("GET", "api/v1/methods", token: coordinator.token)
        let methods = try #require(try JSONSerialization.jsonObject(with: listing) as? [[String: Any]])
            .compactMap { method in (method["name"] as? String).flatMap { name in (method["permission"] as? String).map { (name, $0) } } }
        let namespaces = Set(methods.map { String($0.0.prefix { $0 != "." }) })
        let attach = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "hosts", permissions: ["attach.*"])
        let host = try Self.fixtureHost("host", ["FIXTURE_CALLS": namespaces.sorted().map { $0 + ".*" }.joined(separator: ",")],
                                        coordinator: coordinator, token: attach, database: database.conninfo)
        defer { Task { _ = await host.stop() } }
        #expect(try await coordinator.waitUntil(timeout: .seconds(60)) { try await coordinator.request("GET", "readyz").0 == 200 }, "\(host.log)")
        #expect(methods.count > 50)
        let reader = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "reader", permissions: ["incident.read"])
        let relayOnly = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "relay-only", permissions: ["fixture.read"])
        var holders: [String: String] = [:]
        var relayers: [String: String] = [:]
        for permission in Set(methods.map(\.1)) {
            let name = permission.replacingOccurrences(of: ".", with: "-")
            holders[permission] = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "only-" + name, permissions: [permission])
            relayers[permission] = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "relay-" + name, permissions: ["fixture.read", permission])
        }
        // Each method, with empty params, for each kind of principal: refused exactly when the
        // principal lacks the method's permission. (Anything but 401/403 means it got through
        // to the process: the params are then refused on their own merits.)
        for (method, permission) in methods {
            func status(_ token: String) async throws -> Int { try await coordinator.call(method, [:], token: token).status }
            /// Through the plugin: for the caller holding `token`, or as the plugin itself.
            func relayed(_ token: String, asItself: Bool = false) async throws -> Int {
                try await coordinator.call("fixture.relay", ["method": method, "params": [:] as [String: Any], "asItself": asItself], token: token).status
            }
            #expect(try await status(attach) == 403, "attach token reached \(method)")
            #expect(try await status(reader) == 403 || permission == "incident.read", "incident.read token reached \(method)")
            #expect(try await status(holders[permission]!) != 403, "a token holding \(permission) was refused \(method)")
            #expect(try await status(coordinator.token) != 403, "the admin token was refused \(method)")
            #expect(try await status("itsm_" + String(repeating: "0", count: 43)) == 401)
            #expect(try await relayed(relayOnly) == 403, "the plugin widened a caller's access to \(method)")
            #expect(try await relayed(relayers[permission]!) != 403, "the plugin, for a caller holding \(permission), was refused \(method)")
            #expect(try await relayed(relayOnly, asItself: true) == 403 || permission == "incident.read", "the plugin on its own reached \(method)")
        }
        // The grant works: on its own the plugin lists incidents.
        let own = try await coordinator.call("fixture.relay", ["method": "incident.list", "asItself": true], token: relayOnly)
        #expect(own.status == 200 && own.body["total"] as? Int == 0, "\(own)")
        _ = await host.stop()
        #expect(await coordinator.stop() == .exited(0))
    }
}
