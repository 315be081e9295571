import Crypto
import Foundation
import ITSMSystem

/// SHA-256 as lowercase hex, from swift-crypto: API token hashes at rest, the audit log's hash
/// chain, CSRF tokens and the evidence pack's manifest. Tokens are 256 random bits, so a fast
/// hash is the right tool for them (no salt or stretching is needed against guessing).
extension SHA256 {
    static func hex(_ message: some DataProtocol) -> String { hash(data: message).hex }
}

extension SHA256Digest {
    var hex: String { ByteText.hex(self) }
}
