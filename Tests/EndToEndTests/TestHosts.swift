import Foundation
import ITSMSystem
import Testing

/// Test hosts made of network namespaces by deploy/netns/itsm-netns.sh: a private bridge with
/// hosts db, db-b, coord, coord-b, plugin-a and plugin-b, named `<prefix>-<host>` at `<subnet>.N`.
/// Each suite uses a prefix and subnet of its own, so suites run side by side.
struct TestHosts: Sendable {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/netns/itsm-netns.sh").path

    let prefix: String
    let subnet: String

    /// Runs the script with `arguments` for these hosts.
    func run(_ arguments: String...) async throws -> Command.Output {
        var environment = ProcessInfo.processInfo.environment
        environment["ITSM_NETNS_PREFIX"] = prefix
        environment["ITSM_NETNS_SUBNET"] = subnet
        return try await Command.run("/bin/bash", [Self.script] + arguments, environment: environment)
    }

    /// What to put in front of a command to run it on `host`.
    func on(_ host: String) -> [String] { ["/usr/sbin/ip", "netns", "exec", "\(prefix)-\(host)"] }

    func address(_ host: String) -> String {
        let number = ["db": 10, "db-b": 11, "coord": 20, "coord-b": 21, "plugin-a": 31, "plugin-b": 32][host] ?? 0
        return "\(subnet).\(number)"
    }

    /// Builds the hosts with PostgreSQL on db, runs `body` with its conninfo and data directory,
    /// and removes every namespace, process and cluster afterwards, whatever happened. Where
    /// namespaces cannot be made (not root, or not permitted), the test is skipped, saying why.
    func withHosts(_ body: (_ databaseURL: String, _ postgresDirectory: String) async throws -> Void) async throws {
        let check = try await run("check")
        if check.status == .exited(77) { try Test.cancel("skipped: \(check.text)") }
        #expect(check.status == .exited(0), "\(check.text)")
        let postgresDirectory = "/tmp/\(prefix)-pg-" + UUID().uuidString.prefix(6).lowercased()
        let result: Result<Void, any Error>
        do {
            let up = try await run("up")
            try #require(up.status == .exited(0), "\(up.text)")
            let postgres = try await run("postgres", postgresDirectory)
            try #require(postgres.status == .exited(0), "\(postgres.text)")
            try await body(try #require(postgres.text.split(separator: "\n").last.map(String.init)), postgresDirectory)
            result = .success(())
        } catch {
            result = .failure(error)
        }
        _ = try? await run("down")
        try? FileManager.default.removeItem(atPath: postgresDirectory)
        try result.get()
    }
}
