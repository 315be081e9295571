import Foundation
import ITSMSystem
import NIOCore
import NIOPosix

/// A real OpenLDAP server (Debian's slapd) on loopback, loaded with the entries a test gives:
/// the directory people sign in against in the identity tests.
public final class TestDirectory: Sendable {
    public static let suffix = "dc=example,dc=org"
    public static let rootDN = "cn=admin,dc=example,dc=org"
    public static let rootPassword = "directory admin password"
    public let url: String
    public let directory: String
    let process: ChildProcess

    init(url: String, directory: String, process: ChildProcess) {
        self.url = url
        self.directory = directory
        self.process = process
    }

    /// Loads `entries` (LDIF, below the suffix's own entry) with slapadd, then starts slapd on a
    /// free loopback port and waits until it accepts connections.
    public static func start(entries: String) async throws -> TestDirectory {
        let slapd = "/usr/sbin/slapd"
        guard FileManager.default.isExecutableFile(atPath: slapd) else {
            throw TestHarnessError("slapd is missing: run deploy/local/install-prerequisites.sh")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("itsm-ldap-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory + "/db", withIntermediateDirectories: true)
        let configuration = """
            include /etc/ldap/schema/core.schema
            include /etc/ldap/schema/cosine.schema
            include /etc/ldap/schema/inetorgperson.schema
            modulepath /usr/lib/ldap
            moduleload back_mdb
            pidfile \(directory)/slapd.pid
            database mdb
            maxsize 10485760
            suffix "\(suffix)"
            rootdn "\(rootDN)"
            rootpw "\(rootPassword)"
            directory \(directory)/db
            access to attrs=userPassword by self read by anonymous auth by * none
            access to * by users read by * none
            """
        try configuration.write(toFile: directory + "/slapd.conf", atomically: true, encoding: .utf8)
        let ldif = """
            dn: \(suffix)
            objectClass: dcObject
            objectClass: organization
            o: Example
            dc: example

            \(entries)
            """
        try ldif.write(toFile: directory + "/entries.ldif", atomically: true, encoding: .utf8)
        let loaded = try await Command.run("/usr/sbin/slapadd", ["-f", directory + "/slapd.conf", "-l", directory + "/entries.ldif"])
        guard loaded.status == .exited(0) else { throw TestHarnessError("slapadd failed: \(loaded.text)") }

        for _ in 0..<5 {
            // slapd cannot take port 0; a taken port makes it exit, and the next try picks another.
            let port = Int.random(in: 20_000..<60_000)
            let url = "ldap://127.0.0.1:\(port)"
            let process = try ChildProcess.spawn(.init(
                executable: slapd, arguments: ["-f", directory + "/slapd.conf", "-h", url + "/", "-d", "0"],
                standardOutput: .file(directory + "/slapd.log"), standardError: .file(directory + "/slapd.log")))
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline, process.status == nil {
                if await accepts(port: port) { return TestDirectory(url: url, directory: directory, process: process) }
                try await Task.sleep(for: .milliseconds(50))
            }
            process.signal(SIGKILL)
            _ = await process.wait()
        }
        throw TestHarnessError("slapd did not start on any of five ports; log:\n\((try? String(contentsOfFile: directory + "/slapd.log", encoding: .utf8)) ?? "")")
    }

    /// Changes entries as the directory's administrator would (LDIF for ldapmodify).
    public func modify(_ ldif: String) async throws {
        let file = directory + "/change-\(UUID().uuidString.prefix(8)).ldif"
        try ldif.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try await Command.run("/usr/bin/ldapmodify", ["-x", "-H", url, "-D", Self.rootDN, "-w", Self.rootPassword, "-f", file])
        guard result.status == .exited(0) else { throw TestHarnessError("ldapmodify failed: \(result.text)") }
    }

    /// Stops the server, as an outage would.
    public func stop() async {
        process.signal(SIGKILL)
        _ = await process.wait()
    }

    public func remove() {
        process.signal(SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func accepts(port: Int) async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(500))
                .connect(host: "127.0.0.1", port: port).get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }
}
