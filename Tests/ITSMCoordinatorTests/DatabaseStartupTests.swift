import ITSMCoordinator
import ITSMPostgres
import Logging
import Synchronization
import Testing

/// A coordinator started while its database is unreachable waits for it; other errors stop it.
@Suite struct DatabaseStartupTests {
    @Test func anUnreachableDatabaseIsWaitedForAndOtherErrorsAreNot() async throws {
        let attempts = Mutex(0)
        try await Coordinator.waitForDatabase(logger: Logger(label: "itsm.test")) {
            let attempt = attempts.withLock { count -> Int in
                count += 1
                return count
            }
            if attempt < 3 { throw PostgresError(code: .connectionFailed, message: "the server is starting") }
        }
        #expect(attempts.withLock { $0 } == 3)

        let tried = Mutex(0)
        await #expect(throws: PostgresError.self) {
            try await Coordinator.waitForDatabase(logger: Logger(label: "itsm.test")) {
                tried.withLock { $0 += 1 }
                throw PostgresError(code: .server, message: "permission denied", sqlState: .init(rawValue: "42501"))
            }
        }
        #expect(tried.withLock { $0 } == 1)
    }
}
