import ArgumentParser
import AsyncHTTPClient
import Foundation
import ITSMCoordinator
import ITSMProtocol

extension Bench {
    /// A running coordinator's memory idle and under many clients at once, read from /proc.
    struct Memory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "memory",
            abstract: "A running coordinator's resident memory idle and with many clients at once.",
            discussion: """
                Reads the coordinator's process (its pid from the data directory) in /proc, so run it on the \
                coordinator's host. Idle first; then --clients connections, each sending incident.list \
                (limit 10) one after another for --seconds, sampled every 100 ms. Goals: under 50 MB idle \
                and 150 MB with 500 clients.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var client: ClientOptions

        @Option(help: "Clients at once, each on its own connection.") var clients = 500
        @Option(help: "How long they send.") var seconds = 20

        struct Usage: Sendable {
            var resident = 0
            var anonymous = 0

            /// VmRSS and RssAnon of `pid`, in kB.
            static func read(pid: Int32) -> Usage? {
                guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
                var usage = Usage()
                for line in status.split(separator: "\n") {
                    let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                    guard fields.count >= 2, let kB = Int(fields[1]) else { continue }
                    if fields[0] == "VmRSS:" { usage.resident = kB }
                    if fields[0] == "RssAnon:" { usage.anonymous = kB }
                }
                return usage
            }

            var megabytes: (String, String) {
                ((Double(resident) / 1024).figure(fractionDigits: 1) + " MB", (Double(anonymous) / 1024).figure(fractionDigits: 1) + " MB")
            }
        }

        /// The highest resident and anonymous memory of `pid` until `deadline`, read every 100 ms.
        static func highest(pid: Int32, until deadline: ContinuousClock.Instant) async throws -> Usage {
            var highest = Usage()
            while ContinuousClock.now < deadline {
                if let now = Usage.read(pid: pid) {
                    highest = Usage(resident: max(highest.resident, now.resident), anonymous: max(highest.anonymous, now.anonymous))
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            return highest
        }

        func run() async throws {
            guard clients > 0, seconds > 0 else { throw ValidationError("--clients and --seconds must be positive") }
            let configuration = try global.loadConfiguration()
            let api = try APIClient(options: client, configuration: configuration)
            guard let info = Coordinator.RuntimeInfo.read(dataDirectory: configuration.dataDirectory),
                  let idle = Usage.read(pid: info.pid) else {
                throw ValidationError("no running coordinator's process on this host: start `itsm serve` with this configuration here")
            }
            var settings = HTTPClient.Configuration()
            settings.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: clients)
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: settings)

            let deadline = ContinuousClock.now + .seconds(seconds)
            async let sampled = Self.highest(pid: info.pid, until: deadline)
            let (answered, refused) = await withTaskGroup(of: (Int, Int).self) { group in
                for _ in 0..<clients {
                    group.addTask {
                        var (answered, refused) = (0, 0)
                        while ContinuousClock.now < deadline {
                            do {
                                _ = try await api.send("POST", path: "api/v1/rpc/incident.list", body: ["limit": 10], using: http)
                                answered += 1
                            } catch {
                                refused += 1
                            }
                        }
                        return (answered, refused)
                    }
                }
                return await group.reduce(into: (0, 0)) { $0 = ($0.0 + $1.0, $0.1 + $1.1) }
            }
            try await http.shutdown()
            let highest = try await sampled
            let after = Usage.read(pid: info.pid) ?? Usage()
            if client.json {
                func figures(_ usage: Usage) -> JSONValue {
                    ["residentKB": .int(Int64(usage.resident)), "anonymousKB": .int(Int64(usage.anonymous))]
                }
                return print(compact([
                    "pid": .int(Int64(info.pid)), "clients": .int(Int64(clients)), "seconds": .int(Int64(seconds)),
                    "answered": .int(Int64(answered)), "refused": .int(Int64(refused)),
                    "idle": figures(idle), "highest": figures(highest), "after": figures(after),
                ]))
            }
            print("coordinator pid \(info.pid); \(clients) clients sending incident.list for \(seconds) s: "
                + "\(answered) answered (\(answered / seconds)/s), \(refused) refused or failed")
            print(table([
                ["", "resident", "anonymous", "goal"],
                ["idle", idle.megabytes.0, idle.megabytes.1, "< 50 MB"],
                ["\(clients) clients, highest", highest.megabytes.0, highest.megabytes.1, "< 150 MB at 500"],
                ["after them", after.megabytes.0, after.megabytes.1, ""],
            ]))
        }
    }
}
