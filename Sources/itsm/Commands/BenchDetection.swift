import ArgumentParser
import Foundation
import IncidentProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import ProblemProcess
import Synchronization

extension Bench {
    /// Recurring-incident detection against a large incident history: the cost the problem
    /// process adds to every new incident.
    struct Detection: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "detection",
            abstract: "Time recurrence detection per new incident over a large incident history.",
            discussion: """
                Loads --incidents synthetic incidents spread over three years (20,000 CIs, 200 services \
                x 20 categories, varied titles) into a throwaway database, then times each of --samples \
                new incidents: recorded and checked by every rule, as the problem process does on \
                incident.created.
                """)

        @Option(help: "Incidents of history.") var incidents = 1_000_000
        @Option(help: "New incidents to time.") var samples = 300
        @Option(help: "A database to use instead of a throwaway cluster (its problem schema gets the history).") var database: String?
        @Flag(help: "Print the figures as JSON.") var json = false

        func run() async throws {
            guard incidents > 0, samples > 0 else { throw ValidationError("--incidents and --samples must be positive") }
            try await ThrowawayDatabase.withMigratedPool(url: database, schema: ProblemSchema.name, migrations: ProblemSchema.migrations) { pool in

                let loadStarted = ContinuousClock.now
                try await loadHistory(pool)
                if !json { print("loaded \(incidents) incidents in \(ContinuousClock.now - loadStarted)") }

                let store = ProblemStore(database: PluginDatabase(pool: pool, source: "problem"))
                let counter = SampleCounter()
                let timings = try await Measurement.run(requests: samples, concurrency: 1) {
                    let incident = counter.next()
                    _ = try await store.database.withTransaction { tx in
                        try await store.observe(tx, incident: incident, detect: true)
                    }
                }
                timings.print(title: "detection per new incident over \(incidents) incidents", json: json)
            }
        }

        /// The history, generated inside PostgreSQL: one statement, no round trip per row.
        private func loadHistory(_ pool: PostgresPool) async throws {
            try await pool.query("""
                INSERT INTO problem.incident (id, number, title, service, ci, category, priority, status, opened_at, resolved_at,
                    source_updated_at)
                SELECT gen_random_uuid(), 'INC-H' || lpad(n::text, 9, '0'),
                       (ARRAY['Cannot log in to', 'Slow response from', 'Error 500 on', 'Timeout connecting to', 'Disk full on',
                              'Printer jam near', 'Password reset for', 'VPN drops on', 'Backup failed for', 'Certificate expired on'])
                           [1 + n % 10] || ' ' || (ARRAY['payroll', 'intranet', 'mail', 'crm', 'erp', 'wiki', 'hr portal', 'billing'])
                           [1 + (n / 10) % 8] || ' host ' || (n * 7919 % 5000),
                       'service-' || (n % 200), 'CI-' || (n * 104729 % 20000), 'category-' || (n / 200 % 20),
                       1 + n % 5, CASE WHEN n % 10 = 0 THEN 'new' ELSE 'closed' END,
                       now() - interval '1095 days' + (n::float8 / \(incidents) * interval '1095 days'),
                       now() - interval '1095 days' + (n::float8 / \(incidents) * interval '1095 days') + interval '4 hours',
                       now()
                FROM generate_series(1, \(incidents)) AS n
                """)
            try await pool.query("ANALYZE problem.incident")
        }
    }
}

/// New incidents in the same shapes as the history, numbered in order.
private final class SampleCounter: Sendable {
    private let value = Mutex(0)

    func next() -> Incident {
        let n = value.withLock { value in
            value += 1
            return value
        }
        let now = Date()
        return Incident(
            id: UUID(), number: String(format: "INC-S%06d", n), type: .incident, title: "Timeout connecting to crm host \(n * 31 % 5000)",
            description: "", service: "service-\(n % 200)", configurationItem: "CI-\(n * 7 % 20000)", category: "category-\(n % 20)",
            impact: .medium, urgency: .medium, priority: Priority(rawValue: 3)!, status: .new, reopenCount: 0, major: false,
            escalationLevel: 0, createdBy: "bench", createdAt: now, updatedAt: now)
    }
}
