import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMTesting
import Logging
import Testing

/// People over the real HTTP API: accounts, roles, sessions with CSRF, tokens that belong to a
/// person, login throttling, and the audit log with its hash chain (docs/identity.md).
@Suite struct IdentityEndToEndTests {
    /// A signed-in person: the session cookie and the CSRF token their changes carry.
    struct Session {
        let coordinator: RunningCoordinator
        let cookie: String
        let csrf: String

        /// A request with the session; changes carry the CSRF token unless told not to.
        func send(_ method: String, _ path: String, _ body: [String: Any]? = nil, csrf sendsCSRF: Bool = true) async throws -> (status: Int, body: Any?) {
            var headers = ["Cookie": cookie]
            if sendsCSRF && method != "GET" { headers["X-CSRF-Token"] = csrf }
            let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
            let (status, answer) = try await coordinator.request(method, path, body: data, headers: headers)
            return (status, try? JSONSerialization.jsonObject(with: answer))
        }
    }

    static func signIn(_ coordinator: RunningCoordinator, _ name: String, _ password: String,
                       headers: [String: String] = [:]) async throws -> (status: Int, session: Session?, body: [String: Any]) {
        let body = try JSONSerialization.data(withJSONObject: ["name": name, "password": password])
        let answer = try await HTTPExchange.exchange("POST", coordinator.baseURL.appendingPathComponent("api/v1/session"), body: body,
                                                     headers: headers)
        let json = (try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any]) ?? [:]
        guard answer.status == 200, let cookie = answer.headers["set-cookie"]?.split(separator: ";").first, let csrf = json["csrfToken"] as? String else {
            return (answer.status, nil, json)
        }
        return (answer.status, Session(coordinator: coordinator, cookie: String(cookie), csrf: csrf), json)
    }

    @Test func aRequesterAnAgentAnAuditorAndAnAdministratorEachMayDoExactlyWhatTheirRolesSay() async throws {
        // The agent is a directory account: his password and his role come from a real slapd.
        let directory = try await TestDirectory.start(entries: """
            dn: uid=alan,\(TestDirectory.suffix)
            objectClass: inetOrgPerson
            uid: alan
            cn: Alan Agent
            sn: Agent
            userPassword: alan has a long password

            dn: cn=service-desk,\(TestDirectory.suffix)
            objectClass: groupOfNames
            cn: service-desk
            member: uid=alan,\(TestDirectory.suffix)
            """)
        defer { directory.remove() }
        let passwordFile = directory.directory + "/bind.password"
        try "\(TestDirectory.rootPassword)\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins: [incident, problem]
            directory:
              url: \(directory.url)
              bindDN: \(TestDirectory.rootDN)
              bindPasswordFile: \(passwordFile)
              userBase: \(TestDirectory.suffix)
              groupBase: \(TestDirectory.suffix)
              groupRoles: {service-desk: [agent]}
            """)
        defer { coordinator.remove() }
        let people = ["rita": "requester", "alan": "agent", "audrey": "auditor", "ada": "administrator"]
        for (name, role) in people where name != "alan" {
            let created = try await coordinator.request("POST", "api/v1/users", body: try JSONSerialization.data(withJSONObject: [
                "name": name, "displayName": name.capitalized, "email": "\(name)@example.org", "roles": [role],
                "password": "\(name) has a long password",
            ]), token: coordinator.token)
            #expect(created.0 == 200, "\(String(decoding: created.1, as: UTF8.self))")
        }
        var sessions: [String: Session] = [:]
        for name in people.keys {
            let signedIn = try await Self.signIn(coordinator, name, "\(name) has a long password")
            let session: IdentityEndToEndTests.Session = try #require(signedIn.session, "\(name): \(signedIn)")
            sessions[name] = session
            #expect(signedIn.body["roles"] as? [String] == [people[name]!], "\(signedIn.body)")
        }
        let incident = try await coordinator.call("incident.create", ["title": "Seed incident for reading"])
        let seeded = try #require(incident.body["number"] as? String)
        let reported = try await sessions["rita"]!.send("POST", "api/v1/rpc/incident.create", ["title": "VPN drops every hour"])
        let ritas = try #require((reported.body as? [String: Any])?["number"] as? String, "\(String(describing: reported.body))")

        // What each role may do; each row is one real request per person.
        struct Row {
            var what: String
            var method: String
            var path: String
            var body: [String: Any]?
            var allowed: Set<String>
            /// The answer to those not allowed: 403, 404 where the record is not theirs to see, or
            /// 400 where what they asked for is not theirs to ask (`requester` only).
            var refusal = 403
            var requesterRefusal: Int?
            /// Allowed, but refused on the content (an empty definition): past the permission all the same.
            var allowedStatus = 200
        }
        let rows: [Row] = [
            Row(what: "report an incident", method: "POST", path: "api/v1/rpc/incident.create",
                body: ["title": "Printer jams"], allowed: ["rita", "alan", "ada"]),
            Row(what: "read their own incident", method: "GET", path: "api/v1/incidents/\(ritas)", allowed: ["rita", "alan", "audrey", "ada"]),
            Row(what: "read someone else's incident", method: "GET", path: "api/v1/incidents/\(seeded)",
                allowed: ["alan", "audrey", "ada"], refusal: 404),
            Row(what: "comment for the customer", method: "POST", path: "api/v1/rpc/incident.comment",
                body: ["number": ritas, "body": "Any news?", "visibility": "customer"], allowed: ["rita", "alan", "ada"]),
            Row(what: "write a work note", method: "POST", path: "api/v1/rpc/incident.comment",
                body: ["number": ritas, "body": "Checked the concentrator", "visibility": "work_note"], allowed: ["alan", "ada"],
                requesterRefusal: 400),
            Row(what: "assign an incident", method: "POST", path: "api/v1/rpc/incident.assign",
                body: ["number": ritas, "assignmentGroup": "network"], allowed: ["alan", "ada"]),
            Row(what: "see incident statistics", method: "POST", path: "api/v1/rpc/incident.stats", body: [:], allowed: ["alan", "audrey", "ada"]),
            Row(what: "open a problem", method: "POST", path: "api/v1/rpc/problem.create",
                body: ["title": "VPN concentrator drops sessions"], allowed: ["ada"]),
            Row(what: "read problems", method: "GET", path: "api/v1/problems", allowed: ["alan", "audrey", "ada"]),
            Row(what: "define SLA targets", method: "POST", path: "api/v1/rpc/incident.sla.define", body: [:], allowed: ["ada"], allowedStatus: 400),
            Row(what: "read the audit log", method: "GET", path: "api/v1/audit", allowed: ["audrey", "ada"]),
            Row(what: "list accounts", method: "GET", path: "api/v1/users", allowed: ["audrey", "ada"]),
            Row(what: "create an account", method: "POST", path: "api/v1/users",
                body: ["name": "newcomer", "roles": ["agent"]], allowed: ["ada"]),
            Row(what: "issue a token", method: "POST", path: "api/v1/tokens",
                body: ["name": "ci", "permissions": ["incident.read"]], allowed: ["ada"]),
            Row(what: "reload the plugins", method: "POST", path: "api/v1/plugins/reload", allowed: ["ada"]),
        ]
        var matrix = ["| | " + people.keys.sorted().map { "\($0) (\(people[$0]!))" }.joined(separator: " | ") + " |", "|---|---|---|---|---|"]
        for row in rows {
            var cells: [String] = []
            for name in people.keys.sorted() {
                var body = row.body
                if row.path == "api/v1/users" && row.method == "POST" { body?["name"] = "newcomer-\(name)" }
                if row.path == "api/v1/tokens" { body?["name"] = "ci-\(name)" }
                let answer = try await sessions[name]!.send(row.method, row.path, body)
                let expected = row.allowed.contains(name) ? row.allowedStatus : name == "rita" ? row.requesterRefusal ?? row.refusal : row.refusal
                #expect(answer.status == expected, "\(name) \(row.what): \(answer.status) \(String(describing: answer.body))")
                cells.append(row.allowed.contains(name) && answer.status == expected ? "yes" : "no (\(answer.status))")
            }
            matrix.append("| \(row.what) | " + cells.joined(separator: " | ") + " |")
        }
        print(matrix.joined(separator: "\n"))

        // A defined group takes only its members as assignees; an undefined name stays free text.
        let defined = try await coordinator.cli(["group", "set", "network", "--lead", "alan", "--description", "WAN and VPN"])
        #expect(defined.status == .exited(0), "\(defined.text)")
        let outsider = try await sessions["alan"]!.send("POST", "api/v1/rpc/incident.assign",
                                                        ["number": ritas, "assignmentGroup": "network", "assignee": "ada"])
        #expect(outsider.status == 422 && "\(String(describing: outsider.body))".contains("ada is not a member of the group network"),
                "\(String(describing: outsider.body))")
        #expect(try await sessions["alan"]!.send("POST", "api/v1/rpc/incident.assign",
                                                 ["number": ritas, "assignmentGroup": "network", "assignee": "alan"]).status == 200)
        #expect(try await sessions["alan"]!.send("POST", "api/v1/rpc/incident.create",
                                                 ["title": "Old habits", "assignmentGroup": "free-text", "assignee": "anyone"]).status == 200)
        let listedGroups = try await sessions["rita"]!.send("GET", "api/v1/groups")
        #expect("\(String(describing: listedGroups.body))".contains("WAN and VPN"))

        // An agent limited to his groups: a role with incident.group.read instead of incident.all.read.
        #expect(try await coordinator.cli(["role", "set", "group-agent", "--permission", "incident.read", "--permission", "incident.write",
                                          "--permission", "incident.group.read"]).status == .exited(0))
        #expect(try await coordinator.cli(["user", "create", "gus", "--role", "group-agent", "--password-stdin"],
                                          input: "gus has a long password\n").status == .exited(0))
        #expect(try await coordinator.cli(["group", "set", "network", "--lead", "alan", "--member", "gus"]).status == .exited(0))
        let gus = try #require(try await Self.signIn(coordinator, "gus", "gus has a long password").session)
        #expect(try await gus.send("GET", "api/v1/incidents/\(ritas)").status == 200) // assigned to network
        #expect(try await gus.send("GET", "api/v1/incidents/\(seeded)").status == 404) // nobody's group
        #expect(try await gus.send("POST", "api/v1/rpc/incident.assign", ["number": seeded, "assignmentGroup": "network"]).status == 404)
        #expect(try await gus.send("POST", "api/v1/rpc/incident.comment",
                                   ["number": ritas, "body": "Gus checked the tunnel", "visibility": "work_note"]).status == 200)
        let gusList = try await gus.send("GET", "api/v1/incidents")
        let gusNumbers = ((gusList.body as? [String: Any])?["items"] as? [[String: Any]] ?? []).compactMap { $0["number"] as? String }
        #expect(gusNumbers == [ritas], "\(gusNumbers)")

        // The requester sees her own records only, and of their comments only the customer's.
        let listed = try await sessions["rita"]!.send("GET", "api/v1/incidents")
        let numbers = ((listed.body as? [String: Any])?["items"] as? [[String: Any]] ?? []).compactMap { $0["number"] as? String }
        #expect(Set(numbers).contains(ritas) && !numbers.contains(seeded) && numbers.count == 2, "\(numbers)")
        let found = try await sessions["rita"]!.send("POST", "api/v1/rpc/incident.search", ["query": "concentrator"])
        #expect((found.body as? [[String: Any]])?.isEmpty == true, "the work note's words: \(String(describing: found.body))")
        let seen = try await sessions["rita"]!.send("GET", "api/v1/incidents/\(ritas)?comments=true")
        let comments = ((seen.body as? [String: Any])?["comments"] as? [[String: Any]] ?? []).map { $0["visibility"] as? String ?? "" }
        #expect(comments == ["customer", "customer", "customer"], "\(String(describing: seen.body))")
        let agentView = try await sessions["alan"]!.send("GET", "api/v1/incidents/\(ritas)?comments=true")
        #expect(((agentView.body as? [String: Any])?["comments"] as? [Any])?.count == 6)
        // She reports only for herself, and confirms the resolution of her own record.
        let forOthers = try await sessions["rita"]!.send("POST", "api/v1/rpc/incident.create", ["title": "For Bob", "caller": "bob"])
        #expect(forOthers.status == 400 && "\(String(describing: forOthers.body))".contains("caller: a requester reports for themselves"))
        let skipAhead = try await sessions["rita"]!.send("POST", "api/v1/rpc/incident.transition", ["number": ritas, "to": "in_progress"])
        #expect(skipAhead.status == 403, "\(String(describing: skipAhead.body))")
        let resolved = try await sessions["alan"]!.send("POST", "api/v1/rpc/incident.transition", [
            "number": ritas, "to": "resolved", "resolutionCode": "fixed", "resolutionNotes": "Concentrator firmware updated",
        ])
        #expect(resolved.status == 200, "\(String(describing: resolved.body))")
        let confirmed = try await sessions["rita"]!.send("POST", "api/v1/rpc/incident.transition", ["number": ritas, "to": "closed"])
        #expect(confirmed.status == 200, "\(String(describing: confirmed.body))")
        // The incident process gave the agent role its own permission once, and said so in the audit log.
        let roles = try await sessions["ada"]!.send("GET", "api/v1/roles")
        let agent = (roles.body as? [[String: Any]] ?? []).first { $0["name"] as? String == "agent" }
        #expect((agent?["permissions"] as? [String])?.contains("incident.all.read") == true, "\(String(describing: agent))")
        let grants = try await sessions["audrey"]!.send("GET", "api/v1/audit?action=role.default_grants")
        #expect("\(String(describing: grants.body))".contains("agent: incident.all.read"))

        // A change with the cookie but without the CSRF token is refused, whoever makes it.
        let forged = try await sessions["ada"]!.send("POST", "api/v1/rpc/incident.create", ["title": "Forged"], csrf: false)
        #expect(forged.status == 403 && "\(String(describing: forged.body))".contains("auth.csrf"))
        // Records name the person.
        #expect((reported.body as? [String: Any])?["createdBy"] as? String == "user:rita", "\(String(describing: reported.body))")
        // Signing out ends the session.
        #expect(try await sessions["alan"]!.send("DELETE", "api/v1/session").status == 200)
        #expect(try await sessions["alan"]!.send("GET", "api/v1/incidents/\(seeded)").status == 401)
        // No credentials at all.
        #expect(try await coordinator.request("GET", "api/v1/incidents/\(seeded)").0 == 401)
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func aPersonsTokenNeverExceedsThemAndStopsWithTheirAccount() async throws {
        let coordinator = try await RunningCoordinator.start(configuration: "plugins: [incident]")
        defer { coordinator.remove() }
        let create = try await coordinator.cli(["user", "create", "ada", "--role", "administrator", "--password-stdin"],
                                               input: "ada has a long password\n")
        #expect(create.status == .exited(0), "\(create.text)")
        let ada = try #require(try await Self.signIn(coordinator, "ada", "ada has a long password").session)
        let issued = try await ada.send("POST", "api/v1/tokens", ["name": "ada-automation", "permissions": ["*"]])
        let token = try #require((issued.body as? [String: Any])?["token"] as? String, "\(String(describing: issued.body))")
        #expect(try await coordinator.call("incident.create", ["title": "Through ada's token"], token: token).status == 200)
        let listed = try await coordinator.request("GET", "api/v1/users", token: token)
        #expect(listed.0 == 200)

        // Ada becomes an agent: her token keeps its name but loses what she lost.
        let demoted = try await coordinator.cli(["user", "update", "ada", "--role", "agent"])
        #expect(demoted.status == .exited(0), "\(demoted.text)")
        #expect(try await coordinator.request("GET", "api/v1/users", token: token).0 == 403)
        #expect(try await coordinator.call("incident.create", ["title": "Still an agent"], token: token).status == 200)
        // Disabled: her sessions and tokens stop at once.
        #expect(try await coordinator.cli(["user", "update", "ada", "--disable"]).status == .exited(0))
        #expect(try await coordinator.call("incident.create", ["title": "Disabled"], token: token).status == 401)
        #expect(try await ada.send("GET", "api/v1/session").status == 401)
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func repeatedWrongPasswordsLockTheAccountUntilItIsResetAndEveryAttemptIsAudited() async throws {
        let coordinator = try await RunningCoordinator.start(configuration: "plugins: [incident]")
        defer { coordinator.remove() }
        #expect(try await coordinator.cli(["user", "create", "bob", "--role", "agent", "--password-stdin"],
                                          input: "bob has a long password\n").status == .exited(0))
        var statuses: [Int] = []
        for _ in 0..<5 { statuses.append(try await Self.signIn(coordinator, "bob", "not bob's password").status) }
        #expect(statuses == [401, 401, 401, 401, 429], "\(statuses)")
        // Locked: even the right password is not checked.
        let locked = try await Self.signIn(coordinator, "bob", "bob has a long password")
        #expect(locked.status == 429 && locked.body.description.contains("auth.locked"), "\(locked)")
        // An unknown name gets the answer a wrong password gets. (Its X-Forwarded-For is the
        // client's own writing, with no proxy trusted: the audit entry names the connection's peer.)
        #expect(try await Self.signIn(coordinator, "nobody", "whatever it may be", headers: ["X-Forwarded-For": "203.0.113.7"]).status == 401)
        // An administrator's reset unlocks it.
        let reset = try await coordinator.cli(["user", "reset-password", "bob"], input: "bob has a new long password\n")
        #expect(reset.status == .exited(0), "\(reset.text)")
        #expect(try await Self.signIn(coordinator, "bob", "bob has a new long password").status == 200)
        #expect(try await Self.signIn(coordinator, "bob", "bob has a long password").status == 401)
        // A password that is too short is refused by name.
        let weak = try await coordinator.request("PATCH", "api/v1/users/bob", body: Data(#"{"password":"short"}"#.utf8), token: coordinator.token)
        #expect(weak.0 == 400 && String(decoding: weak.1, as: UTF8.self).contains("password: at least 12 characters"))

        let listed = try await coordinator.cli(["audit", "list", "--action", "session.login", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(listed.text.utf8)) as? [[String: Any]], "\(listed.text)")
        #expect(entries.map { $0["outcome"] as? String ?? "" } == [
            "auth.login_failed", "auth.login_failed", "auth.login_failed", "auth.login_failed", "auth.locked", "auth.locked",
            "auth.login_failed", "ok", "auth.login_failed",
        ], "\(entries)")
        #expect(entries.allSatisfy { $0["clientAddress"] as? String == "127.0.0.1" })
        #expect(await coordinator.stop() == .exited(0))
    }

    /// Behind a reverse proxy on this host, the audit log and the session name the client the
    /// proxy heard from, not the proxy.
    @Test func behindATrustedProxyTheAuditLogNamesTheClientItHeardFrom() async throws {
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins: [incident]
            trustedProxies: [127.0.0.1]
            """)
        defer { coordinator.remove() }
        let created = try await coordinator.call("incident.create", ["title": "Through the proxy"],
                                                 headers: ["X-Forwarded-For": "203.0.113.7"])
        #expect(created.status == 200, "\(created.body)")
        #expect(try await coordinator.call("incident.create", ["title": "Past the proxy"]).status == 200)
        let listed = try await coordinator.cli(["audit", "list", "--action", "incident.create", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(listed.text.utf8)) as? [[String: Any]], "\(listed.text)")
        #expect(entries.map { $0["clientAddress"] as? String ?? "" } == ["203.0.113.7", "127.0.0.1"], "\(entries)")
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func everyWriteAndAdministrativeChangeIsAuditedAndATamperedEntryIsDetected() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eaudit")
        let coordinator = try await RunningCoordinator.start(configuration: "plugins: [incident]", databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let created = try await coordinator.call("incident.create", ["title": "Audited"])
        let number = try #require(created.body["number"] as? String)
        #expect(try await coordinator.call("incident.assign", ["number": number, "assignmentGroup": "desk"]).status == 200)
        #expect(try await coordinator.call("incident.transition", ["number": number, "to": "closed"]).status != 200)
        #expect(try await coordinator.call("incident.get", ["number": number]).status == 200) // a read: not audited
        #expect(try await coordinator.cli(["token", "create", "monitoring", "--permission", "incident.read"]).status == .exited(0))
        #expect(try await coordinator.cli(["role", "set", "night-shift", "--permission", "incident.*"]).status == .exited(0))
        #expect(try await coordinator.cli(["role", "delete", "night-shift"]).status == .exited(0))
        #expect(try await coordinator.cli(["group", "set", "night-desk", "--description", "Nights"]).status == .exited(0))
        #expect(try await coordinator.cli(["group", "delete", "night-desk"]).status == .exited(0))
        #expect(try await coordinator.cli(["group", "delete", "night-desk"]).status != .exited(0)) // gone already
        #expect(try await coordinator.request("POST", "api/v1/plugins/reload", token: coordinator.token).0 == 200)

        let listed = try await coordinator.cli(["audit", "list", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(listed.text.utf8)) as? [[String: Any]], "\(listed.text)")
        // The incident process's default grants are recorded too, whenever it got ready.
        let summary = entries.filter { $0["actor"] as? String != "plugin:incident" }
            .map { "\($0["actor"] ?? "") \($0["action"] ?? "") \($0["target"] ?? "-") \($0["outcome"] ?? "")" }
        #expect(summary == [
            "token:admin incident.create \(number) ok",
            "token:admin incident.assign \(number) ok",
            "token:admin incident.transition \(number) incident.invalid_transition",
            "token:admin token.issue monitoring ok",
            "token:admin role.put night-shift ok",
            "token:admin role.delete night-shift ok",
            "token:admin group.put night-desk ok",
            "token:admin group.delete night-desk ok",
            "token:admin group.delete night-desk account.not_found",
            "token:admin plugins.reload - ok",
        ], "\(summary)")
        let intact = try await coordinator.cli(["audit", "verify"])
        #expect(intact.status == .exited(0) && intact.text.contains("audit log intact: \(entries.count) entries"), "\(intact.text)")

        // The log cannot be changed through SQL as it stands...
        let logger = Logger(label: "e2e")
        let connection = try await PostgresConnection.connect(to: database.conninfo, logger: logger)
        await #expect(throws: PostgresError.self) {
            try await connection.query("UPDATE itsm.audit_entry SET target = 'INC-999999' WHERE seq = 2")
        }
        // ...and one who goes around that (as the table's owner) is found out.
        try await connection.query("ALTER TABLE itsm.audit_entry DISABLE TRIGGER audit_entry_append_only")
        try await connection.query("UPDATE itsm.audit_entry SET target = 'INC-999999' WHERE seq = 2")
        let tampered = try await coordinator.cli(["audit", "verify"])
        #expect(tampered.status == .exited(1) && tampered.text.contains("BROKEN at entry 2"), "\(tampered.text)")
        // Removing the entry instead leaves a gap.
        try await connection.query("DELETE FROM itsm.audit_entry WHERE seq = 2")
        let removed = try await coordinator.cli(["audit", "verify"])
        #expect(removed.status == .exited(1) && removed.text.contains("entry 2 is missing"), "\(removed.text)")
        connection.close()
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func aChangeUnderWayWhenItsCoordinatorIsKilledIsStillInTheAuditLog() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eintent")
        let configuration = """
            requestTimeoutMs: 6000
            plugins:
              - incident
              - name: fixture
                command: [python3, \(CoordinatorEndToEndTests.fixturePlugin)]
            """
        let first = try await RunningCoordinator.start(configuration: configuration, databaseURL: database.conninfo)
        defer { first.remove() }
        let pool = PostgresPool(conninfo: database.conninfo, logger: Logger(label: "e2e"))
        // Connected before the change starts, so the kill follows its intent within a poll, well
        // inside the 6 s request timeout (a timeout would give the change an outcome of its own).
        _ = try await pool.query("SELECT 1")
        // The change is under way (the plugin takes 30 s to answer) when its coordinator dies.
        let call = Task { _ = try? await first.call("fixture.slow_write", ["name": "half-done"]) }
        let underWay = try await first.waitUntil {
            try await pool.query("SELECT 1 FROM itsm.audit_intent WHERE action = 'fixture.slow_write'").count == 1
        }
        #expect(underWay)
        #expect(await first.stop(signal: SIGKILL) == .signaled(SIGKILL))
        call.cancel()

        // Another coordinator of the same database appends it, its outcome unknown, once no
        // request could still be running (twice the 6 s request timeout, and 5 s).
        let second = try await RunningCoordinator.start(configuration: configuration, databaseURL: database.conninfo)
        defer { second.remove() }
        func entries() async throws -> [[String: Any]] {
            let listed = try await second.cli(["audit", "list", "--action", "fixture.slow_write", "--json"])
            return try JSONSerialization.jsonObject(with: Data(listed.text.utf8)) as? [[String: Any]] ?? []
        }
        #expect(try await second.waitUntil(timeout: .seconds(60)) { try await entries().count == 1 })
        let entry = try #require(try await entries().first)
        #expect(entry["actor"] as? String == "token:admin" && entry["target"] as? String == "half-done" && entry["outcome"] as? String == "unknown",
                "\(entry)")
        #expect((entry["details"] as? [String: Any])?["unfinished"] as? String == "the coordinator stopped before the outcome was known")
        #expect(try await pool.query("SELECT 1 FROM itsm.audit_intent").isEmpty)
        // Changes that end normally, here the plugin's and the one it makes for its caller, leave
        // no intent behind, and the chain holds.
        #expect(try await second.call("fixture.create_for_caller", ["title": "whole"]).status == 200)
        // Their outcomes are appended just after the answer, which does not wait for them.
        #expect(try await second.waitUntil { try await pool.query("SELECT 1 FROM itsm.audit_intent").isEmpty })
        let made = try await second.cli(["audit", "list", "--action", "incident.create", "--json"])
        #expect(made.text.contains("plugin:fixture for token:admin"), "\(made.text)")
        let verified = try await second.cli(["audit", "verify"])
        #expect(verified.status == .exited(0), "\(verified.text)")
        await pool.close()
        #expect(await second.stop() == .exited(0))
    }

    @Test func directoryPeopleSignInWithTheirPasswordAndGetTheRolesTheirGroupsMapTo() async throws {
        let people = "ou=people,\(TestDirectory.suffix)"
        let groups = "ou=groups,\(TestDirectory.suffix)"
        let directory = try await TestDirectory.start(entries: """
            dn: cn=itsm,\(TestDirectory.suffix)
            objectClass: organizationalRole
            objectClass: simpleSecurityObject
            cn: itsm
            userPassword: search account password

            dn: \(people)
            objectClass: organizationalUnit
            ou: people

            dn: \(groups)
            objectClass: organizationalUnit
            ou: groups

            dn: uid=dana,\(people)
            objectClass: inetOrgPerson
            uid: dana
            cn: Dana Directory
            sn: Directory
            mail: dana@example.org
            userPassword: dana's directory password

            dn: uid=erin,\(people)
            objectClass: inetOrgPerson
            uid: erin
            cn: Erin Employee
            sn: Employee
            userPassword: erin's directory password

            dn: cn=service-desk,\(groups)
            objectClass: groupOfNames
            cn: service-desk
            member: uid=dana,\(people)
            member: cn=itsm,\(TestDirectory.suffix)

            dn: cn=itsm-admins,\(groups)
            objectClass: groupOfNames
            cn: itsm-admins
            member: cn=itsm,\(TestDirectory.suffix)
            """)
        defer { directory.remove() }
        let passwordFile = directory.directory + "/bind.password"
        try "search account password\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins: [incident]
            directory:
              url: \(directory.url)
              bindDN: cn=itsm,\(TestDirectory.suffix)
              bindPasswordFile: \(passwordFile)
              userBase: \(people)
              groupBase: \(groups)
              groupRoles:
                service-desk: [agent]
                cn=itsm-admins,\(groups): [administrator]
            """)
        defer { coordinator.remove() }

        // Dana's group makes her an agent; her account is made at her first sign-in from the directory's entry.
        let dana = try await Self.signIn(coordinator, "dana", "dana's directory password")
        #expect(dana.status == 200 && dana.body["roles"] as? [String] == ["agent"], "\(dana)")
        let account = try await coordinator.request("GET", "api/v1/users/dana", token: coordinator.token)
        let fields = try #require(try JSONSerialization.jsonObject(with: account.1) as? [String: Any])
        #expect(fields["source"] as? String == "directory" && fields["displayName"] as? String == "Dana Directory"
                && fields["email"] as? String == "dana@example.org" && fields["hasPassword"] as? Bool == false, "\(fields)")
        #expect(try await dana.session!.send("POST", "api/v1/rpc/incident.create", ["title": "From the directory"]).status == 200)
        // Erin is in no mapped group: she may report, as anyone in the directory may.
        let erin = try await Self.signIn(coordinator, "erin", "erin's directory password")
        #expect(erin.status == 200 && erin.body["roles"] as? [String] == ["requester"], "\(erin)")
        // Wrong passwords, an empty one, and names that would widen the search are refused alike.
        for (name, password) in [("dana", "not her password"), ("dana", ""), ("*", "dana's directory password"),
                                 ("dana)(uid=*", "dana's directory password"), ("nobody", "whatever it may be")] {
            #expect(try await Self.signIn(coordinator, name, password).status == 401, "\(name)")
        }

        // The directory moves Dana to the administrators: her next sign-in says so.
        try await directory.modify("""
            dn: cn=service-desk,\(groups)
            changetype: modify
            delete: member
            member: uid=dana,\(people)

            dn: cn=itsm-admins,\(groups)
            changetype: modify
            add: member
            member: uid=dana,\(people)
            """)
        let promoted = try await Self.signIn(coordinator, "dana", "dana's directory password")
        #expect(promoted.status == 200 && promoted.body["roles"] as? [String] == ["administrator"], "\(promoted)")

        // The directory is down: its people cannot sign in and are told why; local accounts still can.
        #expect(try await coordinator.cli(["user", "create", "lena", "--role", "agent", "--password-stdin"],
                                          input: "lena's local password\n").status == .exited(0))
        await directory.stop()
        let down = try await Self.signIn(coordinator, "dana", "dana's directory password")
        #expect(down.status == 503 && "\(down.body)".contains("directory.unavailable"), "\(down)")
        #expect(try await Self.signIn(coordinator, "lena", "lena's local password").status == 200)
        #expect(await coordinator.stop() == .exited(0))
    }
}
