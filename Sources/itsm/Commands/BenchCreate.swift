import ArgumentParser
import Foundation
import ITSMPostgres
import ITSMProtocol
import ITSMSystem

extension Bench {
    /// `incident.create` through a running coordinator beside PostgreSQL's floor for a durable
    /// create, in the same run on the same database: pgbench committing, in one statement, a
    /// record, its initial history rows and its outbox row.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "incident.create through a running coordinator beside pgbench's minimal durable create on the same database.",
            discussion: """
                The floor runs first, in a scratch schema (itsm_bench, dropped afterwards): one transaction per \
                create, one statement inserting the record, six history rows and an outbox row, committed \
                to disk as the toolkit's are. Then the same number of creates through the HTTP API. Each at \
                every --clients count; the ratio is the toolkit's rate over PostgreSQL's.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var client: ClientOptions

        @Option(help: "Creates per measurement.") var requests = 1_500
        @Option(help: "Clients at once, comma separated.") var clients = "1,8"

        /// The floor: what any durable create must at least write.
        static let floorScript = """
            WITH r AS (INSERT INTO itsm_bench.record (title) VALUES ('Benchmark incident') RETURNING id),
                 h AS (INSERT INTO itsm_bench.history (record_id, field, new_value)
                       SELECT r.id, f, 'value' FROM r, unnest(ARRAY['title', 'impact', 'urgency', 'priority', 'status', 'type']) AS f),
                 o AS (INSERT INTO itsm_bench.outbox (payload) SELECT jsonb_build_object('id', r.id, 'title', 'Benchmark incident') FROM r)
            SELECT 1;

            """

        func run() async throws {
            let counts = clients.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard requests > 0, !counts.isEmpty, counts.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--requests must be positive, --clients positive numbers")
            }
            let configuration = try global.loadConfiguration()
            let logger = global.makeLogger()
            let api = try APIClient(options: client, configuration: configuration)
            let body: JSONValue = ["title": "Benchmark incident", "impact": "low", "urgency": "low"]
            var rows = [["clients", "PostgreSQL /s", "p50 ms", "toolkit /s", "p50 ms", "ratio"]]
            var figures: [JSONValue] = []
            try await DatabaseSetup.using(configuration, logger: logger) { database in
                let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("itsm-bench-\(UUID().uuidString.prefix(8))").path
                try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: scratch) }
                try Self.floorScript.write(toFile: scratch + "/create.sql", atomically: true, encoding: .utf8)
                let connection = try await PostgresConnection.connect(to: database.url, logger: logger)
                defer { connection.close() }
                for statement: PostgresQuery in [
                    "DROP SCHEMA IF EXISTS itsm_bench CASCADE", "CREATE SCHEMA itsm_bench",
                    """
                    CREATE TABLE itsm_bench.record (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), title text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now())
                    """,
                    """
                    CREATE TABLE itsm_bench.history (id bigserial PRIMARY KEY, record_id uuid NOT NULL REFERENCES itsm_bench.record (id),
                        at timestamptz NOT NULL DEFAULT now(), field text NOT NULL, new_value text)
                    """,
                    "CREATE TABLE itsm_bench.outbox (id bigserial PRIMARY KEY, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
                ] {
                    try await connection.query(statement)
                }
                for count in counts {
                    let floor = try await Self.pgbench(script: scratch + "/create.sql", clients: count, requests: requests,
                                                       logs: scratch + "/log-\(count)", conninfo: database.url)
                    let toolkit = try await Measurement.run(requests: requests, concurrency: count) {
                        _ = try await api.send("POST", path: "api/v1/rpc/incident.create", body: body)
                    }
                    let ratio = toolkit.throughput / floor.perSecond
                    rows.append([String(count), String(Int(floor.perSecond)), floor.p50.figure(fractionDigits: 2), String(Int(toolkit.throughput)),
                                 (toolkit.percentile(0.5).inSeconds * 1_000).figure(fractionDigits: 2), ratio.figure(fractionDigits: 2)])
                    figures.append(["clients": .int(Int64(count)), "postgresPerSecond": .double(floor.perSecond),
                                    "postgresP50Milliseconds": .double(floor.p50), "toolkitPerSecond": .double(toolkit.throughput),
                                    "toolkitP50Milliseconds": .double((toolkit.percentile(0.5).inSeconds * 1_000)), "ratio": .double(ratio)])
                }
                try await connection.query("DROP SCHEMA itsm_bench CASCADE")
            }
            if client.json { return print(compact(.array(figures))) }
            print("\(requests) creates per row: PostgreSQL's minimal durable create (pgbench) and incident.create through HTTP")
            print(table(rows))
        }

        /// pgbench running `script` `requests` times over `clients` connections; the rate and the
        /// median latency from its per-transaction log.
        static func pgbench(script: String, clients: Int, requests: Int, logs: String, conninfo: String) async throws
            -> (perSecond: Double, p50: Double) {
            try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
            let run = try await runPostgresTool("pgbench", [
                "--no-vacuum", "--file=\(script)", "--client=\(clients)", "--jobs=\(clients)",
                "--transactions=\(max(1, requests / clients))", "--log", "--log-prefix=\(logs)/pgbench",
            ], conninfo: conninfo)
            guard run.status.isSuccess,
                  let line = run.text.split(separator: "\n").first(where: { $0.hasPrefix("tps = ") }),
                  let perSecond = Double(line.dropFirst(6).prefix { $0 != " " }) else {
                throw ValidationError("pgbench failed: \(run.text.suffix(2000))")
            }
            // Each log line: client, transaction, latency in microseconds, ...
            var latencies: [Double] = []
            for file in try FileManager.default.contentsOfDirectory(atPath: logs) {
                let text = try String(contentsOfFile: logs + "/" + file, encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let fields = line.split(separator: " ")
                    if fields.count > 2, let micros = Double(fields[2]) { latencies.append(micros / 1_000) }
                }
            }
            latencies.sort()
            return (perSecond, latencies.isEmpty ? 0 : latencies[latencies.count / 2])
        }
    }
}
