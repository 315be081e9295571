import Foundation
import ITSMSystem

/// A private CA and certificates for the plugin link, made by `itsm tls init` as an operator
/// would, in a folder of their own (the coordinator's configuration must name them before it starts).
public struct TestCertificates: Sendable {
    public let directory: String

    /// Runs `itsm tls init` with a coordinator certificate for `coordinators` (names or addresses
    /// agents dial) and a client certificate for each of `hosts`.
    public static func make(coordinators: [String], hosts: [String] = []) async throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("itsm-tls-\(UUID().uuidString.prefix(8))").path
        let arguments = ["tls", "init", "--directory", directory]
            + coordinators.flatMap { ["--coordinator", $0] } + hosts.flatMap { ["--host", $0] }
        let output = try await Command.run(try Binaries.path("itsm"), arguments)
        guard output.status == .exited(0) else {
            throw TestHarnessError("itsm tls init failed: \(output.text)")
        }
        return TestCertificates(directory: directory)
    }

    public var ca: String { directory + "/ca.pem" }

    /// The `tls:` member of `remotePlugins`; with `mutual`, plugin hosts must present a certificate.
    public func coordinatorYAML(mutual: Bool = false) -> String {
        "{certificate: \(directory)/coordinator.pem, key: \(directory)/coordinator.key\(mutual ? ", clientCA: \(ca)" : "")}"
    }

    /// `itsm agent` options: trust this CA, and present `host`'s certificate when given.
    public func agentArguments(host: String? = nil) -> [String] {
        ["--tls-ca", ca] + (host.map { ["--tls-certificate", "\(directory)/host-\($0).pem", "--tls-key", "\(directory)/host-\($0).key"] } ?? [])
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
