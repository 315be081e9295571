import Foundation
import ITSMSystem

/// A real `itsm serve` process for end-to-end tests, in a directory of its own, listening on
/// a free port, with its admin token read from the data directory.
///
/// ```swift
/// let coordinator = try await RunningCoordinator.start(configuration: "plugins: [incident]")
/// let (status, body) = try await coordinator.call("incident.create", ["title": "Mail down"])
/// _ = await coordinator.stop()
/// ```
public final class RunningCoordinator: Sendable {
    public let directory: String
    public let dataDirectory: String
    public let baseURL: URL
    public let token: String
    public let process: ChildProcess
    public let logFile: String

    private init(directory: String, dataDirectory: String, baseURL: URL, token: String, process: ChildProcess, logFile: String) {
        self.directory = directory
        self.dataDirectory = dataDirectory
        self.baseURL = baseURL
        self.token = token
        self.process = process
        self.logFile = logFile
    }

    /// Starts `itsm serve` with `configuration` (YAML; `dataDir` and `http` are set here) and
    /// waits until `/readyz` answers 200.
    /// With `allowNotReady`, returns as soon as the API answers, ready or not (for tests of
    /// plugins that never come up).
    /// `http` is where the API listens (a free loopback port by default); `wrapper` is put in
    /// front of the command, e.g. `ip netns exec <host>` to run it on a test host.
    public static func start(
        configuration: String = "", databaseURL: String? = nil, environment: [String: String] = [:],
        readyTimeout: Duration = .seconds(180), allowNotReady: Bool = false, adminToken: String? = nil,
        http: String = "127.0.0.1:0", wrapper: [String] = []
    ) async throws -> RunningCoordinator {
        // Short: the embedded cluster's socket path must stay under the kernel's limit.
        let directory = "/tmp/itsm-e2e-" + UUID().uuidString.prefix(8).lowercased()
        let dataDirectory = directory + "/data"
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        chmod(directory, 0o755)
        chmod(dataDirectory, 0o755)
        var yaml = "dataDir: \(dataDirectory)\nhttp: \(http)\n" + configuration + "\n"
        if let databaseURL { yaml += "database:\n  url: \"\(databaseURL)\"\n" }
        if let adminToken {
            // As an operator hands one token to clients of several coordinators of one database.
            FileManager.default.createFile(atPath: dataDirectory + "/admin.token", contents: Data((adminToken + "\n").utf8),
                                           attributes: [.posixPermissions: 0o600])
        }
        let configFile = directory + "/itsm.yaml"
        try yaml.write(toFile: configFile, atomically: true, encoding: .utf8)
        let logFile = directory + "/serve.log"

        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "ITSM_DATABASE_URL")
        // Dozens of clusters start at once in a test run; waiting for the disk at each of their
        // fifty migrations kept CI's coordinators from being ready in 90 seconds. Killing any
        // process still loses nothing committed.
        env["ITSM_EMBEDDED_FSYNC"] = "off"
        env.merge(environment) { $1 }
        let command = wrapper + [try Binaries.path("itsm"), "serve", "--config", configFile]
        let process = try ChildProcess.spawn(.init(
            executable: command[0], arguments: Array(command.dropFirst()), environment: env,
            workingDirectory: directory, standardOutput: .file(logFile), standardError: .file(logFile)))

        let deadline = ContinuousClock.now + readyTimeout
        var lastProblem = "not started"
        while ContinuousClock.now < deadline {
            if let status = process.status {
                throw TestHarnessError("itsm serve exited (\(status)) before it was ready; log:\n\(Self.read(logFile))")
            }
            if let data = FileManager.default.contents(atPath: dataDirectory + "/coordinator.json"),
               let info = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let http = info["http"] as? String,
               let token = try? String(contentsOfFile: dataDirectory + "/admin.token", encoding: .utf8) {
                let coordinator = RunningCoordinator(
                    directory: directory, dataDirectory: dataDirectory, baseURL: URL(string: "http://\(http)")!,
                    token: token.trimmingCharacters(in: .whitespacesAndNewlines), process: process, logFile: logFile)
                if let (status, _) = try? await coordinator.request("GET", "readyz") {
                    if status == 200 || allowNotReady { return coordinator }
                }
                lastProblem = "not ready yet"
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.signal(SIGKILL)
        throw TestHarnessError("itsm serve was not ready within \(readyTimeout) (\(lastProblem)); log:\n\(Self.read(logFile))")
    }

    /// A configuration whose `plugins` all run on plugin hosts (`itsm agent`) that dial the
    /// coordinator in plain TCP at `listen` (port 0: any free one).
    public static func remotePluginsOnly(_ plugins: [String], listen: String = "127.0.0.1:0", heartbeatMs: Int? = nil) -> String {
        var yaml = heartbeatMs.map { "heartbeatMs: \($0)\n" } ?? ""
        yaml += "remotePlugins:\n  listen: \(listen)\n  plaintext: true\nplugins:\n"
        for plugin in plugins { yaml += "  - name: \(plugin)\n    remote: true\n" }
        return yaml
    }

    /// A configuration that runs every built-in process.
    public static let everyBuiltInProcess = """
        plugins:
          - incident
          - problem
          - capacity
          - supplier
          - improvement
          - notification
          - service
        """

    /// The itsm.yaml it was started with; reload reads it again.
    public var configFile: String { directory + "/itsm.yaml" }

    /// Runs the `itsm` CLI against this coordinator and its configuration file.
    public func cli(_ arguments: [String], token: String? = nil, input: String? = nil) async throws -> Command.Output {
        try await Command.run(try Binaries.path("itsm"), arguments + [
            "--config", configFile, "--url", baseURL.absoluteString, "--token", token ?? self.token,
        ], input: input)
    }

    /// `POST /api/v1/rpc/<method>` with the admin token (or `token`).
    public func call(_ method: String, _ params: [String: Any] = [:], token: String? = nil,
                     headers: [String: String] = [:]) async throws -> (status: Int, body: [String: Any]) {
        let body = try JSONSerialization.data(withJSONObject: params)
        let (status, data) = try await request("POST", "api/v1/rpc/\(method)", body: body, token: token ?? self.token, headers: headers)
        return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    /// Any request; the body comes back as bytes.
    public func request(_ method: String, _ path: String, body: Data? = nil, token: String? = nil,
                        headers: [String: String] = [:]) async throws -> (Int, Data) {
        // Resolved, not appended: a path may carry a query string.
        guard let url = URL(string: path, relativeTo: baseURL) else { throw TestHarnessError("bad path \(path)") }
        var headers = headers
        if let token { headers["Authorization"] = "Bearer \(token)" }
        return try await HTTPExchange.send(method, url, body: body, headers: headers)
    }

    /// `GET /api/v1/plugins`, by plugin name (the first instance of each).
    public func plugins() async throws -> [String: [String: Any]] {
        Dictionary(try await pluginInstances().map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// `GET /api/v1/plugins`: one entry per instance.
    public func pluginInstances() async throws -> [[String: Any]] {
        let (_, data) = try await request("GET", "api/v1/plugins", token: token)
        return (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }

    /// Each instance's restart count, by `name/instance`: taken once the coordinator is ready, so
    /// a test can tell a restart its own input caused from one a loaded machine caused at start.
    public func restartCounts() async throws -> [String: Int] {
        Dictionary(try await pluginInstances().map { ("\($0["name"] ?? "?")/\($0["instance"] ?? "?")", $0["restarts"] as? Int ?? 0) },
                   uniquingKeysWith: { first, _ in first })
    }

    /// The instances that restarted since `baseline` (from `restartCounts()`) or are not running
    /// now, each with its state and why it last stopped; empty when none did.
    public func instancesDisturbed(since baseline: [String: Int]) async throws -> [String] {
        try await pluginInstances().compactMap { instance in
            let key = "\(instance["name"] ?? "?")/\(instance["instance"] ?? "?")"
            let state = instance["state"] as? String ?? "?"
            guard state != "disabled" else { return nil }
            let restarts = instance["restarts"] as? Int ?? 0
            guard restarts != baseline[key] || state != "running" else { return nil }
            return "\(key): \(state), restarts \(baseline[key] ?? 0) → \(restarts), last error: \(instance["lastError"] ?? "none")"
        }
    }

    /// Where remote plugins dial in, when `remotePlugins.listen` is configured (port 0 resolved).
    public var remotePluginAddress: String? {
        guard let data = FileManager.default.contents(atPath: dataDirectory + "/coordinator.json"),
              let info = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return info["remotePlugins"] as? String
    }

    /// Polls until `condition` holds or `timeout` passes.
    public func waitUntil(timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// How long a plugin may take to start (its migrations, a busy database): as long as the
    /// coordinator's own readiness may take. On a loaded machine 30 s was not always enough.
    public static let startTimeout: Duration = .seconds(90)

    /// Waits until plugin `name` is running; if it is not within `timeout`, throws with its
    /// last state and the end of the log, so a failure says why.
    public func waitUntilRunning(_ name: String, timeout: Duration = startTimeout) async throws {
        var last: [String: Any]?
        let running = try await waitUntil(timeout: timeout) {
            last = try await plugins()[name]
            return last?["state"] as? String == "running"
        }
        if !running {
            throw TestHarnessError("plugin \(name) was not running within \(timeout): \(last.map { "\($0)" } ?? "not listed"); log:\n\(log.suffix(4000))")
        }
    }

    /// Polls until `poll` says done, for as long as the work left keeps shrinking: it fails only
    /// after `stall` with no change in `left`. For a backlog (events still to deliver), whose
    /// time depends on its size and the machine's load, not on a fixed deadline.
    public func waitUntilDone(stall: Duration = .seconds(60), _ poll: () async throws -> (done: Bool, left: Int)) async throws -> Bool {
        var left: Int?
        var lastChange = ContinuousClock.now
        while ContinuousClock.now - lastChange < stall {
            if let answer = try? await poll() {
                if answer.done { return true }
                if answer.left != left { (left, lastChange) = (answer.left, .now) }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Sends `signal` (SIGTERM by default) and waits for the process to end.
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(60)) async -> TerminationStatus? {
        process.signal(signal)
        let status = await process.wait(timeout: timeout)
        if status == nil { process.signal(SIGKILL) }
        return status
    }

    public var log: String { Self.read(logFile) }

    /// The coordinator process's threads now (from /proc); nil once it has exited.
    public var threadCount: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.pid)/status", encoding: .utf8) else { return nil }
        return status.split(separator: "\n").first { $0.hasPrefix("Threads:") }
            .flatMap { Int($0.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) }
    }

    /// Removes the directory; call after `stop()`. A coordinator still running (a test that
    /// failed before stopping it) is killed, and its plugins exit when their stdin closes.
    public func remove() {
        if process.status == nil { process.signal(SIGKILL) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
}

/// Where the built executables are: `ITSM_BIN_DIR`, or next to the running test bundle.
public enum Binaries {
    public static func path(_ name: String) throws -> String {
        var candidates: [String] = []
        if let configured = ProcessInfo.processInfo.environment["ITSM_BIN_DIR"] { candidates.append(configured) }
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
            for _ in 0..<3 {
                candidates.append(directory.path)
                directory.deleteLastPathComponent()
            }
        }
        for directory in candidates where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
            return directory + "/" + name
        }
        throw TestHarnessError("cannot find the '\(name)' executable; build it (swift build) or set ITSM_BIN_DIR")
    }
}

public struct TestHarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
