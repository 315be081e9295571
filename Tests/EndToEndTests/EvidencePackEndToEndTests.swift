import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Logging
import Testing

/// The auditor's evidence pack (GET /api/v1/evidence, `itsm report evidence`) for a month of a
/// seeded system: checked against the database, against its manifest with the system's own
/// sha256sum and Python's zip reader, in a real browser, and for who may read what.
@Suite struct EvidencePackEndToEndTests {
    @Test func aMonthsPackHoldsTheRecordsOfThatMonthClauseByClauseAndItsManifestVerifies() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2epack")
        let coordinator = try await RunningCoordinator.start(configuration: RunningCoordinator.everyBuiltInProcess,
                                                             databaseURL: database.conninfo)
        defer { coordinator.remove() }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let thisMonth = calendar.dateInterval(of: .month, for: Date())!.start
        let (from, to) = (calendar.date(byAdding: .month, value: -1, to: thisMonth)!, thisMonth) // last month
        let day = { (date: Date) in String(date.formatted(.iso8601).prefix(10)) }

        // A month of service management, made through the API.
        var incidents: [String] = []
        for title in ["Mail down", "VPN slow", "Printer jam", "Old laptop", "Badge reader"] {
            let created = try await coordinator.call("incident.create", ["title": title])
            incidents.append(try #require(created.body["number"] as? String, "\(created.body)"))
        }
        #expect(try await coordinator.call("incident.assign", ["number": incidents[0], "assignmentGroup": "network"]).status == 200)
        #expect(try await coordinator.call("problem.create", ["title": "Mail queue fills up"]).status == 200)
        #expect(try await coordinator.call("supplier.create", ["name": "Mail Hosting Ltd", "kind": "external"]).status == 200)
        #expect(try await coordinator.call("improvement.create", ["title": "Monitor the mail queue"]).status == 200)

        // An internal audit's finding becomes a nonconformity and goes through correction to closure.
        let planned = try await coordinator.call("internal_audit.plan", [
            "title": "Incident management", "clauses": ["8.6.1", "10.1"], "auditor": "ines", "plannedOn": day(Date()),
        ])
        let audit = try #require(planned.body["number"] as? String, "\(planned.body)")
        let checklist = try #require(planned.body["checklist"] as? [[String: Any]])
        #expect(checklist.count == 11 && checklist.first?["result"] as? String == "not_checked") // 8.6.1 has ten requirements, 10.1 one
        #expect(try await coordinator.call("internal_audit.check", ["number": audit, "item": 3, "result": "nonconformity",
                                                                    "notes": "INC escalations not recorded"]).status == 200)
        let found = try await coordinator.call("internal_audit.find", [
            "number": audit, "kind": "nonconformity", "item": 3, "title": "Escalations are not recorded",
            "description": "Two P1 incidents were escalated by phone with no record.",
        ])
        let nonconformity = try #require((found.body["findings"] as? [[String: Any]])?.first?["raised"] as? String, "\(found.body)")
        #expect(try await coordinator.call("nonconformity.correct", ["number": nonconformity, "correction": "Escalations recorded after the fact"]).status == 200)
        let action = try await coordinator.call("nonconformity.add_action", ["number": nonconformity, "description": "Escalate in the tool only",
                                                                             "owner": "desk lead", "dueOn": day(Date().addingTimeInterval(86_400 * 14))])
        let actionId = try #require((action.body["actions"] as? [[String: Any]])?.first?["id"] as? Int)
        #expect(try await coordinator.call("nonconformity.complete_action", ["id": actionId]).status == 200)
        let verified = try await coordinator.call("nonconformity.verify", ["number": nonconformity, "effective": true,
                                                                            "notes": "All escalations of the next two weeks are recorded"])
        #expect(verified.body["status"] as? String == "closed", "\(verified.body)")
        let refused = try await coordinator.call("internal_audit.plan", ["title": "x", "clauses": ["4.4"], "auditor": "a", "plannedOn": "2027-01-01"])
        #expect(refused.status == 400 && "\(refused.body)".contains("clauses[0]"), "\(refused.body)")

        // A customer with an agreement, and a request from the catalogue.
        for (method, params) in [
            ("service.set", ["name": "Workplace"] as [String: Any]), ("customer.set", ["name": "Acme", "contacts": ["rita"]]),
            ("agreement.set", ["reference": "ACME-1", "customer": "Acme", "service": "Workplace", "validFrom": day(from.addingTimeInterval(-86_400 * 40)),
                               "validTo": day(Date().addingTimeInterval(86_400 * 300)),
                               "targets": ["priorities": [["priority": "P3", "responseMinutes": 60, "resolutionMinutes": 480]]]]),
            ("request_item.set", ["name": "laptop", "service": "Workplace", "title": "New laptop", "tasks": [["name": "order"]], "targetMinutes": 480]),
            ("request.raise", ["item": "laptop", "requester": "rita"]),
        ] {
            let made = try await coordinator.call(method, params)
            #expect(made.status == 200, "\(method): \(made.body)")
        }

        // Management reviewed the month.
        let review = try await coordinator.call("management_review.record", [
            "heldOn": day(Date()), "from": from.formatted(.iso8601), "to": to.formatted(.iso8601), "chair": "cio",
            "attendees": ["cio", "desk lead", "ines"], "decisions": ["Fund mail queue monitoring"],
            "actions": [["description": "Order the monitoring licence", "owner": "cio", "dueOn": day(Date().addingTimeInterval(86_400 * 30))]],
        ])
        #expect(review.status == 200 && review.body["number"] as? String == "MR-0001", "\(review.body)")

        // The records belong to last month; one incident to the month before, one to this month.
        let connection = try await PostgresConnection.connect(to: database.conninfo, logger: Logger(label: "e2e"))
        defer { connection.close() }
        let inMonth = from.addingTimeInterval(10 * 86_400)
        for table in ["incident.incident", "problem.problem", "supplier.supplier", "improvement.opportunity", "improvement.nonconformity",
                      "improvement.internal_audit", "improvement.management_review", "service.request"] {
            try await connection.query("UPDATE \(unsafeSQL: table) SET created_at = \(inMonth), updated_at = \(inMonth)")
        }
        try await connection.query("""
            UPDATE incident.incident SET created_at = \(from.addingTimeInterval(-20 * 86_400)), updated_at = \(from.addingTimeInterval(-20 * 86_400))
            WHERE number = \(incidents[3])
            """)
        try await connection.query("UPDATE incident.incident SET created_at = now(), updated_at = now() WHERE number = \(incidents[4])")

        // The whole pack through the CLI (the API underneath), unpacked into a folder.
        let folder = coordinator.directory + "/evidence-\(day(from))"
        let pack = try await coordinator.cli(["report", "evidence", "--from", day(from), "--to", day(to), "--output", folder])
        #expect(pack.status == .exited(0) && pack.text.contains("files, each matching SHA256SUMS"), "\(pack.text)")
        // sha256sum itself agrees with the manifest.
        let sums = try await Command.run("/usr/bin/sha256sum", ["-c", "SHA256SUMS"], workingDirectory: folder)
        #expect(sums.status == .exited(0) && sums.text.contains("index.html: OK") && !sums.text.contains("FAILED"), "\(sums.text)")

        // Each process's page lists exactly the records the database has for the month.
        for (file, table, key) in [("incidents", "incident.incident", "number"), ("problems", "problem.problem", "number"),
                                   ("suppliers", "supplier.supplier", "number"), ("improvements", "improvement.opportunity", "number"),
                                   ("nonconformities", "improvement.nonconformity", "number"),
                                   ("internal-audits", "improvement.internal_audit", "number"),
                                   ("management-reviews", "improvement.management_review", "number"), ("requests", "service.request", "number")] {
            let expected = try await connection.query("""
                SELECT \(unsafeSQL: key) AS key FROM \(unsafeSQL: table) WHERE created_at < \(to) AND updated_at >= \(from) ORDER BY 1
                """).map { try $0.decode(String.self, "key") }
            let page = try String(contentsOfFile: "\(folder)/\(file).html", encoding: .utf8)
            let listed = page.matches(of: /<tr><td>([^<]+)<\/td>/).map { String($0.output.1) }.sorted()
            #expect(listed == expected && !expected.isEmpty, "\(file): \(listed) against \(expected)")
            let records = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(file).json"))) as? [[String: Any]])
            #expect(records.count == expected.count, "\(file).json")
        }
        // Service level management: the agreements, and each customer's report for the month.
        let agreements = try String(contentsOfFile: "\(folder)/agreements.json", encoding: .utf8)
        #expect(agreements.contains("ACME-1"))
        let report = try String(contentsOfFile: "\(folder)/service-report-1.html", encoding: .utf8)
        #expect(report.contains("<h1>Service report: Acme</h1>") && report.contains("ACME-1: Workplace"), "\(report.prefix(600))")
        #expect(try String(contentsOfFile: "\(folder)/index.html", encoding: .utf8).contains("Service report: Acme"))
        #expect(try String(contentsOfFile: "\(folder)/incidents.html", encoding: .utf8).contains(incidents[0])
                && !(try String(contentsOfFile: "\(folder)/incidents.html", encoding: .utf8).contains(incidents[3])))
        // Each record comes whole: the assigned incident with every change it had.
        let history = try await connection.query("SELECT count(*) AS n FROM incident.history h JOIN incident.incident i ON i.id = h.incident_id WHERE i.number = \(incidents[0])")
        let changes = try String(contentsOfFile: "\(folder)/incidents-history.csv", encoding: .utf8).split(separator: "\r\n")
        #expect(changes.filter { $0.hasPrefix("\"\(incidents[0])\"") }.count == (try history.single().decode(Int.self, "n")))

        // The figures are the month's: three incidents were created in it.
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(folder)/figures.json"))) as? [String: Any])
        let created = try await connection.query("SELECT count(*) AS n FROM incident.incident WHERE created_at >= \(from) AND created_at < \(to)").single()
        #expect((figures["incident"] as? [String: Any])?["createdInPeriod"] as? Int == (try created.decode(Int.self, "n")))
        #expect(try created.decode(Int.self, "n") == 3)

        let index = try String(contentsOfFile: "\(folder)/index.html", encoding: .utf8)
        for clause in ["7.5", "8.3.3", "8.3.4", "8.4.3", "8.6.1", "8.6.2", "8.6.3", "9.1", "9.2", "9.3", "10.1", "10.2"] {
            #expect(index.contains("<h2 id=\"clause-\(clause)\">"), "no section for \(clause)")
        }
        #expect(index.contains("3 incidents</a>") && index.contains("1 internal audit</a>") && index.contains("1 management review</a>"), "\(index)")
        #expect(index.contains("Audit programme") && index.contains("the chain of all"), "\(index)")
        #expect(FileManager.default.fileExists(atPath: "\(folder)/MR-0001-pack.html"))

        // It opens in a real browser, from its files alone.
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Browser/evidence_pack.py").standardized.path
        let browsed = try await Command.run(try ConsoleEndToEndTests.python(), [script, folder, "3"])
        #expect(browsed.status == .exited(0) && browsed.text.contains("evidence pack: all steps passed"), "\(browsed.text)")

        // The export is in the audit log with the manifest's SHA-256, which `itsm report verify` prints.
        let entries = try await coordinator.request("GET", "api/v1/audit?action=evidence.export", token: coordinator.token)
        let exported = try #require((try JSONSerialization.jsonObject(with: entries.1) as? [[String: Any]])?.last)
        let recorded = try #require((exported["details"] as? [String: Any])?["manifestSha256"] as? String, "\(exported)")
        let verify = try await Command.run(try Binaries.path("itsm"), ["report", "verify", folder])
        #expect(verify.status == .exited(0) && verify.text.contains("its SHA-256 is \(recorded)"), "\(verify.status) \(verify.text)")
        // A changed file and an added one are named.
        try Data("\"number\"\r\n\"INC-999999\"\r\n".utf8).write(to: URL(fileURLWithPath: "\(folder)/incidents.csv"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: "\(folder)/notes.txt"))
        let tampered = try await Command.run(try Binaries.path("itsm"), ["report", "verify", folder])
        #expect(tampered.status == .exited(1) && tampered.text.contains("incidents.csv: changed")
                && tampered.text.contains("notes.txt: not in SHA256SUMS (added)"), "\(tampered.text)")

        // Only the audit log, for today, kept as a zip: Python's zip reader takes it, and its entries are the database's.
        let zip = coordinator.directory + "/today.zip"
        let today = try await coordinator.cli(["report", "evidence", "--from", day(Date().addingTimeInterval(-86_400)),
                                               "--to", day(Date().addingTimeInterval(86_400)), "--clause", "7.5", "--output", zip])
        #expect(today.status == .exited(0), "\(today.text)")
        let unzipped = coordinator.directory + "/today"
        let extracted = try await Command.run("/usr/bin/python3", ["-m", "zipfile", "-e", zip, unzipped])
        #expect(extracted.status == .exited(0), "\(extracted.text)")
        #expect(try await Command.run("/usr/bin/sha256sum", ["-c", "--quiet", "SHA256SUMS"], workingDirectory: unzipped).status == .exited(0))
        let log = try String(contentsOfFile: unzipped + "/audit-log.csv", encoding: .utf8).split(separator: "\r\n").dropFirst()
        let lastSeq = try #require(log.last.flatMap { Int64($0.split(separator: ",")[0].trimmingCharacters(in: ["\""])) })
        let inLog = try await connection.query("""
            SELECT count(*) AS n FROM itsm.audit_entry WHERE seq <= \(lastSeq) AND at >= \(Date().addingTimeInterval(-2 * 86_400))
            """).single().decode(Int.self, "n")
        #expect(log.count == inLog && log.contains { $0.contains("\"internal_audit.find\"") } && log.contains { $0.contains("\"nonconformity.verify\"") })
        #expect(try await Command.run(try Binaries.path("itsm"), ["report", "verify", zip]).status == .exited(0))

        // Who may read what: the pack holds only what the token reads, and names the rest.
        let issued = try await coordinator.request("POST", "api/v1/tokens", body: try JSONSerialization.data(withJSONObject: [
            "name": "desk-evidence", "permissions": ["evidence.read", "incident.read"],
        ]), token: coordinator.token)
        let narrow = try #require((try JSONSerialization.jsonObject(with: issued.1) as? [String: Any])?["token"] as? String, "\(issued)")
        let partial = try await coordinator.cli(["report", "evidence", "--from", day(from), "--to", day(to), "--output", folder + "-desk"], token: narrow)
        #expect(partial.status == .exited(0), "\(partial.text)")
        let partialIndex = try String(contentsOfFile: folder + "-desk/index.html", encoding: .utf8)
        #expect(partialIndex.contains("3 incidents</a>") && partialIndex.contains("problems: not included")
                && partialIndex.contains("lacks the permission &#39;problem.read&#39;") && partialIndex.contains("Audit log: not included"),
                "\(partialIndex)")
        let reader = try await issue(coordinator, ["incident.read"])
        let (forbidden, _) = try await coordinator.request("GET", "api/v1/evidence?from=\(day(from))&to=\(day(to))", token: reader)
        #expect(forbidden == 403)

        // An auditor signed in to the console finds the pack on the audit log page, and gets it with the session.
        let made = try await coordinator.cli(["user", "create", "ines", "--role", "auditor", "--password-stdin"], input: "ines audits the desk\n")
        #expect(made.status == .exited(0), "\(made.text)")
        let cookie = try #require(try await IdentityEndToEndTests.signIn(coordinator, "ines", "ines audits the desk").session?.cookie)
        let (auditPage, page) = try await coordinator.request("GET", "console/audit", headers: ["Cookie": cookie])
        #expect(auditPage == 200 && String(decoding: page, as: UTF8.self).contains("action=\"/api/v1/evidence\""))
        let (download, archive) = try await coordinator.request("GET", "api/v1/evidence?from=\(day(from))&to=\(day(to))&clause=9.3",
                                                                headers: ["Cookie": cookie])
        #expect(download == 200 && archive.prefix(4) == Data([0x50, 0x4b, 0x03, 0x04]), "\(download)")

        // Bad queries are refused naming the parameter.
        for (query, named) in [("from=\(day(from))", "to: required"), ("from=\(day(to))&to=\(day(from))", "to: after from"),
                               ("from=\(day(from))&to=\(day(to))&clause=4.4", "clause: '4.4' is not covered"),
                               ("from=yesterday&to=\(day(to))", "from: a day"), ("from=\(day(from))&to=\(day(to))&format=pdf", "format: unknown")] {
            let (status, body) = try await coordinator.request("GET", "api/v1/evidence?\(query)", token: coordinator.token)
            #expect(status == 400 && String(decoding: body, as: UTF8.self).contains(named), "\(query): \(String(decoding: body, as: UTF8.self))")
        }
        #expect(await coordinator.stop() == .exited(0))
    }

    private func issue(_ coordinator: RunningCoordinator, _ permissions: [String]) async throws -> String {
        let issued = try await coordinator.request("POST", "api/v1/tokens", body: try JSONSerialization.data(withJSONObject: [
            "name": "no-evidence", "permissions": permissions,
        ]), token: coordinator.token)
        return try #require((try JSONSerialization.jsonObject(with: issued.1) as? [String: Any])?["token"] as? String)
    }
}
