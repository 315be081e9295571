import ITSMPostgres
@testable import ITSMPluginKit
import ITSMTesting
import Testing

/// Scheduled work across instances, against a real PostgreSQL.
@Suite struct JobLeaseTests {
    @Test func oneHolderAtATimeAndAStaleHolderCannotWrite() async throws {
        let pool = try await TestPostgres.makeMigratedPool(label: "lease", schema: CoreSchema.name, migrations: CoreSchema.migrations)
        try await pool.query("CREATE TABLE public.effect (by text NOT NULL)")
        let database = PluginDatabase(pool: pool, source: "incident")
        let first = JobLease(pool: pool, job: "incident/sla-scan", holder: "host-a/incident-1", duration: .seconds(30))
        let second = JobLease(pool: pool, job: "incident/sla-scan", holder: "host-b/incident-1", duration: .seconds(30))

        let firstFence = try #require(try await first.acquire())
        #expect(try await second.acquire() == nil, "two instances held one job")
        #expect(try await first.acquire() == firstFence, "renewing changed the fence")
        _ = try await database.fenced(by: firstFence).withTransaction { try await $0.query("INSERT INTO public.effect VALUES ('a')") }

        // Host A stalls (a long GC pause, a frozen VM) past its lease; host B takes over with a higher fence.
        try await pool.query("UPDATE itsm.job_lease SET expires_at = now() - interval '1 second'")
        let secondFence = try #require(try await second.acquire())
        #expect(secondFence.token == firstFence.token + 1)
        #expect(try await first.acquire() == nil)

        // Host A wakes up mid-run: its writes are refused, in transactions and single statements alike.
        await #expect(throws: JobLeaseLost.self) {
            try await database.fenced(by: firstFence).withTransaction { try await $0.query("INSERT INTO public.effect VALUES ('stale')") }
        }
        await #expect(throws: JobLeaseLost.self) {
            try await database.fenced(by: firstFence).query("INSERT INTO public.effect VALUES ('stale')")
        }
        try await database.fenced(by: secondFence).query("INSERT INTO public.effect VALUES ('b')")
        let effects = try await pool.query("SELECT by FROM public.effect ORDER BY by").map { try $0.decode(String.self, "by") }
        #expect(effects == ["a", "b"])
        await pool.close()
    }
}
