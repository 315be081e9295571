import Foundation
import ITSMEndToEndTesting
import ITSMSystem
import ITSMTesting
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
}
