import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Logging
import Testing

/// The improvement process with the other processes, tried as a new user would.
@Suite(.serialized) struct ImprovementEndToEndTests {
    static var everyDay: [String: Any] {
        ["timeZone": "UTC", "hours": Dictionary(uniqueKeysWithValues: [
            "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        ].map { ($0, ["00:00-24:00"]) })]
    }

    @Test func eventsFromTheOtherProcessesBecomeOneOpportunityEachAndKPIsMatchTheData() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eimprove")
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - incident
              - problem
              - supplier
              - name: improvement
                config: {slaBreachThreshold: 3}
            """, databaseURL: database.conninfo, environment: ["ITSM_INCIDENT_SLA_SCAN_SECONDS": "1"])
        defer { coordinator.remove() }
        let pool = PostgresPool(conninfo: database.conninfo, logger: Logger(label: "e2e"))
        defer { Task { await pool.close() } }
        func count(_ sql: String) async throws -> Int { try await pool.query(PostgresQuery(unsafeSQL: sql)).single().decode(Int.self, "n") }

        // SLA breaches on one service, above the threshold.
        #expect(try await coordinator.call("incident.sla.define", ["priority": "P3", "responseMinutes": 60, "resolutionMinutes": 240,
                                                                   "calendar": Self.everyDay]).status == 200)
        var late: [String] = []
        for n in 1...3 {
            let incident = try await coordinator.call("incident.create", ["title": "Mailbox full \(n)", "service": "email"]).body
            late.append(incident["number"] as? String ?? "")
        }
        // As if they had been opened five hours ago: past both targets.
        try await pool.query("UPDATE incident.incident SET created_at = created_at - interval '5 hours'")
        try await pool.query("""
            UPDATE incident.sla_clock SET started_at = started_at - interval '5 hours',
                warning_at = now() - interval '2 minutes', due_at = now() - interval '1 minute'
            """)
        #expect(try await coordinator.waitUntil { try await count("SELECT count(*) AS n FROM itsm.outbox WHERE type = 'incident.sla_breached'") == 6 })

        // A supplier target missed.
        #expect(try await coordinator.call("supplier.create", ["name": "Acme Networks", "kind": "external"]).status == 200)
        #expect(try await coordinator.call("supplier.add_contract", [
            "supplier": "Acme Networks", "reference": "ACME-1", "startsOn": "2026-01-01", "endsOn": "2028-12-31",
            "targets": [["kind": "resolution", "priority": "P2", "minutes": 480]],
        ]).status == 200)
        let handed = try await coordinator.call("incident.create", ["title": "WAN down", "impact": "medium", "urgency": "high"]).body
        let wan = try #require(handed["number"] as? String)
        #expect(try await coordinator.call("incident.update", ["number": wan, "supplier": "Acme Networks"]).status == 200)
        #expect(try await coordinator.waitUntil { try await count("SELECT count(*) AS n FROM supplier.handoff") == 1 })
        try await pool.query("UPDATE supplier.handoff SET handed_at = handed_at - interval '10 days'")
        #expect(try await coordinator.call("incident.transition", ["number": wan, "to": "resolved", "resolutionCode": "fixed",
                                                                   "resolutionNotes": "line card"]).status == 200)

        // Each became one proposed opportunity, linked to its source events.
        // The opportunity opens with the threshold's breach; the later ones join it as sources.
        var items: [[String: Any]] = []
        var slaSources = 0
        #expect(try await coordinator.waitUntil {
            items = (try await coordinator.call("improvement.list", ["status": "proposed"]).body["items"] as? [[String: Any]]) ?? []
            guard let sla = items.first(where: { ($0["title"] as? String)?.hasPrefix("SLA") == true })?["number"] as? String else { return false }
            slaSources = (try await coordinator.call("improvement.get", ["number": sla]).body["sources"] as? [[String: Any]])?.count ?? 0
            return items.count == 2 && slaSources == 6
        }, "\(items.count) opportunities, \(slaSources) sources")
        let titles = Set(items.compactMap { $0["title"] as? String })
        let month = Date().formatted(Date.ISO8601FormatStyle().year().month()).prefix(7)
        #expect(titles == ["SLA breaches on email in \(month)", "Acme Networks missing contract targets in \(month)"], "\(titles)")
        let sla = try #require(items.first { ($0["title"] as? String)?.hasPrefix("SLA") == true }?["number"] as? String)

        // Replaying every event delivered to the improvement process changes nothing.
        try await pool.query("UPDATE itsm.delivery SET delivered_at = NULL, next_attempt_at = now() WHERE subscriber = 'improvement'")
        #expect(try await coordinator.waitUntil {
            try await count("SELECT count(*) AS n FROM itsm.delivery WHERE subscriber = 'improvement' AND delivered_at IS NULL") == 0
        })
        #expect(try await count("SELECT count(*) AS n FROM improvement.opportunity") == 2)
        #expect(try await count("SELECT count(*) AS n FROM improvement.source") == 7)

        // A KPI computed through the protocol matches the figures by hand: of the four P3
        // records resolved, only the one resolved in time met its resolution target: 25 %.
        let quick = try await coordinator.call("incident.create", ["title": "Calendar sync", "service": "email"]).body
        for number in late + [quick["number"] as? String ?? ""] {
            #expect(try await coordinator.call("incident.transition", ["number": number, "to": "resolved", "resolutionCode": "fixed",
                                                                       "resolutionNotes": "done"]).status == 200)
        }
        let objective = try await coordinator.cli(["objective", "create", "--title", "P3 resolved within SLA", "--kpi",
                                                   "incident.resolution_within_sla_percent:P3", "--target", "90"])
        #expect(objective.status == .exited(0), "\(objective.text)")
        let measured = try await coordinator.cli(["objective", "measure", "OBJ-0001"])
        #expect(measured.text.contains("OBJ-0001: 25 — not met"), "\(measured.text)")

        let pack = try await coordinator.request("GET", "api/v1/review-pack?format=html", token: coordinator.token)
        let html = String(decoding: pack.1, as: UTF8.self)
        #expect(pack.0 == 200 && html.contains("<h1>Management review") && html.contains("OBJ-0001") && html.contains(sla), "\(html.prefix(400))")

        // Its trend, measured as asked: this month's 25 last, and too long a trend refused by name.
        let trend = try await coordinator.call("objective.trend", ["number": "OBJ-0001", "periods": 2])
        let values = (trend.body["measurements"] as? [[String: Any]] ?? []).map { $0["value"] as? Double }
        #expect(trend.status == 200 && values.count == 2 && values.last == 25, "\(trend.body)")
        let tooLong = try await coordinator.call("objective.trend", ["number": "OBJ-0001", "periods": 25])
        #expect(tooLong.status == 400 && "\(tooLong.body)".contains("periods: 1 to 24"), "\(tooLong.body)")

        // The process owner's page: the objective, its six periods charted against the target, and the pack.
        #expect(try await coordinator.cli(["user", "create", "olga", "--role", "administrator", "--password-stdin"],
                                          input: "olga has a long password\n").status == .exited(0))
        let olga = try #require(try await IdentityEndToEndTests.signIn(coordinator, "olga", "olga has a long password").session)
        let (shown, page) = try await coordinator.request("GET", "console/objectives", headers: ["Cookie": olga.cookie])
        let objectives = String(decoding: page, as: UTF8.self)
        #expect(shown == 200 && objectives.contains(#"id="objective-OBJ-0001""#) && objectives.contains("<title>OBJ-0001: P3 resolved within SLA</title>")
                && objectives.contains(#"class="column missed""#) && objectives.matches(of: /<tr><td>\d{4}-\d{2}-01<\/td>/).count == 6,
                "\(objectives)")
        let link = try #require(objectives.firstMatch(of: /href="\/(api\/v1\/review-pack[^"]+)" id="review-pack-90"/)?.output.1)
        let (packed, document) = try await coordinator.request("GET", String(link).replacingOccurrences(of: "&amp;", with: "&"),
                                                              headers: ["Cookie": olga.cookie])
        #expect(packed == 200 && String(decoding: document, as: UTF8.self).contains("<h1>Management review"), "\(link)")
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func aloneItStartsAndManualRecordsWork() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eimprovealone")
        let coordinator = try await RunningCoordinator.start(configuration: "plugins:\n  - improvement\n", databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let created = try await coordinator.cli(["improvement", "create", "--title", "Publish a service catalogue", "--source", "audit"])
        #expect(created.status == .exited(0) && created.text.hasPrefix("OFI-000001"), "\(created.text)")
        let listed = try await coordinator.cli(["improvement", "list"])
        #expect(listed.text.contains("OFI-000001") && listed.text.contains("audit") && listed.text.contains("Publish a service catalogue"),
                "\(listed.text)")
        let nc = try await coordinator.cli(["nonconformity", "create", "--title", "No capacity plan", "--requirement",
                                            "ISO/IEC 20000-1:2018 8.4.3", "--severity", "major"])
        #expect(nc.status == .exited(0) && nc.text.contains("NC-000001"), "\(nc.text)")
        _ = try await coordinator.cli(["objective", "create", "--title", "P1 within SLA", "--kpi", "incident.resolution_within_sla_percent:P1",
                                       "--target", "95"])
        let measured = try await coordinator.cli(["objective", "measure", "OBJ-0001"])
        #expect(measured.text.contains("no value — the incident process is not enabled"), "\(measured.text)")
        let pack = try await coordinator.cli(["improvement", "review-pack"])
        #expect(pack.text.contains("## Nonconformities") && pack.text.contains("NC-000001") && pack.text.contains("incident**: not enabled"),
                "\(pack.text)")
        #expect(await coordinator.stop() == .exited(0))
    }
}
