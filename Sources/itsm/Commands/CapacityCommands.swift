import ArgumentParser
import CapacityProtocol
import Foundation
import ITSMProtocol

/// `itsm capacity ...`: capacity management over the HTTP API.
struct CapacityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capacity",
        abstract: "Capacity: resources and metrics, samples (CSV, Prometheus), forecasts and the capacity plan.",
        subcommands: [Define.self, Metrics.self, Import.self, Push.self, Forecast.self, Plan.self])

    struct Define: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Define a resource and its metrics: --metric NAME:UNIT:LIMIT:WARNING:CRITICAL (repeat).")
        @OptionGroup var connection: APIConnection
        @Argument var name: String
        @Option(help: "technical (default) or human (a service desk group; give it a 'workload' metric in hours/week).") var kind: String?
        @Option var service: String?
        @Option var ci: String?
        @Option var owner: String?
        @Option(help: """
            NAME:UNIT:LIMIT:WARNING:CRITICAL[:above|below[:max|min|p95|avg]], e.g. disk:GB:500:400:450, \
            or node_filesystem_avail_bytes{mountpoint="/"}:bytes:0:2e10:5e9:below for free space.
            """) var metric: [String] = []

        func run() async throws {
            let params = DefineResource(name: name, kind: kind, service: service, configurationItem: ci, owner: owner,
                                        metrics: try metric.map(Self.metric(from:)))
            connection.show(try await connection.call(CapacityMethods.define, params)) { "\(name): \($0.count) metrics" }
        }

        /// Reads a `--metric` from the right, so a name may hold colons (Prometheus names do).
        static func metric(from text: String) throws -> DefineResource.MetricDefinition {
            var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            let forecastOn = parts.last.flatMap(ForecastSeries.init(rawValue:))
            if forecastOn != nil { parts.removeLast() }
            let direction = parts.last.flatMap(ThresholdDirection.init(rawValue:))
            if direction != nil { parts.removeLast() }
            guard parts.count >= 5, let limit = Double(parts[parts.count - 3]), let warning = Double(parts[parts.count - 2]),
                  let critical = Double(parts[parts.count - 1]) else {
                throw ValidationError("--metric \(text): give NAME:UNIT:LIMIT:WARNING:CRITICAL[:above|below[:max|min|p95|avg]]")
            }
            return .init(name: parts[..<(parts.count - 4)].joined(separator: ":"), unit: parts[parts.count - 4],
                         limit: limit, warning: warning, critical: critical, direction: direction, forecastOn: forecastOn)
        }
    }

    struct Metrics: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every metric with its state and newest value.")
        @OptionGroup var connection: APIConnection
        @Option var service: String?

        func run() async throws {
            connection.show(try await connection.call(CapacityMethods.metrics, ServiceFilter(service: service))) { metrics in
                table([["RESOURCE", "METRIC", "STATE", "NOW", "LIMIT", "UNIT"]] + metrics.map { metric in
                    [metric.resource, metric.name, metric.state, metric.lastValue.map(decimal) ?? "-",
                     decimal(metric.limit), metric.unit]
                })
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import samples from CSV with columns resource,metric,at,value (a header row), in batches, with progress.",
            discussion: """
                Every row is checked before anything is sent: a known metric, an ISO 8601 time from 1970 up to \
                five minutes ahead, a finite number. If any row is invalid, nothing is imported and each bad row \
                is listed with its line; --skip-invalid imports the valid rows instead.
                """)
        @OptionGroup var connection: APIConnection
        @Argument var file: String
        @Flag(help: "Import the valid rows and list the invalid ones, instead of importing nothing.") var skipInvalid = false
        @Option(help: "Bytes of samples per request (at most the coordinator's httpLimits.maxBodyBytes).") var batchBytes = 512 * 1024

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            let records = try CSVReader.records(Array(data))
            guard let header = records.first?.map({ $0.lowercased() }),
                  let columns = Optional(["resource", "metric", "at", "value"].map { header.firstIndex(of: $0) }),
                  columns.allSatisfy({ $0 != nil }) else {
                throw ValidationError("\(file): the first row must name the columns resource, metric, at, value")
            }
            let indexes = columns.map { $0! }
            let known = Set(try await connection.call(CapacityMethods.metrics, ServiceFilter()).value.map { "\($0.resource)\u{0}\($0.name)" })
            // Checked as the capacity process checks them, so a file is all in or all out.
            let now = Date()
            var samples: [(line: Int, sample: Sample)] = []
            var invalid: [String] = []
            for (offset, record) in records.dropFirst().enumerated() {
                let line = offset + 2
                guard indexes.allSatisfy({ $0 < record.count }) else {
                    invalid.append("line \(line): needs resource, metric, at and value")
                    continue
                }
                let (resource, metric, at) = (record[indexes[0]], record[indexes[1]], record[indexes[2]])
                guard known.contains("\(resource)\u{0}\(metric)") else {
                    invalid.append("line \(line): no metric '\(metric)' on resource '\(resource)'")
                    continue
                }
                guard let value = Double(record[indexes[3]]) else {
                    invalid.append("line \(line): value: '\(record[indexes[3]].prefix(40))' is not a number")
                    continue
                }
                let sample = Sample(resource: resource, metric: metric, at: at, value: value)
                do {
                    _ = try sample.checkedTime(now: now, futureSkew: Sample.defaultFutureSkew)
                } catch {
                    invalid.append("line \(line): \(error.reason)")
                    continue
                }
                samples.append((line, sample))
            }
            if !invalid.isEmpty {
                for line in invalid.prefix(20) { print("  \(line)") }
                if invalid.count > 20 { print("  ... and \(invalid.count - 20) more") }
                guard skipInvalid else {
                    print("nothing imported: \(invalid.count) of \(records.count - 1) rows are invalid; fix them, or pass --skip-invalid")
                    throw ExitStatus.refused
                }
            }

            var accepted = 0
            var rejected: [String] = []
            let progress = ProgressBar(total: samples.count, label: "samples")
            let started = ContinuousClock.now
            var done = 0
            for batch in try Self.batches(samples.map(\.sample), maximumBytes: batchBytes) {
                let result = try await connection.call(CapacityMethods.ingest, IngestSamples(samples: samples[batch].map(\.sample))).value
                accepted += result.accepted
                for rejection in result.rejected {
                    let index = batch.lowerBound + (rejection.index ?? 0)
                    rejected.append("line \(index < samples.count ? samples[index].line : 0): \(rejection.reason)")
                }
                done = batch.upperBound
                progress.update(done)
            }
            progress.finish()
            let seconds = (ContinuousClock.now - started).inSeconds
            print("\(accepted) samples imported, \(invalid.count + rejected.count) rejected, \(Int(Double(done) / max(seconds, 0.001))) rows/s")
            for line in rejected.prefix(20) { print("  \(line)") }
        }

        /// Consecutive ranges of `samples` whose JSON stays under `maximumBytes` (and the
        /// process's sample limit), so each fits in one request however long the names are.
        static func batches(_ samples: [Sample], maximumBytes: Int, maximumCount: Int = 20_000) throws -> [Range<Int>] {
            let encoder = JSONEncoder()
            var ranges: [Range<Int>] = []
            var start = 0
            var bytes = 0
            for (index, sample) in samples.enumerated() {
                let size = try encoder.encode(sample).count + 1
                if index > start, bytes + size > maximumBytes || index - start == maximumCount {
                    ranges.append(start..<index)
                    (start, bytes) = (index, 0)
                }
                bytes += size
            }
            if start < samples.count { ranges.append(start..<samples.count) }
            return ranges
        }
    }

    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Push a Prometheus text exposition (a file, or - for standard input) as samples of one resource.")
        @OptionGroup var connection: APIConnection
        @Argument var resource: String
        @Argument var file: String

        func run() async throws {
            let body = file == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                : try String(contentsOfFile: file, encoding: .utf8)
            connection.show(try await connection.call(CapacityMethods.ingestPrometheus, PrometheusBody(resource: resource, body: body))) {
                "\($0.accepted) samples accepted"
            }
        }
    }

    struct Forecast: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "When a metric is expected to reach warning, critical and its limit.")
        @OptionGroup var connection: APIConnection
        @Argument var resource: String
        @Argument var metric: String

        func run() async throws {
            connection.show(try await connection.call(CapacityMethods.forecast, MetricKey(resource: resource, metric: metric))) { forecast in
                if let note = forecast.note, forecast.forecast == nil { return note }
                let time = { (date: Date?) in date.map(JSONCoding.string(from:)) }
                let levels = [("warning", forecast.warning), ("critical", forecast.critical), ("limit", forecast.limit)].map { level, crossing in
                    "  \(level.padding(toLength: 9, withPad: " ", startingAt: 0)) "
                        + (time(crossing?.expected).map { "expected \($0) (between \(time(crossing?.earliest) ?? "?") and \(time(crossing?.latest) ?? "beyond the horizon"))" }
                           ?? "not within the horizon")
                }
                return (["model \(forecast.forecast?.model.rawValue ?? "?") on the \(forecast.follows) rollups"] + (forecast.note.map { [$0] } ?? []) + levels)
                    .joined(separator: "\n")
            }
        }
    }

    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The capacity plan: Markdown on standard output, or --output DIR for plan.md plus one SVG chart per metric.")
        @OptionGroup var connection: APIConnection
        @Option var service: String?
        @Option(help: "A directory to write plan.md and the charts into.") var output: String?

        func run() async throws {
            let plan = try await connection.call(CapacityMethods.plan, PlanParams(service: service, format: .markdown)).value
            guard let output else { return print(plan["document"]?.stringValue ?? compact(plan)) }
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            var document = plan["document"]?.stringValue ?? ""
            let charts = plan["charts"]?.objectValue ?? [:]
            for (key, chart) in charts.sorted(by: { $0.key < $1.key }) {
                let name = String(key.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : ($0 == "/" ? "-" : "_") })
                try (chart.stringValue ?? "").write(toFile: output + "/" + name + ".svg", atomically: true, encoding: .utf8)
                document += "\n![\(name)](\(name).svg)\n"
            }
            try document.write(toFile: output + "/plan.md", atomically: true, encoding: .utf8)
            print("wrote \(output)/plan.md and \(charts.count) charts")
        }
    }
}
