import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Logging
import Testing

/// The incident process through the real binaries: the REST routes, the CLI, and service
/// level events with two plugin instances on one database.
@Suite(.serialized) struct IncidentEndToEndTests {
    @Test func deskWorkflowThroughRESTAndTheCLI() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2edesk")
        let coordinator = try await RunningCoordinator.start(databaseURL: database.conninfo)
        defer { coordinator.remove() }
        func json(_ data: Data) -> [String: Any] { (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:] }
        func body(_ object: [String: Any]) -> Data { try! JSONSerialization.data(withJSONObject: object) }

        let (created, record) = try await coordinator.request("POST", "api/v1/incidents",
            body: body(["title": "Mail relay queue growing", "impact": "high", "service": "email"]), token: coordinator.token)
        #expect(created == 200)
        #expect(json(record)["number"] as? String == "INC-000001")

        // The CLI, as an agent uses it, against the same coordinator.
        let itsm = try Binaries.path("itsm")
        func cli(_ arguments: [String]) async throws -> Command.Output {
            try await Command.run(itsm, arguments + ["--url", coordinator.baseURL.absoluteString, "--token", coordinator.token])
        }
        #expect(try await cli(["incident", "assign", "INC-000001", "--group", "messaging", "--assignee", "alice"]).status == .exited(0))
        #expect(try await cli(["incident", "transition", "INC-000001", "on_hold", "--reason", "awaiting_caller"]).status == .exited(0))
        let refused = try await cli(["incident", "transition", "INC-000001", "closed"])
        #expect(refused.status == .exited(1))
        #expect(refused.text.contains("allowed from on_hold: in_progress, resolved, cancelled"))
        #expect(try await cli(["incident", "transition", "INC-000001", "in_progress"]).status == .exited(0))
        #expect(try await cli(["incident", "comment", "INC-000001", "Queue drained after restart"]).status == .exited(0))
        // A verb with no hand-written command is the process's method, read from its schema.
        let major = try await cli(["incident", "declare-major", "--number", "INC-000001", "--reason", "All outbound mail delayed"])
        #expect(major.status == .exited(0), "\(major.text)")
        let unknownVerb = try await cli(["incident", "escalate-to-mars", "INC-000001"])
        #expect(unknownVerb.status == .exited(64) && unknownVerb.text.contains("incident has no 'escalate-to-mars'")
                && unknownVerb.text.contains("declare-major"), "\(unknownVerb.text)")
        #expect(try await cli(["incident", "resolve", "INC-000001", "--code", "fixed", "--notes", "restarted the relay"]).status == .exited(0))
        let listed = try await cli(["incident", "list", "--status", "resolved"])
        #expect(listed.text.contains("INC-000001") && listed.text.contains("1 of 1"))
        // Options are read as the incident contract types them, in its words, before any call.
        let wrongPriority = try await cli(["incident", "list", "--priority", "P9"])
        #expect(wrongPriority.status != .exited(0) && wrongPriority.text.contains("--priority: 'P9' is not one of P1...P5"), "\(wrongPriority.text)")
        let wrongStatus = try await cli(["incident", "list", "--status", "done"])
        #expect(wrongStatus.text.contains("--status: 'done' is not one of new, assigned, in_progress"), "\(wrongStatus.text)")

        // REST: PATCH, then GET with the whole story.
        let (patched, _) = try await coordinator.request("PATCH", "api/v1/incidents/INC-000001", body: body(["category": "email"]),
                                                          token: coordinator.token)
        #expect(patched == 200)
        let (got, detail) = try await coordinator.request("GET", "api/v1/incidents/INC-000001?history=true&comments=true",
                                                          token: coordinator.token)
        #expect(got == 200)
        let history = (json(detail)["history"] as? [[String: Any]]) ?? []
        let statuses = history.filter { $0["field"] as? String == "status" }.compactMap { $0["newValue"] as? String }
        #expect(statuses == ["new", "assigned", "on_hold", "in_progress", "resolved"])
        #expect(((json(detail)["comments"] as? [[String: Any]]) ?? []).count == 1)
        let (conflict, _) = try await coordinator.request("POST", "api/v1/rpc/incident.transition",
                                                          body: body(["number": "INC-000001", "to": "new"]), token: coordinator.token)
        #expect(conflict == 409)
        let (missing, _) = try await coordinator.request("GET", "api/v1/incidents/INC-000404", token: coordinator.token)
        #expect(missing == 404)
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func breachIsPublishedOnceWithTwoInstances() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2ebreach")
        let environment = ["ITSM_INCIDENT_SLA_SCAN_SECONDS": "1"]
        let first = try await RunningCoordinator.start(databaseURL: database.conninfo, environment: environment)
        defer { first.remove() }
        // Each coordinator issues its own admin token; the first one's keeps working (used below).
        let second = try await RunningCoordinator.start(databaseURL: database.conninfo, environment: environment)
        defer { second.remove() }

        #expect(try await first.call("incident.sla.define", [
            "priority": "P3", "responseMinutes": 60, "resolutionMinutes": 240,
            "calendar": ["timeZone": "UTC", "hours": ["monday": ["00:00-24:00"], "tuesday": ["00:00-24:00"],
                         "wednesday": ["00:00-24:00"], "thursday": ["00:00-24:00"], "friday": ["00:00-24:00"],
                         "saturday": ["00:00-24:00"], "sunday": ["00:00-24:00"]]],
        ]).status == 200)
        for n in 0..<6 {
            let coordinator = n.isMultiple(of: 2) ? first : second
            #expect(try await coordinator.call("incident.create", ["title": "Disk filling up on db\(n)"]).status == 200)
        }
        // Let the targets pass: move every clock's deadlines into the past.
        let pool = PostgresPool(conninfo: database.conninfo, logger: Logger(label: "e2e"))
        try await pool.query("UPDATE incident.sla_clock SET warning_at = now() - interval '2 minutes', due_at = now() - interval '1 minute'")

        // Both instances scan every second; each clock's warning and breach appear once.
        let counted = try await first.waitUntil(timeout: .seconds(30)) {
            try await pool.query("SELECT count(*) AS n FROM itsm.outbox WHERE type IN ('incident.sla_warning', 'incident.sla_breached')")
                .single().decode(Int.self, "n") == 24
        }
        #expect(counted)
        try await Task.sleep(for: .seconds(3)) // several more scans by both instances
        let perClock = try await pool.query("""
            SELECT type, subject, payload->>'clock' AS clock, count(*) AS n FROM itsm.outbox
            WHERE type LIKE 'incident.sla_%' GROUP BY 1, 2, 3
            """)
        #expect(perClock.count == 24) // 6 records x 2 clocks x (warning, breach)
        #expect(try perClock.allSatisfy { try $0.decode(Int.self, "n") == 1 })
        await pool.close()
        #expect(await first.stop() == .exited(0))
        #expect(await second.stop() == .exited(0))
    }

    @Test func csvImportIsAllOrNothingUnlessAskedOtherwise() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eimport")
        let coordinator = try await RunningCoordinator.start(databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let itsm = try Binaries.path("itsm")
        func cli(_ arguments: [String]) async throws -> Command.Output {
            try await Command.run(itsm, arguments + ["--url", coordinator.baseURL.absoluteString, "--token", coordinator.token])
        }
        // A ServiceNow export: numbers 1-3 for impact and urgency, quoted commas and line breaks.
        let good = """
            number,short_description,description,impact,urgency,state,opened_at,resolved_at,close_code,close_notes,caller_id
            INC0010001,"Mail down, all users","Started 09:00.\nEscalated to vendor.",1,1,Closed,2026-10-01 09:00:00,2026-10-01 11:30:00,Solved (Permanently),Replaced relay,Ann
            INC0010002,VPN slow,"Users say ""slow"" since Monday",2,3,In Progress,2026-10-02 10:00:00,,,,Bob
            INC0010003,Printer jam,,3,3,New,2026-10-03T08:15:00Z,,,,Cy
            """
        let file = coordinator.directory + "/export.csv"
        try good.write(toFile: file, atomically: true, encoding: .utf8)
        let imported = try await cli(["incident", "import", file])
        #expect(imported.status == .exited(0), "\(imported.text)")
        #expect(imported.text.contains("imported 3 records (INC-000001 … INC-000003)"))
        #expect(imported.text.contains("rows/s"))

        let pool = PostgresPool(conninfo: database.conninfo, logger: Logger(label: "e2e"))
        let rows = try await pool.query("""
            SELECT external_ref, title, description, priority, status, resolved_at, caller FROM incident.incident ORDER BY external_ref
            """)
        #expect(try rows.map { try $0.decode(String.self, "external_ref") } == ["INC0010001", "INC0010002", "INC0010003"])
        #expect(try rows[0].decode(String.self, "title") == "Mail down, all users")
        #expect(try rows[0].decode(String.self, "description") == "Started 09:00.\nEscalated to vendor.")
        #expect(try rows[0].decode(Int.self, "priority") == 1 && rows[0].decode(String.self, "status") == "closed")
        #expect(try rows[0].decode(Date?.self, "resolved_at") == (try Date("2026-10-01T11:30:00Z", strategy: .iso8601)))
        #expect(try rows[1].decode(String.self, "description") == "Users say \"slow\" since Monday")
        #expect(try rows[1].decode(Int.self, "priority") == 4 && rows[1].decode(String.self, "status") == "in_progress")
        let history = try await pool.query("SELECT count(*) AS n FROM incident.history WHERE field = 'imported'")
        #expect(try history.single().decode(Int.self, "n") == 3)
        let event = try await pool.query("SELECT payload->>'imported' AS n FROM itsm.outbox WHERE type = 'incident.imported'")
        #expect(try event.single().decode(String.self, "n") == "3")

        // Two bad rows: nothing is imported, and both are named with their reasons.
        let bad = """
            number,short_description,impact,urgency,state,opened_at
            INC0020001,Fine row,1,2,New,2026-10-05 08:00
            INC0020002,,1,2,New,2026-10-05 08:00
            INC0020003,Bad impact,9,2,New,2026-10-05 08:00
            INC0020004,Bad date,1,2,New,yesterday
            """
        try bad.write(toFile: file, atomically: true, encoding: .utf8)
        let refused = try await cli(["incident", "import", file])
        #expect(refused.status == .exited(1))
        #expect(refused.text.contains("row 3: title is empty"))
        #expect(refused.text.contains("row 4: impact: '9' is not a level on the servicenow scale"))
        #expect(refused.text.contains("row 5: createdAt: 'yesterday' is not a date"))
        #expect(refused.text.contains("nothing imported: 3 of 4 rows are invalid"))
        #expect(try await pool.query("SELECT count(*) AS n FROM incident.incident").single().decode(Int.self, "n") == 3)

        let skipped = try await cli(["incident", "import", file, "--skip-invalid"])
        #expect(skipped.status == .exited(0))
        #expect(skipped.text.contains("imported 1 records (INC-000004) , skipped 3 invalid rows") || skipped.text.contains("skipped 3 invalid rows"))
        #expect(try await pool.query("SELECT count(*) AS n FROM incident.incident").single().decode(Int.self, "n") == 4)

        // A file that is not CSV is refused before anything is sent.
        try "a,\"b\nc".write(toFile: file, atomically: true, encoding: .utf8)
        let broken = try await cli(["incident", "import", file])
        #expect(broken.status != .exited(0))
        #expect(broken.text.contains("never closed"))
        await pool.close()
        #expect(await coordinator.stop() == .exited(0))
    }
}
