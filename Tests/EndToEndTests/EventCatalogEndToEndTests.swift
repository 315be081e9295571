import Foundation
import ITSMEndToEndTesting
import ITSMTesting
import Testing

/// docs/events.md is generated from what the running processes declare, so it cannot drift.
@Suite struct EventCatalogEndToEndTests {
    static let committed = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/events.md").standardizedFileURL.path

    @Test func theCommittedCatalogIsWhatEveryBuiltInProcessDeclares() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2eevents")
        let coordinator = try await RunningCoordinator.start(configuration: RunningCoordinator.everyBuiltInProcess,
                                                             databaseURL: database.conninfo)
        defer { coordinator.remove() }
        // Every type a built-in process publishes describes its payload.
        let (status, listing) = try await coordinator.request("GET", "api/v1/events", token: coordinator.token)
        let events = try #require(try JSONSerialization.jsonObject(with: listing) as? [[String: Any]])
        #expect(status == 200 && events.count >= 30)
        let undescribed = events.filter { !($0["publishers"] as? [String] ?? []).isEmpty && $0["schema"] == nil }.compactMap { $0["type"] as? String }
        #expect(undescribed.isEmpty, "\(undescribed)")
        let created = events.first { $0["type"] as? String == "incident.created" }
        #expect(created?["subscribers"] as? [String] == ["capacity", "notification", "problem", "supplier"])

        let generated = try await coordinator.cli(["events", "--markdown"])
        #expect(generated.status == .exited(0))
        let committed = try String(contentsOfFile: Self.committed, encoding: .utf8)
        #expect(generated.text == committed,
                "docs/events.md is out of date: regenerate it with 'itsm events --markdown > docs/events.md' against a coordinator running every built-in process")
        #expect(await coordinator.stop() == .exited(0))
    }
}
