import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Logging
import Testing

/// The supplier process with the real incident process, tried as a new user would.
@Suite(.serialized) struct SupplierEndToEndTests {
    @Test func scorecardShowsTwoOfThreeWithinTargetAndTheMissOnce() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2esupplier")
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - incident
              - supplier
            """, databaseURL: database.conninfo)
        defer { coordinator.remove() }

        let created = try await coordinator.cli(["supplier", "create", "--name", "Acme Networks", "--owner", "vendor-manager",
                                                 "--contact", "Sam Lee,sam@acme.example,+44 20 7946 0000"])
        #expect(created.status == .exited(0) && created.text.hasPrefix("SUP-000001"), "\(created.text)")
        // The command line builds its params from the supplier contract: a kind it does not declare never leaves.
        let wrongKind = try await coordinator.cli(["supplier", "create", "--name", "Other", "--kind", "vendor"])
        #expect(wrongKind.status != .exited(0) && wrongKind.text.contains("--kind: 'vendor' is not one of external, internal, customer"),
                "\(wrongKind.text)")
        let listed = try await coordinator.cli(["supplier", "list"])
        #expect(listed.text.contains("SUP-000001") && listed.text.contains("external") && listed.text.contains("vendor-manager")
                && !listed.text.contains("Other"), "\(listed.text)")
        let contract = try await coordinator.cli(["supplier", "add-contract", "Acme Networks", "--reference", "ACME-2026-01",
                                                  "--starts", "2026-01-01", "--ends", "2028-12-31", "--notice-days", "90",
                                                  "--value", "120000", "--currency", "EUR", "--target", "resolution:P2:480"])
        #expect(contract.status == .exited(0), "\(contract.text)")

        var numbers: [String] = []
        for n in 1...3 {
            let incident = try await coordinator.call("incident.create", ["title": "WAN link down at site \(n)", "impact": "medium",
                                                                          "urgency": "high"]).body
            let number = try #require(incident["number"] as? String)
            #expect(incident["priority"] as? String == "P2")
            #expect(try await coordinator.call("incident.update", ["number": number, "supplier": "Acme Networks"]).status == 200)
            #expect(try await coordinator.call("incident.transition", ["number": number, "to": "on_hold",
                                                                       "holdReason": "awaiting_supplier"]).status == 200)
            numbers.append(number)
        }
        // All three are with the supplier; one of them since ten days ago.
        let pool = PostgresPool(conninfo: database.conninfo, logger: Logger(label: "e2e"))
        defer { Task { await pool.close() } }
        #expect(try await coordinator.waitUntil {
            try await pool.query("SELECT count(*) AS n FROM supplier.handoff WHERE ended_at IS NULL").single().decode(Int.self, "n") == 3
        })
        try await pool.query("UPDATE supplier.handoff SET handed_at = handed_at - interval '10 days' WHERE incident_number = \(numbers[2])")
        for number in numbers {
            #expect(try await coordinator.call("incident.transition", ["number": number, "to": "resolved", "resolutionCode": "fixed",
                                                                       "resolutionNotes": "Carrier replaced the line card"]).status == 200)
        }
        #expect(try await coordinator.waitUntil {
            try await pool.query("SELECT count(*) AS n FROM supplier.handoff WHERE ended_at IS NOT NULL").single().decode(Int.self, "n") == 3
        })
        let scorecard = try await coordinator.call("supplier.scorecard", ["supplier": "Acme Networks"]).body
        let card = try #require((scorecard["scorecards"] as? [[String: Any]])?.first)
        #expect(card["volume"] as? Int == 3 && card["withinTarget"] as? Int == 2 && card["breaches"] as? Int == 1, "\(card)")
        #expect(scorecard["incidentData"] as? String == "available")
        let missed = try await pool.query("SELECT payload->>'incident' AS incident FROM itsm.outbox WHERE type = 'supplier.target_missed'")
        #expect(try missed.map { try $0.decode(String.self, "incident") } == [numbers[2]])
        let shown = try await coordinator.cli(["supplier", "scorecard"])
        #expect(shown.text.contains("2/3") && shown.text.contains("66.67"), "\(shown.text)")

        // The supplier manager's page: the scorecard charted, and the contract that needs notice within 30 days.
        let day = Date.ISO8601FormatStyle().year().month().day()
        #expect(try await coordinator.call("supplier.add_contract", [
            "supplier": "Acme Networks", "reference": "ACME-SUPPORT", "startsOn": "2026-01-01",
            "endsOn": Date().addingTimeInterval(60 * 86_400).formatted(day), "noticeDays": 30,
        ]).status == 200)
        #expect(try await coordinator.cli(["user", "create", "sue", "--role", "administrator", "--password-stdin"],
                                          input: "sue has a long password\n").status == .exited(0))
        let sue = try #require(try await IdentityEndToEndTests.signIn(coordinator, "sue", "sue has a long password").session)
        let (opened, body) = try await coordinator.request("GET", "console/suppliers", headers: ["Cookie": sue.cookie])
        let page = String(decoding: body, as: UTF8.self)
        #expect(opened == 200 && page.contains("<title>Within target</title>") && page.contains("<td>66.7 %</td>")
                && page.contains("<td>ACME-SUPPORT</td>") && page.contains("in 30 days") && !page.contains("ACME-2026-01"), "\(page)")
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func contractExpiryIsAnnouncedOnceAcrossTwoInstancesAndARestart() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eexpiry")
        let environment = ["ITSM_SUPPLIER_MILESTONE_SCAN_SECONDS": "1"]
        let configuration = "plugins:\n  - supplier\n"
        let first = try await RunningCoordinator.start(configuration: configuration, databaseURL: database.conninfo, environment: environment)
        defer { first.remove() }
        let second = try await RunningCoordinator.start(configuration: configuration, databaseURL: database.conninfo, environment: environment)
        defer { second.remove() }

        #expect(try await first.call("supplier.create", ["name": "Cloud Co", "kind": "external"]).status == 200)
        let ends = Date().addingTimeInterval(40 * 86400).formatted(Date.ISO8601FormatStyle().year().month().day())
        #expect(try await first.call("supplier.add_contract", ["supplier": "Cloud Co", "reference": "CC-1", "startsOn": "2026-01-01",
                                                               "endsOn": ends, "noticeDays": 30]).status == 200)
        let pool = PostgresPool(conninfo: database.conninfo, logger: Logger(label: "e2e"))
        defer { Task { await pool.close() } }
        func announcements() async throws -> Int {
            try await pool.query("SELECT count(*) AS n FROM itsm.outbox WHERE type = 'supplier.contract_expiring'").single().decode(Int.self, "n")
        }
        #expect(try await first.waitUntil { try await announcements() == 1 })
        try await Task.sleep(for: .seconds(3)) // several more scans by both
        #expect(await first.stop() == .exited(0))
        let again = try await RunningCoordinator.start(configuration: configuration, databaseURL: database.conninfo, environment: environment)
        defer { again.remove() }
        try await Task.sleep(for: .seconds(3))
        #expect(try await announcements() == 1)

        // Without the incident process, performance says so instead of showing zeros.
        let report = try await again.call("supplier.scorecard").body
        #expect(report["incidentData"] as? String == "none")
        #expect((report["note"] as? String)?.contains("incident process is not enabled") == true)
        #expect(await second.stop() == .exited(0))
        #expect(await again.stop() == .exited(0))
    }
}
