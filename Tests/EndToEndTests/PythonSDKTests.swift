import Foundation
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Testing

/// The Python SDK's own tests (sdk/python/tests), run by the tools' Python against a real
/// database with the coordinator's schema: types to schemas, the protocol over real pipes,
/// cancellation of a running statement, events once, migrations.
@Suite struct PythonSDKTests {
    @Test func theSDKsOwnTestsPass() async throws {
        let pool = try await TestPostgres.makeMigratedPool(label: "pythonsdk", schema: CoreSchema.name, migrations: CoreSchema.migrations)
        await pool.close()
        let tests = URL(fileURLWithPath: ExamplePluginEndToEndTests.pythonSDK).appendingPathComponent("tests").path
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = ExamplePluginEndToEndTests.pythonSDK
        environment["ITSM_TEST_DATABASE_URL"] = pool.conninfo
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        let run = try await Command.run(try ConsoleEndToEndTests.python(), ["-m", "unittest", "discover", "-v", "-s", tests],
                                        environment: environment)
        #expect(run.status == .exited(0), "\(run.text)")
        // Every test ran: none was skipped for want of the database.
        #expect(run.text.contains("OK") && !run.text.contains("skipped"), "\(run.text)")
    }
}
