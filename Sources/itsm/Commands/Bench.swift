import ArgumentParser
import AsyncHTTPClient
import Foundation
import ITSMCoordinator
import ITSMProtocol
import ITSMSystem
import ITSMTransport
import Logging
import NIOCore
import Synchronization

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure speed: the plugin protocol's round trip, or whole requests through a running coordinator.",
        subcommands: [ProtocolRoundTrip.self, RPC.self, Page.self, SampleCSV.self, Detection.self, Lists.self, Ingest.self, Create.self,
                      Memory.self, Events.self])

    /// Writes a synthetic ServiceNow-style export, to measure `itsm incident import` with.
    struct SampleCSV: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "csv",
            abstract: "Write a synthetic incident export (ServiceNow columns) for import benchmarks.",
            discussion: "Then: itsm incident import FILE, which reports its rate in rows per second.")

        @Option(help: "How many rows.") var rows = 100_000
        @Option(help: "Where to write it.") var output: String
        @Option(help: "Seed, for the same file every time.") var seed: UInt64 = 1

        func run() throws {
            var generator = SeededGenerator(seed: seed)
            let services = ["email", "vpn", "erp", "crm", "printing", "telephony", "intranet", "storage"]
            let problems = ["slow", "down", "failing intermittently", "returns errors", "cannot log in", "times out"]
            let states = ["New", "In Progress", "On Hold", "Resolved", "Closed"]
            var text = "number,short_description,description,business_service,impact,urgency,state,opened_at,resolved_at,close_code,close_notes,caller_id\n"
            text.reserveCapacity(rows * 200)
            let start = Date(timeIntervalSince1970: 1_767_225_600) // 2026-01-01
            let format = Date.ISO8601FormatStyle()
            for n in 1...max(rows, 1) {
                let service = services[Int(generator.next() % UInt64(services.count))]
                let problem = problems[Int(generator.next() % UInt64(problems.count))]
                let state = states[Int(generator.next() % UInt64(states.count))]
                let opened = start.addingTimeInterval(Double(n) * 300)
                let resolved = state == "Resolved" || state == "Closed" ? opened.addingTimeInterval(Double(generator.next() % 86_400)) : nil
                text += "INC\(String(format: "%07d", n)),\"\(service) \(problem)\",\"Users report that \(service) is \(problem).\","
                text += "\(service),\(generator.next() % 3 + 1),\(generator.next() % 3 + 1),\(state),\(opened.formatted(format)),"
                text += "\(resolved.map { $0.formatted(format) } ?? ""),\(resolved == nil ? "" : "Solved"),"
                text += "\(resolved == nil ? "" : "Fixed by the \(service) team"),user\(generator.next() % 5000)\n"
            }
            try text.write(toFile: output, atomically: true, encoding: .utf8)
            print("wrote \(rows) rows to \(output)")
        }
    }

    /// `$/ping` round trips to a plugin over its stdin/stdout pipes, as the coordinator talks to
    /// it, beside the floor: the same line echoed by `cat` over a raw pipe, in the same run.
    struct ProtocolRoundTrip: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "protocol",
            abstract: "Round trips of the JSON-lines protocol to a plugin process (no database, no HTTP), beside a raw pipe's.",
            discussion: """
                The raw pipe is the floor: the same request line written to cat and read back with
                blocking calls on one thread, no parsing. The protocol's p50 divided by the floor's
                says what the transport and JSON cost. The protocol is measured twice: with the
                callers on Swift's thread pool, as the coordinator's are, and with them on the
                connection's event loop, which shows what the thread switches cost.
                """)

        @Option(help: "The plugin to start (default: the built-in incident plugin).")
        var plugin: String?

        @Option(help: "Round trips to time, after a warm-up of a tenth as many.")
        var requests = 20_000

        @Option(help: "Requests in flight at once (the raw pipe always has one).")
        var concurrency = 1

        @Flag(help: "Print the figures as one JSON object.")
        var json = false

        func run() async throws {
            guard requests > 0, concurrency > 0 else { throw ValidationError("--requests and --concurrency must be positive") }
            let pingLine = try Message.request(JSONRPCRequest(id: .number(1), method: ProtocolMethod.ping)).encodedLine()
            let floor = try RawPipeEcho.measure(line: Array(pingLine), requests: requests)

            let command = plugin.map { [$0] }
                ?? PluginSpec(name: "incident").resolvedCommand(builtInDirectory: Coordinator.executableDirectory())
            let child = try ChildProcess.spawn(.init(
                executable: command[0], arguments: Array(command.dropFirst()),
                standardInput: .pipe, standardOutput: .pipe, standardError: .null, newProcessGroup: true))
            let connection = try await JSONRPCConnection.overPipes(
                input: child.standardOutput!, output: child.standardInput!,
                configuration: .init(peerName: "bench"), logger: Logger(label: "itsm.bench"))
            let reader = Task { await connection.run(onRequest: { _ in .null }, onNotification: { _ in }) }
            defer {
                connection.close()
                child.signal(SIGKILL)
                reader.cancel()
            }
            let ping: @Sendable () async throws -> Void = { _ = try await connection.request(ProtocolMethod.ping) }
            // As the coordinator's callers do: from Swift's thread pool, a thread switch each way.
            let timings = try await Measurement.run(requests: requests, concurrency: concurrency, ping)
            // A caller that stays on the connection's event loop switches threads not at all.
            let onTheLoop = try await connection.withAffinity {
                try await Measurement.run(requests: requests, concurrency: concurrency, ping)
            }
            let ratio = timings.percentile(0.5).inSeconds / max(floor.percentile(0.5).inSeconds, 1e-9)
            if json {
                print(compact(["rawPipe": floor.figures, "protocol": timings.figures, "protocolOnTheLoop": onTheLoop.figures,
                               "p50Ratio": .double((ratio * 10).rounded() / 10)]))
                return
            }
            floor.print(title: "raw pipe round trip (the same line echoed by cat, blocking calls, one in flight)", json: false)
            print("")
            timings.print(title: "protocol round trip (\(ProtocolMethod.ping) to \(command[0]), \(concurrency) in flight)", json: false)
            print("")
            onTheLoop.print(title: "the same, the callers on the connection's event loop", json: false)
            print("")
            print("protocol p50 / raw pipe p50: \(String(format: "%.1f", ratio))×")
        }
    }

    /// Whole requests as an API client sees them: HTTP, auth, routing, the plugin, PostgreSQL.
    struct RPC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rpc",
            abstract: "Requests through a running coordinator's HTTP API (start one with itsm serve).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var client: ClientOptions

        @Option(help: "The method to call.")
        var method = "incident.create"

        @Option(help: "The params as JSON.")
        var params = #"{"title": "Benchmark incident", "impact": "low", "urgency": "low"}"#

        @Option(help: "Requests to time, after a warm-up of a tenth as many.")
        var requests = 2_000

        @Option(help: "Requests in flight at once.")
        var concurrency = 8

        func run() async throws {
            guard requests > 0, concurrency > 0 else { throw ValidationError("--requests and --concurrency must be positive") }
            guard let body = try? JSONValue.parse(params.utf8) else {
                throw ValidationError("--params must be JSON")
            }
            let api = try APIClient(options: client, configuration: try global.loadConfiguration())
            // One failed call ends the run with the error, as a failed command would.
            let timings: Measurement
            do {
                timings = try await Measurement.run(requests: requests, concurrency: concurrency) {
                    _ = try await api.send("POST", path: "api/v1/rpc/\(method)", body: body)
                }
            } catch let error as ResponseError {
                throw report(error)
            }
            timings.print(title: "\(method) through the HTTP API", json: client.json)
        }
    }
}

extension Bench {
    /// Console pages as a signed-in person's browser asks for them: the HTML a page renders,
    /// server and plugin work included.
    struct Page: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "page",
            abstract: "A console page through a running coordinator, as a signed-in person (password on standard input).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var client: ClientOptions

        @Argument(help: "The page, e.g. /console/?queue=all")
        var path = "/console/?queue=all"

        @Option(help: "The account to sign in as.")
        var name: String

        @Option(help: "Requests to time, after a warm-up of a tenth as many.")
        var requests = 500

        @Option(help: "Requests in flight at once.")
        var concurrency = 1

        func run() async throws {
            guard requests > 0, concurrency > 0 else { throw ValidationError("--requests and --concurrency must be positive") }
            guard let password = Swift.readLine(strippingNewline: true), !password.isEmpty else {
                throw ValidationError("give the password on standard input")
            }
            let api = try APIClient(options: client, configuration: try global.loadConfiguration())
            var signIn = HTTPClientRequest(url: api.baseURL.appendingPathComponent("api/v1/session").absoluteString)
            signIn.method = .POST
            signIn.body = .bytes(ByteBuffer(bytes: JSONValue.object(["name": .string(name), "password": .string(password)]).serialized()))
            let answer = try await HTTPClient.shared.execute(signIn, timeout: .seconds(30))
            guard answer.status == .ok, let cookie = answer.headers["set-cookie"].first?.split(separator: ";").first.map(String.init) else {
                throw ValidationError("could not sign in as \(name): HTTP \(answer.status.code)")
            }
            let url = api.baseURL.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + path
            let bytes = Mutex(0)
            let timings = try await Measurement.run(requests: requests, concurrency: concurrency) {
                var request = HTTPClientRequest(url: url)
                request.headers.add(name: "Cookie", value: cookie)
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
                let body = try await response.body.collect(upTo: 16 << 20)
                guard response.status == .ok else { throw ValidationError("\(path) answered HTTP \(response.status.code)") }
                bytes.withLock { $0 = body.readableBytes }
            }
            timings.print(title: "\(path) as \(name) (\(bytes.withLock { $0 }) bytes)", json: client.json)
        }
    }
}

/// Latencies of many calls, run with a bounded number in flight.
struct Measurement {
    var latencies: [Duration]
    var elapsed: Duration

    static func run(requests: Int, concurrency: Int, _ operation: @escaping @Sendable () async throws -> Void) async throws -> Measurement {
        _ = try await timed(requests: max(1, requests / 10), concurrency: concurrency, operation) // warm-up
        return try await timed(requests: requests, concurrency: concurrency, operation)
    }

    private static func timed(requests: Int, concurrency: Int, _ operation: @escaping @Sendable () async throws -> Void) async throws -> Measurement {
        let clock = ContinuousClock()
        let start = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for worker in 0..<concurrency {
                let share = requests / concurrency + (worker < requests % concurrency ? 1 : 0)
                group.addTask {
                    var own: [Duration] = []
                    own.reserveCapacity(share)
                    for _ in 0..<share {
                        let began = clock.now
                        try await operation()
                        own.append(clock.now - began)
                    }
                    return own
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        return Measurement(latencies: latencies.sorted(), elapsed: clock.now - start)
    }

    func percentile(_ p: Double) -> Duration {
        latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
    }

    var throughput: Double {
        Double(latencies.count) / elapsed.inSeconds
    }

    private func micros(_ duration: Duration) -> Double {
        (duration.inSeconds * 1e6).rounded()
    }

    var figures: JSONValue {
        [
            "requests": .int(Int64(latencies.count)), "perSecond": .double(throughput.rounded()),
            "p50Micros": .double(micros(percentile(0.5))), "p90Micros": .double(micros(percentile(0.9))),
            "p99Micros": .double(micros(percentile(0.99))), "maxMicros": .double(micros(latencies.last ?? .zero)),
        ]
    }

    func print(title: String, json: Bool) {
        if json {
            Swift.print(compact(figures))
            return
        }
        Swift.print(title)
        Swift.print(table([
            ["requests", "per second", "p50 µs", "p90 µs", "p99 µs", "max µs"],
            [String(latencies.count), String(Int(throughput)), String(Int(micros(percentile(0.5)))),
             String(Int(micros(percentile(0.9)))), String(Int(micros(percentile(0.99)))), String(Int(micros(latencies.last ?? .zero)))],
        ]))
    }
}

/// The floor for a round trip between two processes: a line written to `cat` over a pipe and
/// read back, with blocking calls on one thread and no parsing.
enum RawPipeEcho {
    static func measure(line: [UInt8], requests: Int) throws -> Measurement {
        let cat = try ChildProcess.spawn(.init(executable: "/bin/cat", arguments: [], standardInput: .pipe,
                                               standardOutput: .pipe, standardError: .null, newProcessGroup: true))
        defer {
            close(cat.standardInput!)
            close(cat.standardOutput!)
            cat.signal(SIGKILL)
        }
        let (input, output) = (cat.standardInput!, cat.standardOutput!)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        func roundTrip() throws {
            var written = 0
            while written < line.count {
                let count = line.withUnsafeBytes { write(input, $0.baseAddress! + written, line.count - written) }
                guard count > 0 else { throw SystemError.last("write") }
                written += count
            }
            var received = 0
            while received < line.count {
                let count = read(output, &buffer, buffer.count)
                guard count > 0 else { throw SystemError.last("read") }
                received += count
            }
        }
        let clock = ContinuousClock()
        for _ in 0..<max(1, requests / 10) { try roundTrip() }
        var latencies: [Duration] = []
        latencies.reserveCapacity(requests)
        let start = clock.now
        for _ in 0..<requests {
            let began = clock.now
            try roundTrip()
            latencies.append(clock.now - began)
        }
        return Measurement(latencies: latencies.sorted(), elapsed: clock.now - start)
    }
}
