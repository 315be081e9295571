import Foundation
import NIOCore
import NIOSSL

/// How the plugin link between hosts is protected. TLS is the default a deployment must opt out
/// of: the attach token crosses this link, so plain TCP is only ever what a configuration says
/// explicitly (`plaintext: true`).
public enum PluginLinkSecurity: Sendable, Hashable {
    case plaintext
    case tls(PluginLinkTLS)

    /// Parses the `tls:` mapping and `plaintext:` flag of a `remotePlugins` section (coordinator)
    /// or an agent's configuration. `section` names them in errors.
    public static func parse(tls: Any?, plaintext: Any?, section: String, role: PluginLinkTLS.Role) throws -> PluginLinkSecurity {
        let plain = try plaintext.map { try Configuration.bool($0, "\(section)plaintext") } ?? false
        switch (tls, plain) {
        case (nil, true):
            return .plaintext
        case (.some, true):
            throw CoordinatorError("\(section)tls and \(section)plaintext: true exclude each other")
        case (nil, false):
            throw CoordinatorError(
                "\(section)tls: the plugin link carries the attach token, so it needs TLS (\(role.required)); "
                    + "make a private CA with itsm tls init, or set \(section)plaintext: true on a network you trust completely")
        case (let tls?, false):
            guard let mapping = tls as? [String: Any] else { throw CoordinatorError("\(section)tls: must be a mapping") }
            let known: Set<String> = ["certificate", "key", role == .server ? "clientCA" : "ca"]
            if let unknown = Set(mapping.keys).subtracting(known).sorted().first {
                throw CoordinatorError("\(section)tls.\(unknown): unknown setting; known: \(known.sorted().joined(separator: ", "))")
            }
            func path(_ key: String) throws -> String? {
                try mapping[key].map { try Configuration.string($0, "\(section)tls.\(key)") }
            }
            let settings = PluginLinkTLS(certificate: try path("certificate"), key: try path("key"),
                                         trustedCA: try path(role == .server ? "clientCA" : "ca"))
            try settings.validate(role: role, section: section)
            return .tls(settings)
        }
    }
}

/// Files for TLS on the plugin link, all PEM (whatever their extension).
///
/// - The coordinator presents `certificate` and `key`; with `trustedCA` (`clientCA:`) it also
///   requires every plugin host to present a certificate that CA signed (mutual TLS).
/// - An agent trusts only `trustedCA` (`ca:`), the deployment's private CA, and checks that the
///   coordinator's certificate names the host or address it dialed; with `certificate` and
///   `key` it presents its own (for mutual TLS).
public struct PluginLinkTLS: Sendable, Hashable {
    public enum Role: Sendable {
        case server, client

        var required: String {
            self == .server ? "tls.certificate and tls.key, optionally tls.clientCA" : "tls.ca, optionally tls.certificate and tls.key"
        }
    }

    public var certificate: String?
    public var key: String?
    public var trustedCA: String?

    public init(certificate: String? = nil, key: String? = nil, trustedCA: String? = nil) {
        self.certificate = certificate
        self.key = key
        self.trustedCA = trustedCA
    }

    func validate(role: Role, section: String) throws {
        if (certificate == nil) != (key == nil) {
            throw CoordinatorError("\(section)tls: certificate and key go together")
        }
        switch role {
        case .server where certificate == nil:
            throw CoordinatorError("\(section)tls: the coordinator needs certificate and key")
        case .client where trustedCA == nil:
            throw CoordinatorError("\(section)tls.ca: the agent needs the CA that signed the coordinators' certificates")
        default:
            break
        }
        for file in [certificate, key, trustedCA].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: file) {
            throw CoordinatorError("\(section)tls: cannot read \(file)")
        }
    }

    /// The coordinator's side: TLS 1.3, and client certificates required when a CA is set.
    func serverContext() throws -> NIOSSLContext {
        guard let certificate, let key else { throw CoordinatorError("remotePlugins.tls: certificate and key are required") }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        configuration.minimumTLSVersion = .tlsv13
        if let trustedCA {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(trustedCA))
            configuration.certificateVerification = .noHostnameVerification
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// The agent's side: only the deployment's CA is trusted, and the name is checked.
    func clientContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv13
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(trustedCA ?? ""))
        configuration.certificateVerification = .fullVerification
        if let certificate, let key {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// The handler an agent puts first on a link to `host`: SNI and name checks use the host
    /// name; for an IP address the certificate must list that address.
    static func clientHandler(context: NIOSSLContext, host: String) throws -> NIOSSLClientHandler {
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        return try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host)
    }
}

extension PluginLinkTLS {
    /// A TLS failure in words an operator can act on (BoringSSL's reason, and what to check).
    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        let hints: [(reason: String, meaning: String)] = [
            ("CERTIFICATE_REQUIRED", "the coordinator requires a client certificate (mutual TLS): give the agent tls.certificate and tls.key"),
            ("CERTIFICATE_VERIFY_FAILED", "the certificate presented was not signed by the trusted CA, or does not name the address dialed"),
            ("WRONG_VERSION_NUMBER", "the peer does not speak TLS: one side has plaintext: true and the other TLS"),
            ("NO_CERTIFICATE_RETURNED", "no client certificate was presented, and this coordinator requires one"),
            ("UNKNOWN_CA", "the peer does not trust the CA that signed our certificate"),
            ("BAD_CERTIFICATE", "the peer refused our certificate"),
        ]
        for hint in hints where text.contains(hint.reason) {
            return "TLS handshake failed: \(hint.meaning) (\(hint.reason))"
        }
        if let reason = text.split(separator: ":").first(where: { $0.uppercased() == $0 && $0.contains("_") && !$0.contains(" ") }) {
            return "TLS failed: \(reason)"
        }
        return "TLS failed: \(text)"
    }

    /// Whether `line` is a TLS record (a handshake or alert) read where JSON was expected: the
    /// peer speaks TLS and we do not.
    static func looksLikeTLS(_ line: [UInt8]) -> Bool {
        line.count >= 2 && (line[0] == 0x15 || line[0] == 0x16) && line[1] == 0x03
    }
}
