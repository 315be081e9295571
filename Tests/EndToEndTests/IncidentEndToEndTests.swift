import Foundation
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
        #expect(try await cli(["incident", "resolve", "INC-000001", "--code", "fixed", "--notes", "restarted the relay"]).status == .exited(0))
        let listed = try await cli(["incident", "list", "--status", "resolved"])
        #expect(listed.text.contains("INC-000001") && listed.text.contains("1 of 1"))

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
        let second = try await RunningCoordinator.start(databaseURL: database.conninfo, environment: environment, adminToken: first.token)
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
            try await pool.query("SELECT count(*) AS n FROM itsm.outbox WHERE type = 'incident.sla_breached'")
                .single().decode(Int.self, "n") == 12
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
}
