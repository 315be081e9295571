import ArgumentParser
import Foundation
import ITSMPostgres
import ITSMProtocol
import ITSMSystem

extension Bench {
    /// How fast a subscriber takes in events while records are being created, beside
    /// PostgreSQL's floor for taking one in, in the same run on the same database.
    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "events",
            abstract: "incident.created events reaching the problem process during a stream of creates, beside pgbench's floor.",
            discussion: """
                The floor runs first, in a scratch schema (itsm_bench, dropped afterwards): pgbench with one \
                client, since a subscriber takes its events in order, committing what taking an event in must \
                write: its inbox row and the subscriber's copy of the record. Then --requests creates through \
                the HTTP API, --clients at once, all with one title (an outage: every incident joins one \
                proposed problem). Printed: how many of their events the problem process had taken in when the \
                creates ended, how long until it had taken in the last, and its rate over the whole run.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var client: ClientOptions

        @Option(help: "Creates in the stream.") var requests = 2_000
        @Option(help: "Clients creating at once.") var clients = 8
        @Option(help: "Seconds to wait for the last event before giving up.") var timeout = 600

        static let floorScript = """
            WITH i AS (INSERT INTO itsm_bench.inbox (subscriber, event_id) VALUES ('problem', gen_random_uuid()) RETURNING event_id)
            INSERT INTO itsm_bench.incident (id, title, opened_at) SELECT event_id, 'Benchmark incident', now() FROM i;

            """

        func run() async throws {
            guard requests > 0, clients > 0 else { throw ValidationError("--requests and --clients must be positive") }
            let configuration = try global.loadConfiguration()
            let logger = global.makeLogger()
            let api = try APIClient(options: client, configuration: configuration)
            try await DatabaseSetup.using(configuration, logger: logger) { database in
                let connection = try await PostgresConnection.connect(to: database.url, logger: logger)
                defer { connection.close() }
                let subscribed = try await connection.query("""
                    SELECT 1 FROM itsm.subscription WHERE subscriber = 'problem' AND event_type = 'incident.created'
                    """)
                guard !subscribed.isEmpty else {
                    throw ValidationError("the problem process has never subscribed here: enable incident and problem, and start the coordinator")
                }

                let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("itsm-bench-\(UUID().uuidString.prefix(8))").path
                try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: scratch) }
                try Self.floorScript.write(toFile: scratch + "/event.sql", atomically: true, encoding: .utf8)
                for statement: PostgresQuery in [
                    "DROP SCHEMA IF EXISTS itsm_bench CASCADE", "CREATE SCHEMA itsm_bench",
                    "CREATE TABLE itsm_bench.inbox (subscriber text NOT NULL, event_id uuid NOT NULL, PRIMARY KEY (subscriber, event_id))",
                    "CREATE TABLE itsm_bench.incident (id uuid PRIMARY KEY, title text NOT NULL, opened_at timestamptz NOT NULL)",
                ] {
                    try await connection.query(statement)
                }
                let floor = try await Create.pgbench(script: scratch + "/event.sql", clients: 1, requests: requests,
                                                     logs: scratch + "/log", conninfo: database.url)
                try await connection.query("DROP SCHEMA itsm_bench CASCADE")

                // The stream: every event after `first` is one of ours.
                let first = try await connection.query("SELECT coalesce(max(id), 0) AS id FROM itsm.outbox").single().decode(Int64.self, "id")
                func waiting() async throws -> (events: Int, waiting: Int) {
                    let row = try await connection.query("""
                        SELECT count(*) AS events, count(*) FILTER (WHERE delivered_at IS NULL) AS waiting FROM itsm.delivery
                        WHERE subscriber = 'problem' AND outbox_id > \(first)
                        """).single()
                    return (try row.decode(Int.self, "events"), try row.decode(Int.self, "waiting"))
                }
                let clock = ContinuousClock()
                let began = clock.now
                let body: JSONValue = ["title": "Benchmark incident: mail does not arrive", "impact": "low", "urgency": "low"]
                let creates = try await Measurement.run(requests: requests, concurrency: clients) {
                    _ = try await api.send("POST", path: "api/v1/rpc/incident.create", body: body)
                }
                let atEnd = try await waiting()
                let createsEnded = clock.now - began
                // Taking events in makes more (a link to a problem changes the incident, which says so).
                var now = atEnd
                while now.waiting > 0 {
                    guard clock.now - began < .seconds(timeout) else {
                        throw ValidationError("\(now.waiting) events still not taken in after \(timeout) s")
                    }
                    try await Task.sleep(for: .milliseconds(50))
                    now = try await waiting()
                }
                let allIn = clock.now - began
                let rate = Double(now.events) / allIn.inSeconds
                let figures: JSONValue = [
                    "postgresPerSecond": .double(floor.perSecond.rounded()), "createsPerSecond": .double(creates.throughput.rounded()),
                    "events": .int(Int64(now.events)), "takenInDuringCreates": .int(Int64(atEnd.events - atEnd.waiting)),
                    "createsSeconds": .double(createsEnded.inSeconds), "allTakenInSeconds": .double(allIn.inSeconds),
                    "eventsPerSecond": .double(rate.rounded()), "ratio": .double(rate / floor.perSecond),
                ]
                if client.json { return print(compact(figures)) }
                print("\(now.events) events to the problem process, from \(requests + max(1, requests / 10)) creates with \(clients) clients "
                      + "(incident.created, and incident.updated as each joins a problem)")
                print(table([
                    ["", "events /s", "detail"],
                    ["PostgreSQL, one subscriber (pgbench)", String(Int(floor.perSecond)), "p50 \(floor.p50.figure(fractionDigits: 2)) ms"],
                    ["toolkit", String(Int(rate)),
                     "\(atEnd.events - atEnd.waiting) taken in during the creates (\(createsEnded.inSeconds.figure(fractionDigits: 1)) s, "
                        + "\(Int(creates.throughput)) creates/s); the last after \(allIn.inSeconds.figure(fractionDigits: 1)) s"],
                    ["ratio", (rate / floor.perSecond).figure(fractionDigits: 2), ""],
                ]))
            }
        }
    }
}
