import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Logging
import Testing

/// The notification process against real servers on loopback: aiosmtpd (STARTTLS, AUTH PLAIN)
/// receiving the mail, and an HTTP server receiving the webhooks.
@Suite struct NotificationEndToEndTests {
    /// The Python servers, started for one test.
    struct Servers {
        let directory: String
        let process: ChildProcess
        let smtpPort: Int
        let httpPort: Int

        static func start(certificates: TestCertificates) async throws -> Servers {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("itsm-mail-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/mail_and_webhook_servers.py").path
            let log = directory + "/servers.log"
            let process = try ChildProcess.spawn(.init(
                executable: try ConsoleEndToEndTests.python(),
                arguments: [script, directory, certificates.directory + "/coordinator.pem", certificates.directory + "/coordinator.key",
                            "desk", "desk's smtp password"],
                standardOutput: .file(log), standardError: .file(log)))
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline, process.status == nil {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("smtp ") }) {
                    let parts = line.split(separator: " ")
                    return Servers(directory: directory, process: process, smtpPort: Int(parts[1])!, httpPort: Int(parts[3])!)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            process.signal(SIGKILL)
            throw TestHarnessError("the mail and webhook servers did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }

        /// Each message received, as sent.
        func mails() -> [String] {
            let folder = directory + "/mail"
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".eml") }.sorted()
            return names.compactMap { try? String(contentsOfFile: folder + "/" + $0, encoding: .utf8) }
        }

        /// Each webhook post received: path, headers (lower-case names), body.
        func hooks() -> [[String: Any]] {
            let folder = directory + "/hooks"
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
            return names.compactMap { name in
                (try? Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            }
        }

        func remove() {
            process.signal(SIGKILL)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// A request's approver, its task's group and its requester are mailed, each at the step
    /// that concerns them, by the default rules.
    @Test func aRequestsApproverTaskGroupAndRequesterAreMailedAtTheirSteps() async throws {
        let certificates = try await TestCertificates.make(coordinators: ["127.0.0.1"])
        defer { certificates.remove() }
        let servers = try await Servers.start(certificates: certificates)
        defer { servers.remove() }
        try "desk's smtp password\n".write(toFile: servers.directory + "/smtp", atomically: true, encoding: .utf8)
        let database = try await TestPostgres.makeDatabase(label: "e2ereqmail")
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - incident
              - service
              - name: notification
                config:
                  smtp: {host: 127.0.0.1, port: \(servers.smtpPort), caFile: \(certificates.ca), username: desk,
                         passwordFile: \(servers.directory)/smtp, from: "Service desk <desk@example.org>"}
                  emailDomain: example.org
            """, databaseURL: database.conninfo)
        defer { coordinator.remove() }
        for (name, role) in ["rita": "requester", "lena": "agent", "piet": "agent"] {
            #expect(try await coordinator.cli(["user", "create", name, "--role", role, "--password-stdin"],
                                              input: "\(name) has a long password\n").status == .exited(0))
        }
        #expect(try await coordinator.cli(["group", "set", "team-leads", "--lead", "lena"]).status == .exited(0))
        #expect(try await coordinator.cli(["group", "set", "procurement", "--member", "piet"]).status == .exited(0))
        #expect(try await coordinator.call("service.set", ["name": "Workplace"]).status == 200)
        #expect(try await coordinator.call("request_item.set", [
            "name": "laptop", "service": "Workplace", "title": "New laptop", "targetMinutes": 480,
            "approvals": [["kind": "group", "name": "team-leads"]], "tasks": [["name": "order", "group": "procurement"]],
        ]).status == 200)
        let raised = try await coordinator.call("request.raise", ["item": "laptop", "requester": "rita"])
        let number = try #require(raised.body["number"] as? String, "\(raised.body)")

        func mailed(_ address: String, _ subject: String) async throws -> Bool {
            try await coordinator.waitUntil(timeout: .seconds(60)) {
                servers.mails().contains { $0.contains("To: <\(address)>") || $0.contains("To: \(address)") ? $0.contains(subject) : false }
            }
        }
        #expect(try await mailed("lena@example.org", "Approval wanted: \(number) New laptop for rita"), "\(servers.mails())")
        #expect(try await coordinator.call("request.decide", ["number": number, "decision": "approve"]).status == 200)
        #expect(try await mailed("piet@example.org", "Task for procurement: order on \(number)"), "\(servers.mails())")
        #expect(try await coordinator.call("request.complete_task", ["number": number, "task": "order"]).status == 200)
        #expect(try await mailed("rita@example.org", "Fulfilled: \(number) New laptop"), "\(servers.mails())")
        Self.expectNoCrash(coordinator)
        #expect(await coordinator.stop() == .exited(0))
    }

    /// The process never fell over; if it did, what it printed says where.
    static func expectNoCrash(_ coordinator: RunningCoordinator, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!coordinator.log.contains("exited with signal"),
                "\(coordinator.log.split(separator: "\n").filter { $0.contains("itsm.stream=stderr") }.prefix(60).map { $0.split(separator: "[ITSMCoordinator]").last ?? "" })",
                sourceLocation: sourceLocation)
    }

    /// The text of a message's plain-text part (base64 in the message).
    static func plainText(of mail: String) -> String {
        guard let start = mail.range(of: "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n") else { return "" }
        let encoded = mail[start.upperBound...].prefix { $0 != "-" }.filter { !$0.isWhitespace }
        return Data(base64Encoded: String(encoded)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    @Test func anAssignmentABreachAndAResolutionReachThePeopleAndTheWebhookOnceEach() async throws {
        let certificates = try await TestCertificates.make(coordinators: ["127.0.0.1"])
        defer { certificates.remove() }
        let servers = try await Servers.start(certificates: certificates)
        defer { servers.remove() }
        let secrets = servers.directory + "/secrets"
        try FileManager.default.createDirectory(atPath: secrets, withIntermediateDirectories: true)
        try "desk's smtp password\n".write(toFile: secrets + "/smtp", atomically: true, encoding: .utf8)
        try "a shared webhook secret\n".write(toFile: secrets + "/ops", atomically: true, encoding: .utf8)

        let database = try await TestPostgres.makeDatabase(label: "e2enotify")
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - incident
              - name: notification
                config:
                  smtp: {host: 127.0.0.1, port: \(servers.smtpPort), caFile: \(certificates.ca), username: desk,
                         passwordFile: \(secrets)/smtp, from: "Service desk <desk@example.org>"}
                  emailDomain: example.org
                  webhooks:
                    ops: {url: "http://127.0.0.1:\(servers.httpPort)/ops/flaky", format: json, secretFile: \(secrets)/ops}
                    gone: {url: "http://127.0.0.1:\(servers.httpPort)/old/gone", format: slack}
                  retry: {firstSeconds: 1, attempts: 3}
            """, databaseURL: database.conninfo, environment: ["ITSM_INCIDENT_SLA_SCAN_SECONDS": "1"])
        defer { coordinator.remove() }

        // The defaults are there; the operations team adds its webhook for P3 breaches, and an old one.
        let rules = try await coordinator.call("notification.rule_list")
        #expect((rules.body["items"] as? [[String: Any]])?.compactMap { $0["name"] as? String }.sorted()
                == ["approver-on-approval-reminder", "approver-on-approval-requested", "assignee-on-assignment", "assignee-on-sla-breach",
                    "assignee-on-sla-warning", "caller-on-resolution", "group-on-task-ready", "requester-on-fulfilment",
                    "requester-on-rejection"], "\(rules.body)")
        let added = try await coordinator.call("notification.rule_set", [
            "name": "ops-on-breach", "event": "incident.sla_breached", "filters": ["priority": ["P3"], "clock": ["resolution"]],
            "recipients": [["kind": "webhook", "value": "ops"], ["kind": "webhook", "value": "gone"]],
            "template": ["subject": "[{{record.priority}}] {{record.number}} breached its {{clock}} target"],
        ])
        #expect(added.status == 200, "\(added.body)")
        let unknown = try await coordinator.call("notification.rule_set", [
            "name": "x", "event": "incident.sla_breached", "recipients": [["kind": "webhook", "value": "nowhere"]],
        ])
        #expect(unknown.status == 400 && "\(unknown.body)".contains("recipients[0].value: a webhook in the configuration: gone, ops"), "\(unknown.body)")
        #expect(try await coordinator.call("incident.sla.define", [
            "priority": "P3", "responseMinutes": 60, "resolutionMinutes": 240,
            "calendar": ["timeZone": "UTC", "hours": ["monday": ["00:00-24:00"], "tuesday": ["00:00-24:00"],
                         "wednesday": ["00:00-24:00"], "thursday": ["00:00-24:00"], "friday": ["00:00-24:00"],
                         "saturday": ["00:00-24:00"], "sunday": ["00:00-24:00"]]],
        ]).status == 200)

        // The network group: Alan has an address on his account, Nina none (the domain's is used).
        for (name, email) in [("alan", "alan@corp.example"), ("nina", nil)] {
            let made = try await coordinator.cli(["user", "create", name, "--role", "agent"] + (email.map { ["--email", $0] } ?? []))
            #expect(made.status == .exited(0), "\(made.text)")
        }
        let group = try await coordinator.request("PUT", "api/v1/groups/network", body: try JSONSerialization.data(withJSONObject: [
            "members": ["alan", "nina"], "leads": ["alan"],
        ]), token: coordinator.token)
        #expect(group.0 == 200, "\(String(decoding: group.1, as: UTF8.self))")
        #expect(try await coordinator.call("notification.rule_set", [
            "name": "group-on-breach", "event": "incident.sla_breached", "recipients": [["kind": "group"]],
        ]).status == 200)

        // Rita reports; Alan is assigned in the network group: he is mailed at his account's address.
        let created = try await coordinator.call("incident.create", ["title": "Mail is down", "caller": "rita@example.org"])
        let number = try #require(created.body["number"] as? String, "\(created.body)")
        #expect(try await coordinator.call("incident.assign", ["number": number, "assignmentGroup": "network", "assignee": "alan"]).status == 200)
        #expect(try await coordinator.waitUntil { servers.mails().contains { $0.contains("To: alan@corp.example") && $0.contains("assigned to you") } })

        // Its resolution target passes: Alan is mailed, the webhook gets a signed post (after one 500), the gone one gives up.
        let pool = PostgresPool(conninfo: database.conninfo, logger: Logger(label: "e2e"))
        defer { Task { await pool.close() } }
        try await pool.query("UPDATE incident.sla_clock SET warning_at = now() - interval '2 minutes', due_at = now() - interval '1 minute'")
        #expect(try await coordinator.waitUntil { servers.mails().contains { $0.contains("SLA breached on \(number)") && $0.contains("To: nina@example.org") } })
        #expect(try await coordinator.waitUntil { !servers.hooks().isEmpty })
        let hook = try #require(servers.hooks().first)
        let headers = try #require(hook["headers"] as? [String: String])
        let body = try #require(hook["body"] as? String)
        #expect(headers["x-itsm-event"] == "incident.sla_breached" && body.contains("\"number\":\"\(number)\"")
                && body.contains("\"subject\":\"[P3] \(number) breached its resolution target\""), "\(hook)")
        // The signature is what the receiver computes with the shared secret.
        let expected = try await Command.run("/usr/bin/python3", ["-c", """
            import hashlib, hmac, sys
            print("sha256=" + hmac.new(b"a shared webhook secret", sys.argv[1].encode(), hashlib.sha256).hexdigest())
            """, body])
        #expect(headers["x-itsm-signature"] == expected.text.trimmingCharacters(in: .whitespacesAndNewlines), "\(headers)")

        // Rita hears that it is resolved.
        #expect(try await coordinator.call("incident.transition", ["number": number, "to": "in_progress"]).status == 200)
        let resolved = try await coordinator.call("incident.transition", ["number": number, "to": "resolved", "resolutionCode": "fixed",
                                                                          "resolutionNotes": "The mail queue was cleared."])
        #expect(resolved.status == 200, "\(resolved.body)")
        #expect(try await coordinator.waitUntil {
            servers.mails().contains { $0.contains("To: rita@example.org") && Self.plainText(of: $0).contains("The mail queue was cleared.") }
        })

        // Support sees each notification: sent, the flaky webhook on its second attempt, the gone one given up with why.
        var items: [[String: Any]] = []
        #expect(try await coordinator.waitUntil {
            items = (try await coordinator.call("notification.list", ["subject": number]).body["items"] as? [[String: Any]]) ?? []
            return items.contains { $0["event"] as? String == "incident.resolved" }
                && !items.contains { ["pending", "sending"].contains($0["status"] as? String) }
        }, "\(items)")
        // Page by page, by cursor: the same notifications in the same order, none twice, none missed.
        var paged: [String] = []
        var after: String?
        repeat {
            var params: [String: Any] = ["subject": number, "limit": 2]
            if let after { params["after"] = after }
            let page = try await coordinator.call("notification.list", params).body
            paged += (page["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            after = page["nextCursor"] as? String
        } while after != nil && paged.count <= items.count
        #expect(items.count > 2 && paged == items.compactMap { $0["id"] as? String }, "\(paged)")
        let notACursor = try await coordinator.call("notification.list", ["after": "bm90LWEtY3Vyc29y"])
        #expect(notACursor.status == 400 && "\(notACursor.body)".contains("after: not a nextCursor"), "\(notACursor)")

        let webhooks = items.filter { $0["channel"] as? String == "webhook" }
        let ops = try #require(webhooks.first { $0["recipient"] as? String == "ops" })
        #expect(webhooks.count == 2 && ops["status"] as? String == "sent" && ops["attempts"] as? Int == 2, "\(webhooks)")
        let gone = try #require(webhooks.first { $0["recipient"] as? String == "gone" })
        #expect(gone["status"] as? String == "failed" && (gone["lastError"] as? String)?.contains("HTTP 410") == true && gone["attempts"] as? Int == 1, "\(gone)")
        let mails = items.filter { $0["channel"] as? String == "email" }
        #expect(mails.allSatisfy { $0["status"] as? String == "sent" }, "\(mails)")
        let events = Set(mails.map { "\($0["recipient"] ?? "") \($0["event"] ?? "")" })
        #expect(events == ["alan@corp.example incident.assigned", "alan@corp.example incident.sla_warning",
                           "alan@corp.example incident.sla_breached", "nina@example.org incident.sla_breached",
                           "rita@example.org incident.resolved"], "\(events)")
        // Alan is named by two rules for each breach (assignee, group), and told once per breach.
        let breaches = Set(items.filter { $0["event"] as? String == "incident.sla_breached" }.compactMap { $0["eventId"] as? String })
        #expect(mails.filter { $0["recipient"] as? String == "alan@corp.example" && $0["event"] as? String == "incident.sla_breached" }.count
                == breaches.count)

        // Support sees the same in the console, turns a rule off there, and sends the failed one again.
        #expect(try await coordinator.cli(["user", "create", "ada", "--role", "administrator", "--password-stdin"],
                                          input: "ada has a long password\n").status == .exited(0))
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Browser/notification_console.py").standardized.path
        let browsed = try await Command.run(try ConsoleEndToEndTests.python(), [script, coordinator.baseURL.absoluteString])
        #expect(browsed.status == .exited(0) && browsed.text.contains("notification console: all steps passed"), "\(browsed.text)")
        let made = try await coordinator.call("notification.rule_get", ["name": "leads-on-p1-breach"]).body
        #expect((made["filters"] as? [String: Any])?["priority"] as? [String] == ["P1"], "\(made)")
        let rule = try await coordinator.call("notification.rule_get", ["name": "caller-on-resolution"]).body
        #expect(rule["enabled"] as? Bool == false && (rule["history"] as? [[String: Any]])?.last?["actor"] as? String == "user:ada", "\(rule)")
        // The second attempt happened (the retry reset the count) and failed like the first; the retry is audited.
        let goneID = try #require(gone["id"] as? String)
        #expect(try await coordinator.waitUntil {
            coordinator.log.split(separator: "\n").filter { $0.contains("notification given up") && $0.localizedCaseInsensitiveContains(goneID) }.count == 2
        })
        let again = try await coordinator.call("notification.get", ["id": goneID]).body
        #expect(again["status"] as? String == "failed" && again["attempts"] as? Int == 1, "\(again)")
        let retries = try await coordinator.request("GET", "api/v1/audit?action=notification.retry", token: coordinator.token).1
        #expect(String(decoding: retries, as: UTF8.self).contains("user:ada"))

        // Once each, however often the scans ran: one message per notification, one post.
        try await Task.sleep(for: .seconds(2))
        let ids = servers.mails().compactMap { $0.firstMatch(of: /Message-ID: <([^>]+)>/).map { String($0.output.1) } }
        #expect(ids.count == mails.count && Set(ids) == Set(mails.compactMap { ($0["id"] as? String).map { $0.lowercased() + "@itsm" } }), "\(ids)")
        #expect(servers.hooks().count == 1)
        Self.expectNoCrash(coordinator)
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func aFiringAlertFromTheRealAlertmanagerOpensOneIncidentAndItsResolutionResolvesIt() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2ealerts")
        let coordinator = try await RunningCoordinator.start(configuration: "plugins: [incident, notification]", databaseURL: database.conninfo)
        defer { coordinator.remove() }
        // Alertmanager gets a token of its own that can do nothing but post alerts.
        let issued = try await coordinator.request("POST", "api/v1/tokens", body: try JSONSerialization.data(withJSONObject: [
            "name": "alertmanager", "permissions": ["alerts.write"],
        ]), token: coordinator.token)
        let token = try #require((try JSONSerialization.jsonObject(with: issued.1) as? [String: Any])?["token"] as? String, "\(issued)")
        let folder = coordinator.directory + "/alertmanager"
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        try token.write(toFile: folder + "/token", atomically: true, encoding: .utf8)
        try """
            route:
              receiver: itsm
              group_by: [alertname, service]
              group_wait: 1s
              group_interval: 1s
              repeat_interval: 1h
            receivers:
              - name: itsm
                webhook_configs:
                  - url: \(coordinator.baseURL.appendingPathComponent("api/v1/alerts/alertmanager").absoluteString)
                    send_resolved: true
                    http_config:
                      authorization: {type: Bearer, credentials_file: \(folder)/token}
            """.write(toFile: folder + "/alertmanager.yml", atomically: true, encoding: .utf8)
        let alertmanager = try await Self.startAlertmanager(folder)
        defer { alertmanager.process.signal(SIGKILL) }

        func post(_ alerts: [[String: Any]]) async throws {
            let (status, body) = try await HTTPExchange.send("POST", URL(string: "http://127.0.0.1:\(alertmanager.port)/api/v2/alerts")!,
                                                             body: try JSONSerialization.data(withJSONObject: alerts), headers: ["Content-Type": "application/json"])
            #expect(status == 200, "\(String(decoding: body, as: UTF8.self))")
        }
        let started = Date().addingTimeInterval(-5).formatted(.iso8601)
        func alert(_ instance: String, endsAt: Date) -> [String: Any] {
            ["labels": ["alertname": "DiskFull", "service": "email", "instance": instance, "severity": "critical"],
             "annotations": ["summary": "Disk full on the mail store"], "startsAt": started, "endsAt": endsAt.formatted(.iso8601)]
        }
        func incidents() async throws -> [[String: Any]] {
            (try await coordinator.call("incident.list", ["category": "monitoring"]).body["items"] as? [[String: Any]]) ?? []
        }

        // One alert fires: one incident, from its labels.
        try await post([alert("db1", endsAt: Date().addingTimeInterval(3600))])
        #expect(try await coordinator.waitUntil { try await incidents().count == 1 },
                "\((try? String(contentsOfFile: folder + "/alertmanager.log", encoding: .utf8)) ?? "")\n\(coordinator.log.suffix(3000))")
        let incident = try #require(try await incidents().first)
        let number = try #require(incident["number"] as? String)
        #expect(incident["title"] as? String == "Disk full on the mail store" && incident["service"] as? String == "email"
                && incident["priority"] as? String == "P1", "\(incident)")

        // A second alert of the same group joins it as a work note; still one incident.
        try await post([alert("db1", endsAt: Date().addingTimeInterval(3600)), alert("db2", endsAt: Date().addingTimeInterval(3600))])
        #expect(try await coordinator.waitUntil {
            let detail = try await coordinator.call("incident.get", ["number": number, "comments": true]).body
            return (detail["comments"] as? [[String: Any]] ?? []).contains { ($0["body"] as? String)?.contains("instance=db2") == true }
        })
        #expect(try await incidents().count == 1)

        // Both resolve: so does the incident, saying so.
        try await post([alert("db1", endsAt: Date().addingTimeInterval(-1)), alert("db2", endsAt: Date().addingTimeInterval(-1))])
        #expect(try await coordinator.waitUntil {
            let detail = try await coordinator.call("incident.get", ["number": number]).body
            return (detail["incident"] as? [String: Any])?["status"] as? String == "resolved"
        })
        let resolved = try #require(try await coordinator.call("incident.get", ["number": number]).body["incident"] as? [String: Any])
        #expect(resolved["resolutionCode"] as? String == "resolved_by_monitoring"
                && (resolved["resolutionNotes"] as? String)?.contains("Resolved: Disk full on the mail store") == true, "\(resolved)")
        #expect(try await incidents().count == 1)

        // Its token posts alerts and nothing else.
        #expect(try await coordinator.call("incident.list", [:], token: token).status == 403)
        Self.expectNoCrash(coordinator)
        #expect(await coordinator.stop() == .exited(0))
    }

    /// Debian's Alertmanager on a free loopback port (it cannot take port 0: a taken one makes it exit, and another is tried).
    static func startAlertmanager(_ folder: String) async throws -> (process: ChildProcess, port: Int) {
        for _ in 0..<5 {
            let port = Int.random(in: 20_000..<60_000)
            let process = try ChildProcess.spawn(.init(
                executable: "/usr/bin/prometheus-alertmanager",
                arguments: ["--config.file=\(folder)/alertmanager.yml", "--storage.path=\(folder)/data",
                            "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address="],
                standardOutput: .file(folder + "/alertmanager.log"), standardError: .file(folder + "/alertmanager.log")))
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline, process.status == nil {
                if let (status, _) = try? await HTTPExchange.send("GET", URL(string: "http://127.0.0.1:\(port)/-/ready")!), status == 200 {
                    return (process, port)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            process.signal(SIGKILL)
            _ = await process.wait()
        }
        throw TestHarnessError("alertmanager did not start: \((try? String(contentsOfFile: folder + "/alertmanager.log", encoding: .utf8)) ?? "")")
    }

    /// Debian's dovecot holding the desk's mailbox, STARTTLS required, on a free loopback port.
    struct Mailbox {
        let directory: String
        let process: ChildProcess
        let port: Int

        static func start(certificates: TestCertificates) async throws -> Mailbox {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("itsm-imap-\(UUID().uuidString.prefix(8))").path
            for folder in ["run", "state", "mail/desk/new", "mail/desk/cur", "mail/desk/tmp"] {
                try FileManager.default.createDirectory(atPath: directory + "/" + folder, withIntermediateDirectories: true)
            }
            try "desk:{PLAIN}the desk's imap password\n".write(toFile: directory + "/users", atomically: true, encoding: .utf8)
            _ = try await Command.run("/bin/chown", ["-R", "dovecot:dovecot", directory + "/mail"])
            for _ in 0..<5 {
                let port = Int.random(in: 20_000..<60_000)
                try """
                    base_dir = \(directory)/run
                    state_dir = \(directory)/state
                    log_path = \(directory)/dovecot.log
                    protocols = imap
                    listen = 127.0.0.1
                    ssl = required
                    ssl_cert = <\(certificates.directory)/coordinator.pem
                    ssl_key = <\(certificates.directory)/coordinator.key
                    disable_plaintext_auth = yes
                    mail_location = maildir:\(directory)/mail/%u
                    default_internal_user = dovecot
                    default_login_user = dovenull
                    first_valid_uid = 1
                    first_valid_gid = 1
                    passdb {
                      driver = passwd-file
                      args = scheme=PLAIN username_format=%u \(directory)/users
                    }
                    userdb {
                      driver = static
                      args = uid=dovecot gid=dovecot home=\(directory)/mail/%u
                    }
                    service imap-login {
                      inet_listener imap {
                        port = \(port)
                      }
                      inet_listener imaps {
                        port = 0
                      }
                    }
                    """.write(toFile: directory + "/dovecot.conf", atomically: true, encoding: .utf8)
                let process = try ChildProcess.spawn(.init(executable: "/usr/sbin/dovecot", arguments: ["-F", "-c", directory + "/dovecot.conf"],
                                                           standardOutput: .file(directory + "/dovecot.out"), standardError: .file(directory + "/dovecot.out")))
                let deadline = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < deadline, process.status == nil {
                    let log = (try? String(contentsOfFile: directory + "/dovecot.log", encoding: .utf8)) ?? ""
                    if log.contains("starting up"), let probe = try? await Command.run("/usr/bin/python3", ["-c", """
                        import socket; socket.create_connection(("127.0.0.1", \(port)), timeout=1).close()
                        """]), probe.status == .exited(0) {
                        return Mailbox(directory: directory, process: process, port: port)
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                process.signal(SIGKILL)
                _ = await process.wait()
                try? FileManager.default.removeItem(atPath: directory + "/run/master.pid")
            }
            throw TestHarnessError("dovecot did not start: \((try? String(contentsOfFile: directory + "/dovecot.out", encoding: .utf8)) ?? "")")
        }

        /// Delivers a message the way a mail server does into a Maildir: written in tmp, moved into new.
        func deliver(_ message: String) throws {
            let name = "\(UUID().uuidString).itsm-test"
            try message.replacingOccurrences(of: "\n", with: "\r\n").write(toFile: "\(directory)/mail/desk/tmp/\(name)", atomically: false, encoding: .utf8)
            _ = chown("\(directory)/mail/desk/tmp/\(name)", getpwnam("dovecot").pointee.pw_uid, getgrnam("dovecot").pointee.gr_gid)
            try FileManager.default.moveItem(atPath: "\(directory)/mail/desk/tmp/\(name)", toPath: "\(directory)/mail/desk/new/\(name)")
        }

        /// The messages the server holds as seen (Maildir flag S).
        func seen() -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/mail/desk/cur")) ?? [])
                .filter { $0.split(separator: ":").last.map { $0.hasPrefix("2,") && $0.contains("S") } ?? false }.count
        }

        func remove() {
            process.signal(SIGKILL)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test func mailToTheDeskBecomesAnIncidentItsReplyACommentAndAutomaticMailNothing() async throws {
        let certificates = try await TestCertificates.make(coordinators: ["127.0.0.1"])
        defer { certificates.remove() }
        let mailbox = try await Mailbox.start(certificates: certificates)
        defer { mailbox.remove() }
        try "the desk's imap password\n".write(toFile: mailbox.directory + "/imap-password", atomically: true, encoding: .utf8)
        let database = try await TestPostgres.makeDatabase(label: "e2emailin")
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - incident
              - name: notification
                config:
                  mailbox: {host: 127.0.0.1, port: \(mailbox.port), caFile: \(certificates.ca), username: desk,
                            passwordFile: \(mailbox.directory)/imap-password, pollSeconds: 1}
                  smtp: {host: 127.0.0.1, port: 9, from: "Service desk <desk@example.org>"}
            """, databaseURL: database.conninfo)
        defer { coordinator.remove() }
        func incidents() async throws -> [[String: Any]] {
            (try await coordinator.call("incident.list", ["category": "email"]).body["items"] as? [[String: Any]]) ?? []
        }
        // Rita has an account with her address: her mail is hers.
        #expect(try await coordinator.cli(["user", "create", "rita", "--role", "requester", "--email", "Rita@Example.org"]).status == .exited(0))

        try mailbox.deliver("""
            From: Rita Requester <rita@example.org>
            To: desk@example.org
            Subject: Printer on floor 2 jams
            Message-ID: <first@example.org>

            Every second page jams since this morning.
            """)
        #expect(try await coordinator.waitUntil { try await incidents().count == 1 }, "\(coordinator.log.suffix(2000))")
        let incident = try #require(try await incidents().first)
        let number = try #require(incident["number"] as? String)
        #expect(incident["title"] as? String == "Printer on floor 2 jams" && incident["caller"] as? String == "rita", "\(incident)")

        try mailbox.deliver("""
            From: rita@example.org
            To: desk@example.org
            Subject: Re: [\(number)] Printer on floor 2 jams
            Message-ID: <reply@example.org>

            Thanks, it works again.

            On Mon, 30 Nov 2026, Service desk wrote:
            > Your incident is resolved.
            """)
        #expect(try await coordinator.waitUntil {
            let detail = try await coordinator.call("incident.get", ["number": number, "comments": true]).body
            return (detail["comments"] as? [[String: Any]] ?? []).contains {
                $0["visibility"] as? String == "customer" && ($0["body"] as? String)?.contains("Thanks, it works again.") == true
                    && ($0["body"] as? String)?.contains("Your incident is resolved") == false
            }
        })

        // An out-of-office answer, a bounce and our own mail come back: none becomes a ticket.
        try mailbox.deliver("From: rita@example.org\nSubject: Out of office\nAuto-Submitted: auto-replied\nMessage-ID: <ooo@example.org>\n\nAway.")
        try mailbox.deliver("From: MAILER-DAEMON@example.org\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <bounce@example.org>\n\nNo such user.")
        try mailbox.deliver("From: Service desk <desk@example.org>\nSubject: Resolved: \(number)\nX-ITSM-Event: incident.resolved\nMessage-ID: <own@itsm>\n\nResolved.")
        var read: [[String: Any]] = []
        #expect(try await coordinator.waitUntil {
            read = (try await coordinator.call("notification.mail_list").body["items"] as? [[String: Any]]) ?? []
            return read.count == 5
        }, "\(read)")
        let reasons = read.filter { $0["action"] as? String == "ignored" }.compactMap { $0["reason"] as? String }.sorted()
        #expect(reasons.count == 3 && reasons[0].hasPrefix("a delivery report") && reasons[1].hasPrefix("an automatic message")
                && reasons[2] == "our own mail", "\(reasons)")
        #expect(try await incidents().count == 1)
        // Each was flagged seen on the server, and is not read again.
        #expect(try await coordinator.waitUntil { mailbox.seen() == 5 })
        try await Task.sleep(for: .seconds(2))
        Self.expectNoCrash(coordinator)
        let after = try await coordinator.call("notification.mail_list")
        #expect((after.body["items"] as? [[String: Any]])?.count == 5, "\(after)")
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func aSendCutShortByAKilledProcessIsSentOnceWhenItComesBack() async throws {
        let certificates = try await TestCertificates.make(coordinators: ["127.0.0.1"])
        defer { certificates.remove() }
        let servers = try await Servers.start(certificates: certificates)
        defer { servers.remove() }
        try "desk's smtp password\n".write(toFile: servers.directory + "/smtp-password", atomically: true, encoding: .utf8)
        let database = try await TestPostgres.makeDatabase(label: "e2enotifykill")
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - incident
              - name: notification
                config:
                  smtp: {host: 127.0.0.1, port: \(servers.smtpPort), caFile: \(certificates.ca), username: desk,
                         passwordFile: \(servers.directory)/smtp-password, from: desk@example.org}
                  retry: {firstSeconds: 1, attempts: 5, claimSeconds: 5}
            """, databaseURL: database.conninfo)
        defer { coordinator.remove() }
        #expect(try await coordinator.call("notification.rule_set", [
            "name": "desk-copy", "event": "incident.created", "recipients": [["kind": "address", "value": "slow-desk@example.org"]],
        ]).status == 200)

        // The mail server holds the message at RCPT; the process sending it is killed there.
        FileManager.default.createFile(atPath: servers.directory + "/slow", contents: Data())
        let created = try await coordinator.call("incident.create", ["title": "Printer on fire"])
        let number = try #require(created.body["number"] as? String)
        func delivery() async throws -> [String: Any]? {
            (try await coordinator.call("notification.list", ["subject": number]).body["items"] as? [[String: Any]])?.first
        }
        #expect(try await coordinator.waitUntil { try await delivery()?["status"] as? String == "sending" })
        let pid = try #require(try await coordinator.plugins()["notification"]?["pid"] as? Int)
        kill(pid_t(pid), SIGKILL)
        try FileManager.default.removeItem(atPath: servers.directory + "/slow")

        // It comes back, finds the claim abandoned, and sends it: once.
        #expect(try await coordinator.waitUntil(timeout: .seconds(60)) { try await delivery()?["status"] as? String == "sent" })
        let sent = try #require(try await delivery())
        #expect(sent["attempts"] as? Int == 2, "\(sent)")
        #expect(try await coordinator.plugins()["notification"]?["pid"] as? Int != pid)
        try await Task.sleep(for: .seconds(2))
        #expect(servers.mails().filter { $0.contains("To: slow-desk@example.org") }.count == 1)
        #expect(await coordinator.stop() == .exited(0))
    }
}
