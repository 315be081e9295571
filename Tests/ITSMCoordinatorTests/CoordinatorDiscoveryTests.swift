@testable import ITSMCoordinator
import Testing

/// An agent finds every coordinator behind a name by looking it up (the fault campaign runs two
/// coordinators behind one name on network-namespace hosts).
@Suite struct CoordinatorDiscoveryTests {
    @Test func aNameGivesItsAddressesAndAnUnknownOneIsAnError() async throws {
        #expect(try await PluginAgent.addresses(of: "localhost").contains("127.0.0.1"))
        #expect(try await PluginAgent.addresses(of: "10.9.8.7") == ["10.9.8.7"])
        await #expect(throws: CoordinatorError.self) { try await PluginAgent.addresses(of: "no-such-coordinator.invalid") }
    }
}
