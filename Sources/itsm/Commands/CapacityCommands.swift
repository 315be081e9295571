import ArgumentParser
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
        @Option(help: "NAME:UNIT:LIMIT:WARNING:CRITICAL, e.g. disk:GB:500:400:450.") var metric: [String] = []

        func run() async throws {
            let metrics: [JSONValue] = try metric.map { text in
                let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 5, let limit = Double(parts[2]), let warning = Double(parts[3]), let critical = Double(parts[4]) else {
                    throw ValidationError("--metric \(text): give NAME:UNIT:LIMIT:WARNING:CRITICAL")
                }
                return ["name": .string(parts[0]), "unit": .string(parts[1]), "limit": .double(limit), "warning": .double(warning),
                        "critical": .double(critical)]
            }
            let defined = try await connection.call("capacity.define", [
                "name": .string(name), "kind": kind.map(JSONValue.string), "service": service.map(JSONValue.string),
                "configurationItem": ci.map(JSONValue.string), "owner": owner.map(JSONValue.string), "metrics": .array(metrics),
            ])
            connection.client.json ? print(compact(defined)) : print("\(name): \(defined.arrayValue?.count ?? 0) metrics")
        }
    }

    struct Metrics: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every metric with its state and newest value.")
        @OptionGroup var connection: APIConnection
        @Option var service: String?

        func run() async throws {
            let list = try await connection.call("capacity.metrics", ["service": service.map(JSONValue.string)])
            guard !connection.client.json else { return print(compact(list)) }
            var rows = [["RESOURCE", "METRIC", "STATE", "NOW", "LIMIT", "UNIT"]]
            for item in list.arrayValue ?? [] {
                rows.append([item["resource"]?.stringValue ?? "", item["name"]?.stringValue ?? "", item["state"]?.stringValue ?? "",
                             item["lastValue"].map(compact) ?? "-", item["limit"].map(compact) ?? "", item["unit"]?.stringValue ?? ""])
            }
            print(table(rows))
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import samples from CSV with columns resource,metric,at,value (a header row), in batches, with progress.")
        @OptionGroup var connection: APIConnection
        @Argument var file: String
        @Option(help: "Rows per request.") var batch = 10_000

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            let records = try CSVReader.records(Array(data))
            guard let header = records.first?.map({ $0.lowercased() }),
                  let columns = Optional(["resource", "metric", "at", "value"].map { header.firstIndex(of: $0) }),
                  columns.allSatisfy({ $0 != nil }) else {
                throw ValidationError("\(file): the first row must name the columns resource, metric, at, value")
            }
            let indexes = columns.map { $0! }
            let rows = records.dropFirst()
            var accepted = 0
            var rejected: [String] = []
            var done = 0
            let started = ContinuousClock.now
            for chunk in stride(from: rows.startIndex, to: rows.endIndex, by: max(1, batch)).map({ rows[$0..<min($0 + batch, rows.endIndex)] }) {
                var samples: [JSONValue] = []
                var lines: [Int] = []
                for (offset, record) in chunk.enumerated() {
                    let line = chunk.startIndex + offset + 1
                    guard indexes.allSatisfy({ $0 < record.count }), let value = Double(record[indexes[3]]) else {
                        rejected.append("line \(line): needs resource, metric, at and a numeric value")
                        continue
                    }
                    samples.append(["resource": .string(record[indexes[0]]), "metric": .string(record[indexes[1]]),
                                    "at": .string(record[indexes[2]]), "value": .double(value)])
                    lines.append(line)
                }
                let result = try await connection.call("capacity.ingest", ["samples": .array(samples)])
                accepted += Int(result["accepted"]?.intValue ?? 0)
                for rejection in result["rejected"]?.arrayValue ?? [] {
                    let index = Int(rejection["index"]?.intValue ?? 0)
                    rejected.append("line \(index < lines.count ? lines[index] : 0): \(rejection["reason"]?.stringValue ?? "")")
                }
                done += chunk.count
                progress(done, of: rows.count)
            }
            FileHandle.standardError.write(Data("\n".utf8))
            let seconds = (ContinuousClock.now - started).inSeconds
            print("\(accepted) samples imported, \(rejected.count) rejected, \(Int(Double(done) / max(seconds, 0.001))) rows/s")
            for line in rejected.prefix(20) { print("  \(line)") }
            if rejected.count > 20 { print("  ... and \(rejected.count - 20) more") }
        }

        private func progress(_ done: Int, of total: Int) {
            let width = 30
            let filled = total == 0 ? width : done * width / total
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            FileHandle.standardError.write(Data("\r[\(bar)] \(total == 0 ? 100 : done * 100 / total)% \(done)/\(total) rows".utf8))
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
            let result = try await connection.call("capacity.ingest_prometheus", ["resource": .string(resource), "body": .string(body)])
            connection.client.json ? print(compact(result)) : print("\(result["accepted"].map(compact) ?? "0") samples accepted")
        }
    }

    struct Forecast: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "When a metric is expected to reach warning, critical and its limit.")
        @OptionGroup var connection: APIConnection
        @Argument var resource: String
        @Argument var metric: String

        func run() async throws {
            let result = try await connection.call("capacity.forecast", ["resource": .string(resource), "metric": .string(metric)])
            guard !connection.client.json else { return print(compact(result)) }
            if let note = result["note"]?.stringValue { return print(note) }
            print("model \(result["forecast"]?["model"]?.stringValue ?? "?") on \(result["granularity"]?.stringValue ?? "")ly rollups")
            for level in ["warning", "critical", "limit"] {
                let crossing = result[level]
                print("  \(level.padding(toLength: 9, withPad: " ", startingAt: 0)) "
                      + (crossing?["expected"]?.stringValue.map { "expected \($0) (between \(crossing?["earliest"]?.stringValue ?? "?") and \(crossing?["latest"]?.stringValue ?? "beyond the horizon"))" }
                         ?? "not within the horizon"))
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
            let plan = try await connection.call("capacity.plan", ["service": service.map(JSONValue.string), "format": "markdown"])
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
