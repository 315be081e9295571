@testable import ITSMCoordinator
import Crypto
import Testing

@Suite struct SHA256Tests {
    // FIPS 180-4 examples, plus the empty message and a multi-block input.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        (String(repeating: "a", count: 1000),
         "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"),
    ])
    func matchesKnownDigests(message: String, digest: String) {
        #expect(SHA256.hex(Array(message.utf8)) == digest)
    }

    @Test func tokensAreRandomAndHashedNotStored() {
        let first = TokenStore.generateToken()
        let second = TokenStore.generateToken()
        #expect(first != second)
        #expect(first.hasPrefix("itsm_") && first.count == 48)
        #expect(TokenStore.hash(first).count == 64)
        #expect(!TokenStore.hash(first).contains(first))
    }
}

@Suite struct TokenGrantTests {
    let admin = Principal(name: "admin", permissions: ["*"])
    let lead = Principal(name: "lead", permissions: ["incident.*", "tokens.write"])

    @Test func aTokenGrantsOnlyWhatItHolds() throws {
        try TokenStore.validate(name: "alice", permissions: ["incident.read", "incident.write"], grantor: lead)
        try TokenStore.validate(name: "desk-bot", permissions: ["incident.*"], grantor: lead)
        try TokenStore.validate(name: "root.two", permissions: ["*"], grantor: admin)
        #expect(throws: TokenError.cannotGrant("*")) { try TokenStore.validate(name: "x", permissions: ["*"], grantor: lead) }
        #expect(throws: TokenError.cannotGrant("problem.read")) {
            try TokenStore.validate(name: "x", permissions: ["problem.read"], grantor: lead)
        }
        #expect(throws: TokenError.cannotGrant("tokens.*")) { try TokenStore.validate(name: "x", permissions: ["tokens.*"], grantor: lead) }
    }

    @Test(arguments: [("", ["incident.read"]), ("Alice", ["incident.read"]), ("a b", ["incident.read"]),
                      ("ok", []), ("ok", ["incident"]), ("ok", ["*.*"]), ("ok", ["Incident.read"]), ("ok", ["incident."])])
    func rejectsBadNamesAndPermissions(name: String, permissions: [String]) {
        #expect(throws: TokenError.self) { try TokenStore.validate(name: name, permissions: permissions, grantor: admin) }
    }
}
