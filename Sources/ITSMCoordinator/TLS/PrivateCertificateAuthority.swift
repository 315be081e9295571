import Crypto
import Foundation
import SwiftASN1
import X509

/// A deployment's own certificate authority for the plugin link: it signs the coordinators'
/// server certificates and, for mutual TLS, one client certificate per plugin host. Keys are
/// ECDSA P-256; nothing here is trusted by anything but this deployment.
public struct PrivateCertificateAuthority: Sendable {
    public let certificate: Certificate
    private let key: P256.Signing.PrivateKey

    public enum Usage: Sendable {
        /// A coordinator: serves the plugin link under `names` (host names or IP addresses).
        case server
        /// A plugin host: proves who it is to coordinators that require client certificates.
        case client
    }

    /// A certificate and its key, both PEM.
    public struct Issued: Sendable {
        public var certificatePEM: String
        public var keyPEM: String
    }

    public static func create(name: String = "itsm plugin link CA", days: Int = 3650) throws -> PrivateCertificateAuthority {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("itsm")
            CommonName(name)
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        return PrivateCertificateAuthority(certificate: certificate, key: key)
    }

    /// An authority made earlier (`ca.pem` and `ca.key`), to sign more certificates with.
    public init(certificatePEM: String, keyPEM: String) throws {
        certificate = try Certificate(pemEncoded: certificatePEM)
        key = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
        guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else {
            throw CoordinatorError("the CA key does not belong to the CA certificate")
        }
    }

    private init(certificate: Certificate, key: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.key = key
    }

    public var certificatePEM: String { get throws { try certificate.serializeAsPEM().pemString } }
    public var keyPEM: String { key.pemRepresentation }

    /// Signs a new key pair for `commonName`. A server certificate lists `names` (DNS names or
    /// IP addresses) as the names agents may dial it by.
    public func issue(commonName: String, names: [String], usage: Usage, days: Int = 825) throws -> Issued {
        let leafKey = P256.Signing.PrivateKey()
        let alternativeNames = try names.map(Self.generalName)
        var extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([usage == .server ? .serverAuth : .clientAuth])
        }
        if !alternativeNames.isEmpty {
            try extensions.append(SubjectAlternativeNames(alternativeNames).makeCertificateExtension())
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(leafKey.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
            issuer: self.certificate.subject,
            subject: try DistinguishedName {
                OrganizationName("itsm")
                CommonName(commonName)
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: .init(key))
        return Issued(certificatePEM: try certificate.serializeAsPEM().pemString, keyPEM: leafKey.pemRepresentation)
    }

    /// An IP address as its bytes, anything else as a DNS name.
    static func generalName(_ name: String) throws -> GeneralName {
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            return .ipAddress(ASN1OctetString(contentBytes: withUnsafeBytes(of: &v4) { ArraySlice($0) }))
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 {
            return .ipAddress(ASN1OctetString(contentBytes: withUnsafeBytes(of: &v6) { ArraySlice($0) }))
        }
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw CoordinatorError("'\(name)' is neither a host name nor an IP address")
        }
        return .dnsName(name)
    }
}
