import Foundation
import ITSMEndToEndTesting
import ITSMSystem
import ITSMTesting
import Testing

/// The problem process with the real incident process: detection from incident events, links
/// checked through the coordinator, known errors reaching incidents, and life without the
/// incident process.
@Suite(.serialized) struct ProblemEndToEndTests {
    @Test func recurringIncidentsBecomeOneProposalAndKnownErrorsReachTheDesk() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eproblem")
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - incident
              - problem
            """, databaseURL: database.conninfo)
        defer { coordinator.remove() }

        var numbers: [String] = []
        for n in 1...5 {
            let (status, incident) = try await coordinator.call("incident.create", ["title": "Printer jam \(n)", "configurationItem": "PRN-0042"])
            #expect(status == 200)
            numbers.append(incident["number"] as? String ?? "")
        }
        var proposals: [[String: Any]] = []
        #expect(try await coordinator.waitUntil {
            proposals = (try await coordinator.call("problem.list", ["status": "proposed"]).body["items"] as? [[String: Any]]) ?? []
            return !proposals.isEmpty
        })
        #expect(proposals.count == 1)
        let problem = try #require(proposals.first?["number"] as? String)

        // A sixth joins the same proposal; the incidents show their problem.
        let sixth = try await coordinator.call("incident.create", ["title": "Printer jam 6", "configurationItem": "PRN-0042"]).body
        numbers.append(sixth["number"] as? String ?? "")
        #expect(try await coordinator.waitUntil {
            let detail = try await coordinator.request("GET", "api/v1/problems/\(problem)", token: coordinator.token)
            let body = try JSONSerialization.jsonObject(with: detail.1) as? [String: Any]
            return ((body?["incidents"] as? [[String: Any]])?.count ?? 0) == 6
        })
        #expect(try await coordinator.call("problem.list", ["status": "proposed"]).body["total"] as? Int == 1)
        #expect(try await coordinator.waitUntil {
            try await coordinator.call("incident.get", ["number": numbers[5]]).body["incident"]
                .flatMap { ($0 as? [String: Any])?["problem"] as? String } == problem
        })

        // Accepted, analysed, and its known error published: open incidents get the workaround,
        // and so does a new one that matches.
        for step in ["new", "under_investigation"] {
            #expect(try await coordinator.call("problem.transition", ["number": problem, "to": step]).status == 200)
        }
        let rca = try await coordinator.cli(["problem", "rca", problem, "--method", "5-whys", "--findings", "Worn pickup roller"])
        #expect(rca.status == .exited(0), "\(rca.text)")
        let published = try await coordinator.cli([
            "knownerror", "publish", problem, "--symptoms", "Paper jams in tray 2 of the floor 3 printer",
            "--workaround", "Feed paper from tray 1",
        ])
        #expect(published.status == .exited(0), "\(published.text)")
        #expect(try await coordinator.waitUntil {
            let detail = try await coordinator.call("incident.get", ["number": numbers[0]]).body
            return (detail["workaround"] as? [String: Any])?["workaround"] as? String == "Feed paper from tray 1"
        })
        let later = try await coordinator.call("incident.create", ["title": "Printer jam in tray 2", "configurationItem": "PRN-0042"]).body
        #expect(later["knownError"] as? String == "KE-000001")
        let search = try await coordinator.cli(["knownerror", "search", "paper", "keeps", "jamming", "in", "the", "printer"])
        #expect(search.text.hasPrefix("KE-000001"), "\(search.text)")
        let (status, found) = try await coordinator.request("GET", "api/v1/knownerrors?q=paper%20jam", token: coordinator.token)
        #expect(status == 200 && String(decoding: found, as: UTF8.self).contains("KE-000001"))

        // Linked by hand, checked with the incident process; a missing incident is refused.
        let other = try await coordinator.call("problem.create", ["title": "Badge readers reject valid cards"]).body
        let otherNumber = try #require(other["number"] as? String)
        let badge = try await coordinator.call("incident.create", ["title": "Badge not accepted at main door"]).body
        let linked = try await coordinator.cli(["problem", "link", otherNumber, badge["number"] as? String ?? ""])
        #expect(linked.status == .exited(0) && linked.text.contains("1 incidents linked"), "\(linked.text)")
        let missing = try await coordinator.cli(["problem", "link", otherNumber, "INC-999999"])
        #expect(missing.status == .exited(1) && missing.text.contains("no incident INC-999999"), "\(missing.text)")
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func withoutTheIncidentProcessProblemsWorkAndLinkingSaysWhatIsMissing() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eproblemalone")
        let coordinator = try await RunningCoordinator.start(configuration: "plugins:\n  - problem\n", databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let (created, problem) = try await coordinator.call("problem.create", ["title": "Nightly backup overruns", "impact": 2])
        #expect(created == 200)
        let number = try #require(problem["number"] as? String)
        let (status, body) = try await coordinator.call("problem.link", ["number": number, "incident": "INC-000001"])
        #expect(status == 503)
        let message = ((body["error"] as? [String: Any])?["message"] as? String) ?? ""
        #expect(message.contains("cannot link INC-000001") && message.contains("incident process"), "\(message)")
        #expect(PluginManagementEndToEndTests.kind(body) == "plugin.disabled")
        let shown = try await coordinator.cli(["problem", "show", number])
        #expect(shown.status == .exited(0) && shown.text.contains("Nightly backup overruns"), "\(shown.text)")
        // Listed through the problem contract, a page at a time, and a status it does not declare refused by name.
        _ = try await coordinator.call("problem.create", ["title": "Printer queue stalls", "impact": 3])
        let first = try await coordinator.cli(["problem", "list", "--limit", "1"])
        #expect(first.text.contains("PRB-000002") && !first.text.contains("PRB-000001") && first.text.contains("1 of 2"), "\(first.text)")
        let cursor = try #require(first.text.components(separatedBy: "--after ").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        let second = try await coordinator.cli(["problem", "list", "--limit", "1", "--after", cursor])
        #expect(second.text.contains("PRB-000001") && second.text.contains("Nightly backup overruns"), "\(second.text)")
        let wrong = try await coordinator.cli(["problem", "list", "--status", "open"])
        #expect(wrong.status != .exited(0) && wrong.text.contains("--status: 'open' is not one of proposed, new"), "\(wrong.text)")
        #expect(await coordinator.stop() == .exited(0))
    }
}
