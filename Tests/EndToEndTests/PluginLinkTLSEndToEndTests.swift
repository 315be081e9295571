import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMTesting
import Testing

/// TLS on the plugin link, with certificates from `itsm tls init`, checked on the wire: every
/// agent dials the coordinator through a relay that records the bytes, as a capture would.
@Suite struct PluginLinkTLSEndToEndTests {
    @Test func theAttachTokenNeverCrossesTheLinkInClearAndOnlyTrustedHostsAttach() async throws {
        let database = try await TestPostgres.makeDatabase(label: "e2etls")
        let certificates = try await TestCertificates.make(coordinators: ["127.0.0.1"], hosts: ["host-a"])
        defer { certificates.remove() }
        let coordinator = try await RunningCoordinator.start(configuration: """
            heartbeatMs: 500
            remotePlugins:
              listen: 127.0.0.1:0
              tls: \(certificates.coordinatorYAML(mutual: true))
            plugins:
              - name: incident
                remote: true
            """, databaseURL: database.conninfo, allowNotReady: true)
        defer { coordinator.remove() }
        let target = try #require(coordinator.remotePluginAddress?.split(separator: ":").last.flatMap { Int($0) })
        let token = try await RemotePluginEndToEndTests.issueToken(coordinator, name: "plugin-hosts", permissions: ["attach.incident"])

        func agent(_ name: String, through relay: RecordingRelay, _ arguments: [String]) throws -> RunningAgent {
            try RunningAgent.start(plugins: ["incident"], coordinator: "127.0.0.1:\(relay.port)", token: token,
                                   databaseURL: database.conninfo, name: name, arguments: arguments, directory: coordinator.directory)
        }

        // A trusted host with its client certificate attaches, and serves requests over TLS.
        let trustedWire = try await RecordingRelay.start(to: "127.0.0.1", port: target)
        let trusted = try agent("host-a", through: trustedWire, certificates.agentArguments(host: "host-a"))
        defer { Task { _ = await trusted.stop() } }
        #expect(try await coordinator.waitUntil(timeout: RunningCoordinator.startTimeout) {
            try await RemotePluginEndToEndTests.runningInstances(coordinator) == 1
        }, "\(trusted.log)")
        let created = try await coordinator.call("incident.create", ["title": "Printer on fire", "impact": "low", "urgency": "low"])
        #expect(created.status == 200)
        let number = try #require(created.body["number"] as? String, "\(created)")
        // What crossed the wire: a TLS handshake (records start 0x16 0x03), then nothing readable.
        #expect(Array(trustedWire.bytes.prefix(2)) == [0x16, 0x03])
        for secret in [token, "$/attach", "initialize", "Printer on fire", number] {
            #expect(!trustedWire.saw(secret), "'\(secret)' crossed the link in clear")
        }

        // The same agent without TLS: the coordinator does not talk to it, and the capture shows
        // what TLS spares (the token, in clear), so the check above can fail.
        let plainWire = try await RecordingRelay.start(to: "127.0.0.1", port: target)
        let plain = try agent("plain", through: plainWire, [])
        #expect(try await coordinator.waitUntil { plainWire.saw(token) && plain.log.contains("speaks TLS on the plugin link") }, "\(plain.log)")
        _ = await plain.stop()

        // A host that trusts the CA but has no client certificate: mutual TLS refuses it.
        let anonymousWire = try await RecordingRelay.start(to: "127.0.0.1", port: target)
        let anonymous = try agent("anonymous", through: anonymousWire, certificates.agentArguments())
        #expect(try await coordinator.waitUntil { anonymous.log.contains("requires a client certificate") }, "\(anonymous.log)")
        _ = await anonymous.stop()
        #expect(!anonymousWire.saw(token))

        // A host given another CA: it will not talk to this coordinator, so its token stays home.
        let other = try await TestCertificates.make(coordinators: ["127.0.0.1"], hosts: ["host-a"])
        defer { other.remove() }
        let strangerWire = try await RecordingRelay.start(to: "127.0.0.1", port: target)
        let stranger = try agent("stranger", through: strangerWire, other.agentArguments(host: "host-a"))
        #expect(try await coordinator.waitUntil { stranger.log.contains("CERTIFICATE_VERIFY_FAILED") }, "\(stranger.log)")
        _ = await stranger.stop()
        #expect(!strangerWire.saw(token))

        // Only the trusted host ever attached.
        #expect(try await RemotePluginEndToEndTests.runningInstances(coordinator) == 1)
        #expect(!coordinator.log.contains(token))
        for relay in [trustedWire, plainWire, anonymousWire, strangerWire] { await relay.stop() }
    }
}
