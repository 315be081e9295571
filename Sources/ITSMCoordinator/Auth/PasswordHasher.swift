import CSodium
import Dispatch
import Foundation

/// Hashes and checks people's passwords with Argon2id (libsodium's `crypto_pwhash_argon2id_str`),
/// a memory-hard function: 64 MiB and two passes per hash, so a stolen table costs an attacker
/// that much per guess. The hash string carries its own salt and parameters, so stronger
/// parameters later still verify old hashes (and `needsRehash` says when to upgrade one).
///
/// Hashing takes tens of milliseconds and 64 MiB; it runs on one queue of its own, one at a time,
/// so logins never block the cooperative pool and a flood of them cannot exhaust memory.
public struct PasswordHasher: Sendable {
    static let queue = DispatchQueue(label: "itsm.password-hashing")
    static let ready: Bool = sodium_init() >= 0

    let operations: Int
    let memory: Int

    /// `interactive` is libsodium's interactive level; tests may use the minimum to stay fast.
    public init(operations: Int = Int(crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE),
                memory: Int = Int(crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE)) {
        self.operations = operations
        self.memory = memory
    }

    /// Longest password accepted: Argon2 takes any length, but a megabyte of "password" is an attack.
    public static let maximumBytes = 1024
    public static let minimumCharacters = 12

    /// Why `password` may not be used, naming the rule, or nil.
    public static func weakness(of password: String) -> String? {
        if password.count < minimumCharacters { return "at least \(minimumCharacters) characters" }
        if password.utf8.count > maximumBytes { return "at most \(maximumBytes) bytes" }
        return nil
    }

    /// The Argon2id hash string for `password` (`$argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>`).
    public func hash(_ password: String) async throws -> String {
        let (operations, memory) = (self.operations, self.memory)
        return try await Self.run {
            var output = [CChar](repeating: 0, count: Int(crypto_pwhash_argon2id_STRBYTES))
            let status = password.withCString { text in
                crypto_pwhash_argon2id_str(&output, text, UInt64(strlen(text)), UInt64(operations), memory)
            }
            guard status == 0 else { throw CoordinatorError("password hashing failed: out of memory") }
            return String(cString: output)
        }
    }

    /// Whether `password` matches `hash`; false for a hash that is not an Argon2id string.
    public func verify(_ password: String, against hash: String) async -> Bool {
        (try? await Self.run {
            hash.withCString { stored in
                password.withCString { text in
                    crypto_pwhash_argon2id_str_verify(stored, text, UInt64(strlen(text))) == 0
                }
            }
        }) ?? false
    }

    /// Spends the time a verification takes (hashing costs the same), for a name with no
    /// password, so a failed login takes as long whether or not the account exists.
    public func verifyNothing(_ password: String) async {
        _ = try? await hash(password)
    }

    /// Whether `hash` was made with other parameters than this hasher's.
    public func needsRehash(_ hash: String) -> Bool {
        hash.withCString { crypto_pwhash_argon2id_str_needs_rehash($0, UInt64(operations), memory) } != 0
    }

    private static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        guard ready else { throw CoordinatorError("libsodium could not be initialised") }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
