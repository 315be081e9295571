import Foundation
@testable import IncidentProcess
import ITSMPluginKit
import ITSMProtocol
import ProblemProtocol
import Testing

@Suite struct KnownErrorMatchingTests {
    static let vpn = KnownError(
        number: "KE-000001", problem: "PRB-000001", title: "VPN disconnects after password change",
        symptoms: "Users are disconnected from the VPN every few minutes after changing their password",
        rootCause: "Cached credentials", workaround: "Clear saved credentials in the VPN client", services: ["remote-access"],
        configurationItems: ["VPN-GW-1"], category: "network", publishedBy: "pat", publishedAt: Date())

    @Test func publishedKnownErrorsAttachToMatchingOpenIncidentsOnly() async throws {
        let database = try await makeIncidentDatabase("kematch")
        let store = IncidentStore(database: database)
        func create(_ title: String, ci: String? = nil, service: String? = nil, category: String? = nil) async throws -> Incident {
            var params = CreateIncident(title: title)
            params.configurationItem = ci
            params.service = service
            params.category = category
            return try await store.create(params, actor: "agent", idempotencyKey: nil)
        }
        let onGateway = try await create("Cannot reach file shares from home", ci: "VPN-GW-1")
        let sameService = try await create("Tunnel drops", service: "remote-access", category: "network")
        let similar = try await create("VPN disconnects after password change")
        let unrelated = try await create("Printer on floor 3 jams")
        let resolved = try await create("VPN disconnecting after password change", ci: "VPN-GW-1")
        _ = try await store.transition(TransitionIncident(number: resolved.number, to: .resolved, resolutionCode: "workaround",
                                                          resolutionNotes: "reconnected"), actor: "agent")

        try await database.withTransaction { tx in try await store.learn(Self.vpn, in: tx) }
        for incident in [onGateway, sameService, similar] {
            #expect(try await store.get(GetIncident(number: incident.number)).incident.knownError == "KE-000001", "\(incident.title)")
        }
        #expect(try await store.get(GetIncident(number: unrelated.number)).incident.knownError == nil)
        #expect(try await store.get(GetIncident(number: resolved.number)).incident.knownError == nil)

        // A new incident that matches gets the workaround suggested at once.
        let later = try await create("vpn keeps disconnecting after I changed my password")
        #expect(later.knownError == "KE-000001")
        let detail = try await store.get(GetIncident(number: later.number))
        #expect(detail.workaround?.workaround == "Clear saved credentials in the VPN client")
        #expect(try await create("Monitor flickers").knownError == nil)
    }

    @Test func problemLinksFromEventsShowOnTheIncident() async throws {
        let database = try await makeIncidentDatabase("kelink")
        let store = IncidentStore(database: database)
        let incident = try await store.create(CreateIncident(title: "Slow logins"), actor: "agent", idempotencyKey: nil)
        let event = ProblemIncidentLink(problem: "PRB-000007", incident: incident.number)
        try await database.withTransaction { tx in try await store.recordProblemLink(event, linked: true, in: tx) }
        #expect(try await store.get(GetIncident(number: incident.number)).incident.problem == "PRB-000007")
        try await database.withTransaction { tx in try await store.recordProblemLink(event, linked: false, in: tx) }
        #expect(try await store.get(GetIncident(number: incident.number)).incident.problem == nil)
        // An incident this database never had is not an error (the event would retry forever).
        try await database.withTransaction { tx in
            try await store.recordProblemLink(ProblemIncidentLink(problem: "PRB-000007", incident: "INC-999999"), linked: true, in: tx)
        }
    }
}
