import Foundation
import ITSMEndToEndTesting
import ITSMSystem
import ITSMTesting
import Testing

/// `itsm plugin new` makes a package that builds, passes its test and the protocol check, and
/// runs under the coordinator. Examples/facilities-swift is its output, so the Swift example
/// and the scaffold cannot drift apart.
@Suite(.serialized) struct ScaffoldEndToEndTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Examples/facilities-swift").standardizedFileURL.path

    @Test func newPluginBuildsPassesItsTestAndTheCheckAndServes() async throws {
        let work = "/tmp/itsm-scaffold-" + UUID().uuidString.prefix(8).lowercased()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let itsm = try Binaries.path("itsm")

        // The scaffold's output is exactly the committed example.
        let created = try await Command.run(itsm, ["plugin", "new", "facilities", "--output", work + "/facilities-swift", "--toolkit", "../.."])
        #expect(created.status == .exited(0), "\(created.text)")
        let files = try FileManager.default.subpathsOfDirectory(atPath: work + "/facilities-swift").filter { !$0.hasSuffix("/") }.sorted()
        #expect(files.contains("Package.swift") && files.contains("Tests/FacilitiesProcessTests/FacilitiesStoreTests.swift"))
        for file in files {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: work + "/facilities-swift/" + file, isDirectory: &isDirectory)
            guard !isDirectory.boolValue else { continue }
            #expect(FileManager.default.contents(atPath: work + "/facilities-swift/" + file)
                    == FileManager.default.contents(atPath: Self.example + "/" + file), "\(file) differs from Examples/facilities-swift")
        }
        #expect(try await Command.run(itsm, ["plugin", "new", "incident"]).status == .exited(64))

        // It builds and its own test passes, against the toolkit in this checkout.
        let scratch = work + "/build"
        let test = try await Command.run("/usr/bin/env", ["swift", "test", "--package-path", Self.example, "--scratch-path", scratch])
        #expect(test.status == .exited(0), "\(test.text.suffix(3000))")
        let plugin = scratch + "/debug/itsm-facilities"
        let check = try await Command.run(itsm, ["plugin", "check", "--", plugin])
        #expect(check.status == .exited(0), "\(check.text)")

        // Enabled next to the incident process and called through the HTTP API.
        let database = try await TestPostgres.makeDatabase(label: "e2escaffold")
        let coordinator = try await RunningCoordinator.start(configuration: """
            plugins:
              - incident
              - name: facilities
                command: [\(plugin)]
            """, databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let (status, request) = try await coordinator.call("facilities.create", ["title": "Broken door"])
        #expect(status == 200, "\(request)")
        #expect(request["number"] as? String == "FAC-000001")
        #expect(try await coordinator.call("facilities.complete", ["number": "FAC-000001"]).status == 200)
        #expect(try await coordinator.call("facilities.complete", ["number": "FAC-000001"]).status == 409)
        // And through the REST routes it declares.
        let (restStatus, restBody) = try await coordinator.request("GET", "api/v1/facilities/FAC-000001", token: coordinator.token)
        #expect(restStatus == 200 && String(decoding: restBody, as: UTF8.self).contains("\"completed\""), "\(String(decoding: restBody, as: UTF8.self))")

        let incident = try await coordinator.call("incident.create", ["title": "Flood in the server room"]).body
        let number = try #require(incident["number"] as? String)
        #expect(try await coordinator.call("incident.declare_major", ["number": number, "reason": "site down"]).status == 200)
        var followUps: [[String: Any]] = []
        #expect(try await coordinator.waitUntil {
            followUps = (try await coordinator.call("facilities.list", ["status": "open"]).body["items"] as? [[String: Any]]) ?? []
            return !followUps.isEmpty
        })
        #expect(followUps.count == 1 && followUps.first?["incident"] as? String == number)
        #expect(await coordinator.stop() == .exited(0))
    }
}
