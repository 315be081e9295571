import ArgumentParser
import Foundation
import ITSMCoordinator

struct TLSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tls",
        abstract: "Certificates for TLS on the plugin link between hosts.",
        subcommands: [Initialize.self])

    /// Makes (or reuses) a private CA in a folder and signs coordinator and plugin-host certificates.
    struct Initialize: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Make a private CA, a certificate for the coordinators and, for mutual TLS, one per plugin host.",
            discussion: """
                Writes PEM files into --directory: ca.pem and ca.key (keep ca.key off the servers),
                coordinator.pem and coordinator.key, and host-NAME.pem and host-NAME.key for each --host.
                Run it again with the same directory to sign more: the CA there is reused, and no
                existing file is overwritten. Then, in itsm.yaml:

                  remotePlugins:
                    listen: 0.0.0.0:7411
                    tls: {certificate: coordinator.pem, key: coordinator.key, clientCA: ca.pem}

                and on each plugin host: itsm agent … --tls-ca ca.pem [--tls-certificate host-NAME.pem --tls-key host-NAME.key]
                """)

        @Option(help: "The folder for the files (made if missing).")
        var directory: String

        @Option(help: "A name agents dial the coordinators by: a host name or an IP address; repeat for each.")
        var coordinator: [String] = []

        @Option(help: "A plugin host to make a client certificate for; repeat for each.")
        var host: [String] = []

        @Option(help: "How long the coordinator and host certificates are valid, in days.")
        var days = 825

        func validate() throws {
            guard !coordinator.isEmpty || !host.isEmpty else {
                throw ValidationError("name at least one --coordinator (or --host) to make a certificate for")
            }
            guard days > 0 else { throw ValidationError("--days must be positive") }
            for name in host where !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_" }) {
                throw ValidationError("--host '\(name)': use letters, digits, '-', '.' or '_' (it names a file)")
            }
        }

        func run() throws {
            let files = FileManager.default
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
            func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
            func write(_ text: String, to name: String, secret: Bool) throws {
                guard !files.fileExists(atPath: path(name)) else {
                    throw ValidationError("\(path(name)) exists; remove it first or choose another --directory")
                }
                guard files.createFile(atPath: path(name), contents: Data(text.utf8),
                                       attributes: [.posixPermissions: secret ? 0o600 : 0o644]) else {
                    throw ValidationError("cannot write \(path(name))")
                }
                print("wrote \(path(name))")
            }

            let authority: PrivateCertificateAuthority
            if files.fileExists(atPath: path("ca.pem")) {
                guard let certificate = files.contents(atPath: path("ca.pem")), let key = files.contents(atPath: path("ca.key")) else {
                    throw ValidationError("\(path("ca.pem")) exists but \(path("ca.key")) cannot be read: sign with the CA's key, or use another --directory")
                }
                authority = try PrivateCertificateAuthority(certificatePEM: String(decoding: certificate, as: UTF8.self),
                                                            keyPEM: String(decoding: key, as: UTF8.self))
                print("signing with the CA in \(path("ca.pem"))")
            } else {
                authority = try PrivateCertificateAuthority.create()
                try write(authority.keyPEM, to: "ca.key", secret: true)
                try write(authority.certificatePEM, to: "ca.pem", secret: false)
            }
            if !coordinator.isEmpty {
                let issued = try authority.issue(commonName: coordinator[0], names: coordinator, usage: .server, days: days)
                try write(issued.keyPEM, to: "coordinator.key", secret: true)
                try write(issued.certificatePEM, to: "coordinator.pem", secret: false)
            }
            for name in host {
                let issued = try authority.issue(commonName: name, names: [], usage: .client, days: days)
                try write(issued.keyPEM, to: "host-\(name).key", secret: true)
                try write(issued.certificatePEM, to: "host-\(name).pem", secret: false)
            }
        }
    }
}
