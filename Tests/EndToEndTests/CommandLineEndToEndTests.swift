import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Logging
import Testing

/// The `itsm` command line as an operator meets it: failures end promptly, say why, and exit
/// with a code that means something.
@Suite struct CommandLineEndToEndTests {
    @Test func aFailingCallEndsTheBenchmarkAndAServeThatCannotStartSaysWhy() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2ecli")
        let coordinator = try await RunningCoordinator.start(databaseURL: database.conninfo)
        defer { coordinator.remove() }

        // Every call answers 404: the run stops at the first, with the error and the usage exit code.
        let started = ContinuousClock.now
        let bench = try await coordinator.cli(["bench", "rpc", "--method", "nope.nope", "--requests", "200"])
        #expect(bench.status == .exited(2) && bench.text.contains("error: unknown method 'nope.nope'"), "\(bench.text)")
        #expect(ContinuousClock.now - started < .seconds(30))

        // A second serve on the same data directory: exit 1 with the reason, not usage text.
        let second = try await Command.run(try Binaries.path("itsm"), ["serve", "--config", coordinator.configFile])
        #expect(second.status == .exited(1), "\(second.text)")
        #expect(second.text.contains("error: another itsm serve is already using") && !second.text.contains("USAGE"), "\(second.text)")
        #expect(await coordinator.stop() == .exited(0))
    }

    /// The benchmarks that load their own history run end to end on a small one: each prints
    /// its figures, and those with a floor print it beside the toolkit's.
    @Test func theHistoryBenchmarksRunOnASmallHistoryWithTheirFloors() async throws {
        func json(_ arguments: [String], label: String) async throws -> Any {
            let database = try await TestPostgres.makeDatabase(label: label)
            let run = try await Command.run(try Binaries.path("itsm"), ["bench"] + arguments + ["--json", "--database", database.conninfo])
            #expect(run.status == .exited(0), "\(arguments): \(run.text)")
            let line = run.text.split(separator: "\n").last.map(String.init) ?? ""
            return try JSONSerialization.jsonObject(with: Data(line.utf8))
        }
        let pages = try #require(try await json(["lists", "--sizes", "300,600", "--samples", "3"], label: "benchlists") as? [[String: Any]])
        #expect(pages.count == 34 && pages.allSatisfy { ($0["p50Milliseconds"] as? Double ?? 0) > 0 }, "\(pages)")
        #expect(Set(pages.compactMap { $0["size"] as? Int }) == [300, 600])
        // Each of the desk's queues is timed at each size.
        let shapes = Set(pages.compactMap { $0["page"] as? String })
        #expect(shapes.isSuperset(of: ["queue: unassigned", "queue: at risk", "queue: all, most urgent first", "queue: breached"]), "\(shapes)")
        let ingest = try #require(try await json(["ingest", "--samples", "2000", "--stored", "2000", "--batch", "500", "--metrics", "10"],
                                                 label: "benchingest") as? [String: Any])
        #expect((ingest["copyPerSecond"] as? Double ?? 0) > 0 && (ingest["ingestStoredPerSecond"] as? Double ?? 0) > 0
                && ingest["stored"] as? Int == 4000, "\(ingest)")
        let detection = try #require(try await json(["detection", "--incidents", "500", "--samples", "3"], label: "benchdetect") as? [String: Any])
        #expect(detection["requests"] as? Int == 3, "\(detection)")

        // incident.create beside pgbench's floor, on the coordinator's own database.
        let database = try await TestPostgres.makeDatabase(label: "benchcreate")
        let coordinator = try await RunningCoordinator.start(databaseURL: database.conninfo)
        defer { coordinator.remove() }
        let create = try await coordinator.cli(["bench", "create", "--clients", "1,2", "--requests", "20", "--json"])
        let rows = try JSONSerialization.jsonObject(with: Data((create.text.split(separator: "\n").last ?? "").utf8)) as? [[String: Any]]
        #expect(create.status == .exited(0) && rows?.count == 2, "\(create.text)")
        #expect(rows?.allSatisfy { ($0["postgresPerSecond"] as? Double ?? 0) > 0 && ($0["ratio"] as? Double ?? 0) > 0 } == true, "\(create.text)")
        // The floor's scratch schema is gone again.
        let connection = try await PostgresConnection.connect(to: database.conninfo, logger: Logger(label: "itsm.test"))
        defer { connection.close() }
        #expect(try await connection.query("SELECT count(*) AS n FROM pg_namespace WHERE nspname = 'itsm_bench'").single().decode(Int.self, "n") == 0)

        // The coordinator's memory idle and under twenty clients at once, read from /proc.
        let memory = try await coordinator.cli(["bench", "memory", "--clients", "20", "--seconds", "2", "--json"])
        let figures = try JSONSerialization.jsonObject(with: Data((memory.text.split(separator: "\n").last ?? "").utf8)) as? [String: Any]
        func residentKB(_ key: String) -> Int { (figures?[key] as? [String: Any])?["residentKB"] as? Int ?? 0 }
        // Each client sends until the time is up, so each is answered at least once however slow the machine.
        #expect(memory.status == .exited(0) && (figures?["answered"] as? Int ?? 0) >= 20 && figures?["refused"] as? Int == 0, "\(memory.text)")
        #expect(residentKB("idle") > 1_000 && residentKB("highest") > 1_000 && residentKB("after") > 1_000, "\(memory.text)")
        #expect(await coordinator.stop() == .exited(0))
    }
}
