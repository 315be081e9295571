import ArgumentParser
import Foundation
import IncidentProcess
import IncidentProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol
import ITSMSystem

extension Bench {
    /// `incident.list` pages as the console and the API ask for them, timed at each size of a
    /// growing synthetic history: a page should cost the same at every size.
    struct Lists: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lists",
            abstract: "Time incident.list pages over a synthetic history as it grows (10,000 to 1,000,000 records).",
            discussion: """
                Loads synthetic incidents into a throwaway database in steps (--sizes), and at each \
                size times the incident process's list for the desk's queues, a requester's own \
                records, filters and a page half-way down the history (by cursor and by offset). \
                The process's own query path, without HTTP; `itsm bench rpc` times the whole request.
                """)

        @Option(help: "History sizes to measure at, comma separated, growing.") var sizes = "10000,100000,1000000"
        @Option(help: "Pages to time per shape and size.") var samples = 200
        @Option(help: "A database to use instead of a throwaway cluster (its incident schema gets the history).") var database: String?
        @Flag(help: "Print the figures as JSON.") var json = false

        func run() async throws {
            let steps = sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !steps.isEmpty, steps.allSatisfy({ $0 > 0 }), steps == steps.sorted(), samples > 0 else {
                throw ValidationError("--sizes must be growing positive numbers, --samples positive")
            }
            try await ThrowawayDatabase.withMigratedPool(url: database, schema: IncidentSchema.name, migrations: IncidentSchema.migrations) { pool in
                try await pool.query("""
                    INSERT INTO incident.sla_definition (priority, response_minutes, resolution_minutes, calendar)
                    VALUES (3, 60, 480, '{}')
                    """)
                // The agent limited to their groups is in one, as agents are: a twentieth of the records.
                try await pool.query("INSERT INTO itsm.account (name, display_name) VALUES ('agent-7', 'Agent 7')")
                try await pool.query("INSERT INTO itsm.assignment_group (name) VALUES ('group-3')")
                try await pool.query("INSERT INTO itsm.group_member (group_name, account) VALUES ('group-3', 'agent-7')")
                var loaded = 0
                var results: [[String: JSONValue]] = []
                for size in steps {
                    let started = ContinuousClock.now
                    try await SyntheticIncidents.load(pool, from: loaded + 1, through: size)
                    loaded = size
                    if !json { print("\(size) incidents (loaded in \(started.duration(to: .now)))") }
                    let store = IncidentStore(database: PluginDatabase(pool: pool, source: "incident"))
                    for shape in try await Self.shapes(store, size: size) {
                        var scoped = store
                        scoped.viewer = shape.viewer
                        let (lister, params) = (scoped, shape.params)
                        let timings = try await Measurement.run(requests: samples, concurrency: 1) {
                            _ = try await lister.list(params)
                        }
                        let p50 = timings.percentile(0.5), p99 = timings.percentile(0.99)
                        if json {
                            results.append(["size": .int(Int64(size)), "page": .string(shape.name),
                                            "p50Milliseconds": .double(p50.inSeconds * 1_000), "p99Milliseconds": .double(p99.inSeconds * 1_000)])
                        } else {
                            print("  \(shape.name.padding(toLength: 44, withPad: " ", startingAt: 0)) p50 "
                                  + "\((p50.inSeconds * 1_000).figure(fractionDigits: 2)) ms  p99 \((p99.inSeconds * 1_000).figure(fractionDigits: 2)) ms")
                        }
                    }
                }
                if json { print(compact(.array(results.map(JSONValue.object)))) }
            }
        }

        struct Shape {
            var name: String
            var params: ListIncidents
            var viewer: Viewer?
        }

        /// What people ask for: the console's queues (25 a page, by last change), the API's
        /// default (50, newest first) with its filters, and a page half-way down.
        static func shapes(_ store: IncidentStore, size: Int) async throws -> [Shape] {
            func queue(_ configure: (inout ListIncidents) -> Void) -> ListIncidents {
                var params = ListIncidents(limit: 25)
                params.sort = .updated
                configure(&params)
                return params
            }
            var halfway = ListIncidents(limit: 1, offset: size / 2)
            let cursor = try await store.list(halfway).nextCursor
            halfway.limit = 50
            var afterHalfway = ListIncidents(limit: 50)
            afterHalfway.after = cursor
            var week = ListIncidents(limit: 50)
            week.createdFrom = SyntheticIncidents.created(size - 2_000)
            week.createdTo = SyntheticIncidents.created(size - 1_000)
            var ci = ListIncidents(limit: 50)
            ci.configurationItem = "CI-4711"
            var breached = queue { $0.breached = true; $0.open = true }
            breached.limit = 25
            return [
                Shape(name: "all, first page", params: ListIncidents(limit: 50)),
                Shape(name: "all, half-way down, by cursor", params: afterHalfway),
                Shape(name: "all, half-way down, by offset", params: halfway),
                Shape(name: "queue: assigned to me", params: queue { $0.assignee = "agent-7" }),
                Shape(name: "queue: new", params: queue { $0.status = .new }),
                Shape(name: "queue: a group's", params: queue { $0.assignmentGroup = "group-3" }),
                Shape(name: "queue: breached", params: breached),
                Shape(name: "queue: unassigned", params: queue { $0.open = true; $0.unassigned = true }),
                Shape(name: "queue: at risk", params: queue { $0.atRisk = true }),
                Shape(name: "queue: all, most urgent first", params: queue { $0.sort = .priority; $0.order = .asc }),
                Shape(name: "queue: all, P2 only", params: queue { $0.priority = Priority(rawValue: 2) }),
                Shape(name: "a requester's own", params: queue { _ in }, viewer: Viewer(name: "user-123", reach: .own)),
                Shape(name: "an agent limited to their groups", params: queue { _ in }, viewer: Viewer(name: "agent-7", reach: .groups)),
                Shape(name: "filter: priority P1", params: ListIncidents(priority: Priority(rawValue: 1), limit: 50)),
                Shape(name: "filter: a service", params: ListIncidents(service: "service-42", limit: 50)),
                Shape(name: "filter: a configuration item", params: ci),
                Shape(name: "filter: created in a period", params: week),
            ]
        }
    }
}

/// Synthetic incidents, generated inside PostgreSQL (one statement per step): a record every
/// 90 seconds from 2024 on, every status spread over the whole history (so the "new" queue is
/// as large as it can get), 200 agents in 20 groups, 200 services, 20,000 configuration items,
/// 50,000 requesters, one record in twenty with a breached resolution target and one in twenty
/// with a warned one.
enum SyntheticIncidents {
    static let start = Date(timeIntervalSince1970: 1_704_067_200) // 2024-01-01

    static func created(_ n: Int) -> Date { start.addingTimeInterval(Double(n) * 90) }

    static func load(_ pool: PostgresPool, from first: Int, through last: Int) async throws {
        guard first <= last else { return }
        try await pool.query("""
            INSERT INTO incident.incident (number, type, title, description, caller, service, ci, category, impact, urgency, priority,
                status, assignment_group, assignee, resolved_at, closed_at, major, created_by, created_at, updated_at,
                sla_breached, sla_at_risk)
            SELECT 'INC-B' || lpad(n::text, 9, '0'),
                   CASE WHEN n % 10 = 0 THEN 'request' ELSE 'incident' END,
                   (ARRAY['Cannot log in to', 'Slow response from', 'Error 500 on', 'Timeout connecting to', 'Disk full on'])
                       [1 + n % 5] || ' ' || (ARRAY['payroll', 'intranet', 'mail', 'crm', 'erp', 'wiki'])[1 + (n / 5) % 6],
                   'Reported by a synthetic requester.',
                   'user-' || (n * 101 % 50000), 'service-' || (n * 7 % 200), 'CI-' || (n * 104729 % 20000), 'category-' || (n * 11 % 20),
                   impact, urgency, least(5, impact + urgency - 1), status,
                   CASE WHEN status <> 'new' THEN 'group-' || (n * 17 % 20) END,
                   CASE WHEN status <> 'new' THEN 'agent-' || (n * 13 % 200) END,
                   CASE WHEN status IN ('resolved', 'closed') THEN created + interval '4 hours' END,
                   CASE WHEN status = 'closed' THEN created + interval '4 days' END,
                   n % 5000 = 0,
                   CASE WHEN n % 3 = 0 THEN 'user:user-' || (n * 101 % 50000) ELSE 'api' END,
                   created, created + (n * 7919 % 86400) * interval '1 second',
                   -- The standing the clocks below give, so their trigger finds nothing to change
                   -- (a million updates of the record, each writing every index, at ten million).
                   n % 20 = 0, n % 20 = 10 AND status NOT IN ('resolved', 'closed')
            FROM (SELECT n, timestamptz '2024-01-01 00:00:00+00' + n * interval '90 seconds' AS created,
                         1 + n % 3 AS impact, 1 + (n / 3) % 3 AS urgency,
                         CASE WHEN n * 31 % 100 < 3 THEN 'new' WHEN n * 31 % 100 < 6 THEN 'assigned'
                              WHEN n * 31 % 100 < 9 THEN 'in_progress' WHEN n * 31 % 100 < 11 THEN 'on_hold'
                              WHEN n * 31 % 100 < 20 THEN 'resolved' WHEN n * 31 % 100 < 98 THEN 'closed'
                              ELSE 'cancelled' END AS status
                  FROM generate_series(\(first), \(last)) AS n) AS generated
            """)
        // One record in twenty has a breached resolution clock, one in twenty more one past its
        // warning and not yet breached: the open ones among those are the "at risk" queue.
        try await pool.query("""
            INSERT INTO incident.sla_clock (incident_id, kind, definition_id, target_minutes, warning_percent, started_at, stopped_at,
                warned_at, breached_at, met, calendar)
            SELECT id, 'resolution', (SELECT min(id) FROM incident.sla_definition), 480, 75, created_at, resolved_at,
                   created_at + interval '6 hours', CASE WHEN breached THEN created_at + interval '8 hours' END,
                   CASE WHEN breached THEN false END, '{}'
            FROM (SELECT id, created_at, resolved_at, substr(number, 6)::bigint % 20 = 0 AS breached FROM incident.incident
                  WHERE number >= \("INC-B" + String(format: "%09d", first)) AND number <= \("INC-B" + String(format: "%09d", last))
                    AND substr(number, 6)::bigint % 20 IN (0, 10)) AS chosen
            """)
        // As autovacuum leaves a table in service: statistics current, pages marked all-visible.
        try await pool.query("VACUUM ANALYZE incident.incident")
        try await pool.query("VACUUM ANALYZE incident.sla_clock")
    }
}
