import Foundation

/// The reverse proxies whose `X-Forwarded-For` the coordinator believes (`trustedProxies` in
/// itsm.yaml): addresses or CIDR ranges. Behind a proxy every connection comes from the proxy,
/// so the audit log, sessions and sign-in throttling would all see one client; with the proxy
/// listed they see the client the proxy saw. The header from anyone else is ignored: a client can
/// write any address into it.
public struct TrustedProxies: Sendable, Hashable {
    struct Range: Sendable, Hashable {
        var network: [UInt8]
        var prefixBits: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == network.count else { return false }
            var bits = prefixBits
            for (byte, networkByte) in zip(address, network) where bits > 0 {
                let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
                if byte & mask != networkByte & mask { return false }
                bits -= 8
            }
            return true
        }
    }

    private var ranges: [Range] = []

    public init() {}

    /// `entries`: `10.0.0.5`, `10.0.0.0/8`, `::1`, `fd00::/8`.
    public init(_ entries: [String]) throws {
        for entry in entries {
            let parts = entry.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let network = Self.bytes(String(parts[0])) else {
                throw CoordinatorError("trustedProxies: '\(entry)' is not an IP address or a CIDR range")
            }
            let width = network.count * 8
            let prefixBits = parts.count == 2 ? Int(parts[1]) : width
            guard let prefixBits, (0...width).contains(prefixBits) else {
                throw CoordinatorError("trustedProxies: '\(entry)' has a prefix length outside 0 to \(width)")
            }
            ranges.append(Range(network: network, prefixBits: prefixBits))
        }
    }

    public var isEmpty: Bool { ranges.isEmpty }

    func contains(_ address: String) -> Bool {
        guard let bytes = Self.bytes(address) else { return false }
        return ranges.contains { $0.contains(bytes) }
    }

    /// Who a request is from: the connection's peer; or, when the peer is a trusted proxy, the
    /// address it was forwarded for. Each proxy appends the address it heard from, so the list is
    /// read from the right, past every trusted proxy, to the first address that is not one. An
    /// entry that is not an address ends the walk at the proxy that wrote it.
    func client(peer: String?, forwardedFor headers: [String]) -> String? {
        guard var client = peer, !ranges.isEmpty else { return peer }
        let hops = headers.flatMap { $0.split(separator: ",") }.map { Self.address(inEntry: String($0)) }
        for hop in hops.reversed() {
            guard contains(client), let hop, Self.bytes(hop) != nil else { break }
            client = hop
        }
        return client
    }

    /// The address of an `X-Forwarded-For` entry: trimmed, without brackets or a port.
    static func address(inEntry entry: String) -> String? {
        var text = entry.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            text = String(text[text.index(after: text.startIndex)..<close])
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            text = String(text[..<colon]) // IPv4 with a port
        }
        return text.isEmpty ? nil : text
    }

    /// The address's bytes: 4 for IPv4 (also when written as IPv4-mapped IPv6), 16 for IPv6.
    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        let mappedPrefix: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF]
        return Array(bytes.prefix(12)) == mappedPrefix ? Array(bytes.suffix(4)) : bytes
    }
}
