import Foundation
import ITSMPostgres

/// A lease on a scheduled job in `itsm.job_lease`, so that with several instances of a plugin
/// (on one host or many) each job runs on one of them at a time.
///
/// The holder renews it at every run; when the holder dies or stalls, the lease expires and
/// another instance takes it with a higher fence. The job's database writes carry the fence
/// (`PluginDatabase` checks it at the start of every transaction and holds the lease row
/// while the transaction runs), so an instance that wakes up after losing its lease has its
/// writes refused instead of acting twice.
struct JobLease: Sendable {
    let pool: PostgresPool
    /// `<plugin>/<job>`.
    let job: String
    /// This instance: stable for its lifetime, unique across hosts.
    let holder: String
    let duration: Duration

    /// Takes the lease if it is free or expired, or renews it if this instance holds it.
    /// Returns the fence to act under, or nil while another instance holds it.
    func acquire() async throws -> JobFence? {
        let seconds = duration.inSeconds
        let rows = try await pool.query("""
            INSERT INTO itsm.job_lease AS lease (job, holder, fence, expires_at)
            VALUES (\(job), \(holder), 1, now() + make_interval(secs => \(seconds)))
            ON CONFLICT (job) DO UPDATE SET
                holder = EXCLUDED.holder,
                fence = CASE WHEN lease.holder = EXCLUDED.holder AND lease.expires_at > now() THEN lease.fence ELSE lease.fence + 1 END,
                expires_at = EXCLUDED.expires_at
            WHERE lease.holder = EXCLUDED.holder OR lease.expires_at <= now()
            RETURNING fence
            """)
        guard let row = rows.first else { return nil }
        return JobFence(job: job, holder: holder, token: try row.decode(Int64.self, "fence"))
    }
}

/// The right to act for a job, checked in each of its transactions.
struct JobFence: Sendable, Hashable {
    var job: String
    var holder: String
    var token: Int64

    /// Fails the transaction unless the lease is still ours with this fence, and keeps the lease
    /// row share-locked until commit, so no other instance can take it halfway through.
    func check(_ connection: PostgresConnection) async throws {
        let rows = try await connection.query("""
            SELECT 1 FROM itsm.job_lease
            WHERE job = \(job) AND holder = \(holder) AND fence = \(token) AND expires_at > now()
            FOR SHARE
            """)
        guard !rows.isEmpty else { throw JobLeaseLost(job: job, fence: token) }
    }
}

/// A job's write refused: another instance holds its lease now.
public struct JobLeaseLost: Error, CustomStringConvertible {
    public var job: String
    public var fence: Int64
    public var description: String { "the lease on \(job) (fence \(fence)) has passed to another instance; this run stops" }
}
