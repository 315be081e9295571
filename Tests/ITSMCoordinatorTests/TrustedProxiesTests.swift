@testable import ITSMCoordinator
import Testing

/// Which address a request is from, behind proxies and around them.
@Suite struct TrustedProxiesTests {
    let proxies = try! TrustedProxies(["127.0.0.1", "10.0.0.0/8", "fd00::/8"])

    @Test func aTrustedProxysHeaderNamesTheClientItHeardFrom() {
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: ["203.0.113.7"]) == "203.0.113.7")
        // Through two proxies of ours: the address before them.
        #expect(proxies.client(peer: "10.1.2.3", forwardedFor: ["203.0.113.7, 10.9.9.9"]) == "203.0.113.7")
        #expect(proxies.client(peer: "10.1.2.3", forwardedFor: ["203.0.113.7", "10.9.9.9"]) == "203.0.113.7")
        // Ports, brackets and IPv4 written as IPv6 are read as the address.
        #expect(proxies.client(peer: "::ffff:127.0.0.1", forwardedFor: ["[2001:db8::5]:4711"]) == "2001:db8::5")
        #expect(proxies.client(peer: "fd12::1", forwardedFor: [" 198.51.100.2:443 "]) == "198.51.100.2")
    }

    @Test func whatAClientWritesItselfIsNotBelieved() {
        // Not from a proxy: the header is anyone's to write.
        #expect(proxies.client(peer: "198.51.100.9", forwardedFor: ["127.0.0.1"]) == "198.51.100.9")
        // A client that wrote its own entry before our proxy appended the real one: the real one.
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: ["1.2.3.4, 203.0.113.7"]) == "203.0.113.7")
        // An entry that is no address stops the walk at the proxy that passed it on.
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: ["unknown"]) == "127.0.0.1")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: []) == "127.0.0.1")
        // With no proxy configured, the peer, whatever the header says.
        #expect(TrustedProxies().client(peer: "127.0.0.1", forwardedFor: ["203.0.113.7"]) == "127.0.0.1")
    }

    @Test func rangesAreMatchedByTheirPrefixAndBadEntriesRefusedByName() throws {
        let ranges = try TrustedProxies(["192.168.4.0/22", "2001:db8::/32", "0.0.0.0/0"])
        #expect(ranges.contains("192.168.7.255") && ranges.contains("2001:db8:ffff::1") && ranges.contains("8.8.8.8"))
        #expect(!ranges.contains("2001:db9::1") && !ranges.contains("not an address"))
        let narrow = try TrustedProxies(["192.168.4.0/22"])
        #expect(narrow.contains("192.168.4.1") && !narrow.contains("192.168.8.1"))
        for bad in ["10.0.0.0/33", "proxy.example.com", "10.0.0.1/", "::1/129"] {
            #expect(throws: CoordinatorError.self) { try TrustedProxies([bad]) }
        }
        #expect(throws: CoordinatorError.self) { try Configuration.parse(yaml: "trustedProxies: 127.0.0.1") }
        #expect(try Configuration.parse(yaml: "trustedProxies: [127.0.0.1, 10.0.0.0/8]").trustedProxies.contains("10.2.3.4"))
    }
}
