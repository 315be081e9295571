import Foundation
import ITSMEndToEndTesting
import ITSMTesting
import Testing

/// Every list method of every process takes the records of a period the same way
/// (`createdFrom`, `createdTo`, …), for an auditor asking for the evidence of a quarter.
@Suite struct PeriodFilterEndToEndTests {
    @Test func everyListMethodReturnsTheRecordsOfAPeriodAndRefusesAnEmptyOne() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eperiods")
        let coordinator = try await RunningCoordinator.start(configuration: RunningCoordinator.everyBuiltInProcess,
                                                             databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let lists: [(create: String, params: [String: Any], list: String, listParams: [String: Any])] = [
            ("incident.create", ["title": "Printer jammed"], "incident.list", [:]),
            ("problem.create", ["title": "Printers jam on thick paper"], "problem.list", [:]),
            ("supplier.create", ["name": "Acme Print", "kind": "external"], "supplier.list", [:]),
            ("improvement.create", ["title": "Stock thinner paper"], "improvement.list", [:]),
            ("nonconformity.create", ["title": "No printer maintenance log", "requirement": "7.5"], "nonconformity.list", [:]),
            ("internal_audit.plan", ["title": "Printing", "clauses": ["8.6.1"], "auditor": "ines", "plannedOn": "2026-12-01"],
             "internal_audit.list", [:]),
            ("management_review.record", ["heldOn": "2026-12-01", "from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z",
                                          "chair": "cio", "attendees": ["cio"]], "management_review.list", [:]),
        ]
        let iso = ISO8601DateFormatter()
        let before = iso.string(from: Date().addingTimeInterval(-60))
        for entry in lists {
            let created = try await coordinator.call(entry.create, entry.params)
            #expect(created.status == 200, "\(entry.create): \(created.body)")
        }
        let after = iso.string(from: Date().addingTimeInterval(60))
        for entry in lists {
            func count(_ extra: [String: Any]) async throws -> Int? {
                let answer = try await coordinator.call(entry.list, entry.listParams.merging(extra) { $1 })
                return (answer.body["items"] as? [Any])?.count
            }
            #expect(try await count(["createdFrom": before, "createdTo": after]) == 1, "\(entry.list)")
            #expect(try await count(["createdFrom": after]) == 0, "\(entry.list)")
            #expect(try await count(["updatedTo": before]) == 0, "\(entry.list)")
            let empty = try await coordinator.call(entry.list, ["createdFrom": after, "createdTo": before])
            #expect(empty.status == 400 && "\(empty.body)".contains("createdTo: before createdFrom"), "\(entry.list): \(empty.body)")
        }
        // Through REST too: the query's dates are typed by the schema.
        let (status, body) = try await coordinator.request("GET", "api/v1/incidents?createdFrom=\(before)&createdTo=\(after)", token: coordinator.token)
        #expect(status == 200 && String(decoding: body, as: UTF8.self).contains("Printer jammed"))
        #expect(await coordinator.stop() == .exited(0))
    }

    @Test func theEvidencePackHoldsThePeriodsRecordsWithTheirWholeHistories() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eevidence")
        let coordinator = try await RunningCoordinator.start(configuration: RunningCoordinator.everyBuiltInProcess,
                                                             databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let created = try await coordinator.call("incident.create", ["title": "Badge readers offline", "impact": "high"])
        let number = try #require(created.body["number"] as? String, "\(created.body)")
        #expect(try await coordinator.call("incident.assign", ["number": number, "assignmentGroup": "facilities"]).status == 200)
        #expect(try await coordinator.call("problem.create", ["title": "Badge readers lose power"]).status == 200)
        let history = try #require(try await coordinator.call("incident.get", ["number": number, "history": true]).body["history"] as? [[String: Any]])

        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        let (today, tomorrow) = (day.string(from: Date().addingTimeInterval(-86_400)), day.string(from: Date().addingTimeInterval(86_400)))
        let folder = coordinator.directory + "/evidence"
        let pack = try await coordinator.cli(["report", "evidence", "--from", today, "--to", tomorrow, "--output", folder])
        #expect(pack.status == .exited(0), "\(pack.text)")
        let index = try String(contentsOfFile: folder + "/index.html", encoding: .utf8)
        #expect(index.contains("<h2 id=\"clause-8.6.1\">") && index.contains("1 incident</a> with their histories")
                && index.contains("1 problem</a>"), "\(index)")
        #expect(index.contains("management-review-pack.html") && index.contains("capacity-plan.md"))
        let records = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/incidents.json"))) as? [[String: Any]])
        #expect((records.first?["history"] as? [[String: Any]])?.count == history.count)
        let changes = try String(contentsOfFile: folder + "/incidents-history.csv", encoding: .utf8).split(separator: "\r\n")
        #expect(changes.count == history.count + 1 && changes.dropFirst().allSatisfy { $0.hasPrefix("\"\(number)\"") })

        // Another period holds none of them; a period that ends before it starts is refused.
        let old = try await coordinator.cli(["report", "evidence", "--from", "2000-01-01", "--to", "2000-02-01", "--output", folder + "-2000"])
        #expect(try String(contentsOfFile: folder + "-2000/index.html", encoding: .utf8).contains("0 incidents</a>"), "\(old.text)")
        let backwards = try await coordinator.cli(["report", "evidence", "--from", tomorrow, "--to", today, "--output", folder + "-x"])
        #expect(backwards.status == .exited(64) && backwards.text.contains("--to must be after --from"), "\(backwards.text)")
        #expect(await coordinator.stop() == .exited(0))
    }
}
