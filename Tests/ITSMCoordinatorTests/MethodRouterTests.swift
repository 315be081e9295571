import ITSMCoordinator
import ITSMProtocol
import Logging
import Testing

@Suite struct MethodRouterTests {
    func supervisor(_ name: String) -> PluginSupervisor {
        PluginSupervisor(spec: PluginSpec(name: name, command: ["/bin/true"]), settings: .init(databaseURL: ""),
                         logger: Logger(label: "test"), onPluginRequest: { _, _ in .null }, onReady: { _, _ in })
    }

    func manifest(_ name: String, _ methods: [String]) -> InitializeResult {
        InitializeResult(plugin: PeerInfo(name: name, version: "1"),
                         methods: methods.map { MethodDescriptor(name: $0, permission: "\(name).read", idempotent: true) })
    }

    @Test func aPluginCannotTakeAnotherProcesssMethods() {
        let router = MethodRouter(supervisors: [supervisor("incident"), supervisor("change")], disabled: ["problem"])
        #expect(router.register(plugin: "incident", manifest: manifest("incident", ["incident.get"])).isEmpty)
        let refused = router.register(plugin: "change", manifest: manifest("change", [
            "change.create", "incident.get", "incident.delete", "problem.list", "capacity.report", "cab.approve",
        ]))
        #expect(refused == ["incident.get", "incident.delete", "problem.list", "capacity.report"])
        #expect(router.route(for: "incident.get")?.plugin == "incident")
        #expect(router.route(for: "incident.delete") == nil)
        #expect(router.route(for: "change.create")?.plugin == "change")
        #expect(router.route(for: "cab.approve")?.plugin == "change") // a namespace nobody owns
    }

    @Test func removingAPluginTurnsItsMethodsIntoAClearError() async {
        let router = MethodRouter(supervisors: [supervisor("change")])
        router.register(plugin: "change", manifest: manifest("change", ["change.create", "cab.approve"]))
        router.remove(plugin: "change")
        #expect(router.disabledProcesses == ["change"])
        do {
            _ = try await router.call("cab.approve", params: nil, meta: nil)
            Issue.record("a removed plugin's method was routed")
        } catch {
            #expect(error.kind == "plugin.disabled" && error.message.contains("itsm plugins enable change"))
        }
    }
}
