import Foundation
import ITSMCoordinator
import ITSMProtocol
import ITSMSystem
import ITSMTransport
import Logging
import Synchronization
import Testing

@Suite struct MethodRouterTests {
    func supervisor(_ name: String) -> PluginSupervisor {
        PluginSupervisor(spec: PluginSpec(name: name, command: ["/bin/true"]), settings: .init(databaseURL: ""),
                         logger: Logger(label: "test"), hooks: PluginHooks(onPluginRequest: { _, _ in .null }, onReady: { _, _ in }))
    }

    func manifest(_ name: String, _ methods: [String]) -> InitializeResult {
        InitializeResult(plugin: PeerInfo(name: name, version: "1"),
                         methods: methods.map { MethodDescriptor(name: $0, permission: "\(name).read", idempotent: true) })
    }

    @Test func aPluginCannotTakeAnotherProcesssMethods() {
        let router = MethodRouter(instances: [supervisor("incident"), supervisor("change")], disabled: ["problem"])
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
        let router = MethodRouter(instances: [supervisor("change")])
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

    @Test func requestsGoToTheLeastLoadedInstance() async throws {
        let first = try await SocketInstance(plugin: "incident", delay: .milliseconds(300))
        let second = try await SocketInstance(plugin: "incident", delay: .milliseconds(300))
        let router = MethodRouter(instances: [first, second])
        router.register(plugin: "incident", manifest: manifest("incident", ["incident.get"]))
        // Ten requests at once: each goes to whichever instance has fewer waiting, so they split evenly.
        try await withThrowingDiscardingTaskGroup { group in
            for _ in 0..<10 { group.addTask { _ = try await router.call("incident.get", params: nil, meta: nil) } }
        }
        #expect(first.handled == 5)
        #expect(second.handled == 5)
        first.close()
        second.close()
    }

    @Test func aLostInstancesSafeRequestsGoToAnother() async throws {
        let doomed = try await SocketInstance(plugin: "incident", delay: .seconds(30))
        let healthy = try await SocketInstance(plugin: "incident", delay: .zero)
        let router = MethodRouter(instances: [doomed])
        router.register(plugin: "incident", manifest: InitializeResult(plugin: PeerInfo(name: "incident", version: "1"), methods: [
            MethodDescriptor(name: "incident.get", permission: "incident.read", idempotent: true),
            MethodDescriptor(name: "incident.create", permission: "incident.write", idempotent: false),
        ]))
        // All three reach `doomed`, which never answers; then a second instance comes up and `doomed`'s link is cut.
        async let safe = router.call("incident.get", params: nil, meta: nil)
        async let keyed = router.call("incident.create", params: nil, meta: RequestMeta(idempotencyKey: "k-1"))
        async let unsafe = router.call("incident.create", params: nil, meta: nil)
        while doomed.handled < 3 { try await Task.sleep(for: .milliseconds(10)) }
        router.add(healthy)
        doomed.close()
        #expect(try await safe == ["instance": .string(healthy.name)])
        #expect(try await keyed == ["instance": .string(healthy.name)])
        do {
            _ = try await unsafe
            Issue.record("a create without an idempotency key was sent twice")
        } catch let error as ResponseError {
            #expect(error.kind == ResponseError.disconnectedKind && error.isRetryable)
        }
        #expect(healthy.handled == 2)
        healthy.close()
    }

    @Test func aRequestThatTwoInstancesDiedWithIsNotSentToAThird() async throws {
        let instances = [try await SocketInstance(plugin: "incident", delay: .seconds(30)),
                         try await SocketInstance(plugin: "incident", delay: .seconds(30)),
                         try await SocketInstance(plugin: "incident", delay: .seconds(30))]
        let router = MethodRouter(instances: instances)
        router.register(plugin: "incident", manifest: manifest("incident", ["incident.get"]))
        // A poison request: each instance that takes it goes down with it.
        async let poison = router.call("incident.get", params: nil, meta: nil)
        var downed: Set<Int> = []
        for _ in 0..<2 {
            var taker: Int?
            while taker == nil {
                taker = instances.indices.first { instances[$0].handled > 0 && !downed.contains($0) }
                if taker == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            downed.insert(taker!)
            instances[taker!].close()
        }
        do {
            _ = try await poison
            Issue.record("the request was answered")
        } catch let error as ResponseError {
            #expect(error.kind == ResponseError.disconnectedKind)
        }
        #expect(instances.map(\.handled).sorted() == [0, 1, 1])
        instances.forEach { $0.close() }
    }
}

/// A plugin instance at the other end of a real TCP connection, answering each request with its
/// name after `delay`.
final class SocketInstance: PluginInstance {
    let pluginName: String
    let name = UUID().uuidString
    let handledCount = HandledCount()
    var handled: Int { handledCount.value.load(ordering: .relaxed) }
    private let coordinatorSide: JSONRPCConnection
    private let pluginSide: JSONRPCConnection

    init(plugin: String, delay: Duration) async throws {
        pluginName = plugin
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        let dialed = try TCPSocket.connect(host: "127.0.0.1", port: listener.port, timeout: .seconds(2))
        var connections = listener.connections.makeAsyncIterator()
        let accepted = try #require(await connections.next())
        listener.stop()
        let logger = Logger(label: "itsm.test.router")
        coordinatorSide = JSONRPCConnection(socket: dialed, configuration: .init(peerName: "plugin"), logger: logger)
        pluginSide = JSONRPCConnection(socket: accepted.descriptor, configuration: .init(peerName: "coordinator"), logger: logger)
        let coordinatorSide = self.coordinatorSide
        let pluginSide = self.pluginSide
        let (handledCount, name) = (self.handledCount, self.name)
        Task { await coordinatorSide.run(onRequest: { _ in .null }, onNotification: { _ in }) }
        Task {
            await pluginSide.run(onRequest: { _ in
                handledCount.value.add(1, ordering: .relaxed)
                try await Task.sleep(for: delay)
                return ["instance": .string(name)]
            }, onNotification: { _ in })
        }
    }

    var readyConnection: JSONRPCConnection? { coordinatorSide }
    var snapshot: PluginStatus {
        get async {
            let status: JSONValue = ["name": .string(pluginName), "state": "running", "restarts": 0, "methods": [], "subscribes": []]
            return try! status.decode(PluginStatus.self)
        }
    }
    func stop() async { close() }

    /// Cuts the link: the plugin side goes away without answering.
    func close() {
        pluginSide.close()
        coordinatorSide.close()
    }
}

final class HandledCount: Sendable {
    let value = Atomic<Int>(0)
}
