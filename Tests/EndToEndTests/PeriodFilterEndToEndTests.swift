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
}
