import Foundation
import ITSMCoordinator
import ITSMProtocol
import ITSMSystem
import ITSMTransport
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@Suite struct MethodRouterTests {
    func supervisor(_ name: String) -> PluginSupervisor {
        PluginSupervisor(spec: PluginSpec(name: name, command: ["/bin/true"]), settings: .init(databaseURL: ""),
                         logger: Logger(label: "test"), hooks: PluginHooks(onPluginRequest: { _, _ in RawJSON(.null) }, onReady: { _, _ in }))
    }

    /// Records `manifest` for each instance and makes its version the active one.
    @discardableResult
    func register(_ router: MethodRouter, _ instances: [any PluginInstance], _ manifest: InitializeResult) -> [String] {
        let refused = instances.flatMap { router.register($0, manifest: manifest) }
        if let plugin = instances.first?.pluginName { router.activate(plugin: plugin, version: manifest.plugin.version) }
        return refused
    }

    func manifest(_ name: String, _ methods: [String]) -> InitializeResult {
        InitializeResult(plugin: PeerInfo(name: name, version: "1"),
                         methods: methods.map { MethodDescriptor(name: $0, permission: "\(name).read", idempotent: true) })
    }

    @Test func aPluginCannotTakeAnotherProcesssMethods() {
        let (incident, change) = (supervisor("incident"), supervisor("change"))
        let router = MethodRouter(instances: [incident, change], disabled: ["problem"])
        #expect(register(router, [incident], manifest("incident", ["incident.get"])).isEmpty)
        let refused = register(router, [change], manifest("change", [
            "change.create", "incident.get", "incident.delete", "problem.list", "capacity.report", "cab.approve",
        ]))
        #expect(refused == ["incident.get", "incident.delete", "problem.list", "capacity.report"])
        #expect(router.route(for: "incident.get")?.plugin == "incident")
        #expect(router.route(for: "incident.delete") == nil)
        #expect(router.route(for: "change.create")?.plugin == "change")
        #expect(router.route(for: "cab.approve")?.plugin == "change") // a namespace nobody owns
    }

    @Test func aPluginCannotTakeAnotherProcesssPathsOrAnotherPluginsRoutes() {
        let (incident, change) = (supervisor("incident"), supervisor("change"))
        let router = MethodRouter(instances: [incident, change], disabled: ["problem"])
        var get = MethodDescriptor(name: "incident.get", permission: "incident.read", idempotent: true)
        get.routes = [HTTPRoute("GET", "incidents/{number}"), HTTPRoute("GET", "knownerrors/{number}")]
        #expect(register(router, [incident], InitializeResult(plugin: PeerInfo(name: "incident", version: "1"), methods: [get])).isEmpty)
        var create = MethodDescriptor(name: "change.create", permission: "change.write", idempotent: false)
        create.routes = [
            HTTPRoute("POST", "changes"), HTTPRoute("GET", "incidents/{id}"), HTTPRoute("POST", "incident"),
            HTTPRoute("GET", "problems"), HTTPRoute("GET", "knownerrors/{key}"),
        ]
        let refused = register(router, [change], InitializeResult(plugin: PeerInfo(name: "change", version: "1"), methods: [create]))
        #expect(refused == [
            "GET /api/v1/incidents/{id} (change.create)", "POST /api/v1/incident (change.create)",
            "GET /api/v1/problems (change.create)", "GET /api/v1/knownerrors/{key} (change.create)",
        ])
        // The method itself is routed, with the routes it may have.
        #expect(router.route(for: "change.create")?.descriptor.routes == [HTTPRoute("POST", "changes")])
        #expect(router.route(for: "incident.get")?.descriptor.routes?.count == 2)
    }

    @Test func removingAPluginTurnsItsMethodsIntoAClearError() async {
        let change = supervisor("change")
        let router = MethodRouter(instances: [change])
        register(router, [change], manifest("change", ["change.create", "cab.approve"]))
        router.remove(plugin: "change")
        #expect(router.disabledProcesses == ["change"])
        do {
            _ = try await router.call("cab.approve", params: nil, meta: nil)
            Issue.record("a removed plugin's method was routed")
        } catch {
            #expect(error.kind == "plugin.disabled" && error.message.contains("itsm plugins enable change"))
        }
    }

    /// The HTTP layer asks why a method it found no route for is unrouted, after checking the
    /// token; a route that appeared meanwhile is "try again", never a call without its params.
    @Test func aMethodThatGotARouteMeanwhileIsRetriedNotCalledWithoutParams() async {
        let incident = supervisor("incident")
        let router = MethodRouter(instances: [incident], disabled: ["problem"])
        #expect(await router.unroutedError("incident.get").kind == "plugin.unavailable") // starting
        register(router, [incident], manifest("incident", ["incident.get"]))
        let meanwhile = await router.unroutedError("incident.get")
        #expect(meanwhile.code == .unavailable && meanwhile.isRetryable && meanwhile.message.contains("try again"))
        #expect(await router.unroutedError("problem.list").kind == "plugin.disabled")
        #expect(await router.unroutedError("payroll.run").code == .methodNotFound)
    }

    @Test func requestsGoToTheLeastLoadedInstance() async throws {
        let first = try await SocketInstance(plugin: "incident", delay: .milliseconds(300))
        let second = try await SocketInstance(plugin: "incident", delay: .milliseconds(300))
        let router = MethodRouter(instances: [first, second])
        register(router, [first, second], manifest("incident", ["incident.get"]))
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
        let both = InitializeResult(plugin: PeerInfo(name: "incident", version: "1"), methods: [
            MethodDescriptor(name: "incident.get", permission: "incident.read", idempotent: true),
            MethodDescriptor(name: "incident.create", permission: "incident.write", idempotent: false),
        ])
        register(router, [doomed], both)
        // All three reach `doomed`, which never answers; then a second instance comes up and `doomed`'s link is cut.
        async let safe = router.call("incident.get", params: nil, meta: nil)
        async let keyed = router.call("incident.create", params: nil, meta: RequestMeta(idempotencyKey: "k-1"))
        async let unsafe = router.call("incident.create", params: nil, meta: nil)
        while doomed.handled < 3 { try await Task.sleep(for: .milliseconds(10)) }
        router.add(healthy)
        router.register(healthy, manifest: both)
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
        register(router, instances, manifest("incident", ["incident.get"]))
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

    @Test func instancesOfOneVersionServeTheUnionOfTheirMethodsAndNoManifestReplacesAnother() async throws {
        let full = try await SocketInstance(plugin: "problem", delay: .zero)
        let partial = try await SocketInstance(plugin: "problem", delay: .zero)
        let router = MethodRouter(instances: [full, partial])
        register(router, [full], manifest("problem", ["problem.list", "problem.get"]))
        // Another instance of the same version declares less, then more: problem.list stays, with its instance.
        register(router, [partial], manifest("problem", ["problem.get", "problem.extra"]))
        #expect(router.routes.map(\.descriptor.name) == ["problem.extra", "problem.get", "problem.list"])
        for _ in 0..<4 { #expect(try await router.call("problem.list", params: nil, meta: nil) == ["instance": .string(full.name)]) }
        #expect(try await router.call("problem.extra", params: nil, meta: nil) == ["instance": .string(partial.name)])
        // The other instance leaves: what it alone declared goes with it.
        router.removeInstance(partial)
        partial.close()
        #expect(router.routes.map(\.descriptor.name) == ["problem.get", "problem.list"])
        #expect(try await router.call("problem.list", params: nil, meta: nil) == ["instance": .string(full.name)])
        full.close()
    }

    @Test func onlyTheActiveVersionGetsRequestsUntilTheSwitch() async throws {
        let old = try await SocketInstance(plugin: "problem", delay: .zero)
        let new = try await SocketInstance(plugin: "problem", delay: .zero)
        let router = MethodRouter(instances: [old, new])
        register(router, [old], manifest("problem", ["problem.list"]))
        var next = manifest("problem", ["problem.list", "problem.trend"])
        next.plugin.version = "2"
        router.register(new, manifest: next)
        #expect(router.liveVersions(of: "problem").keys.sorted() == ["1", "2"])
        for _ in 0..<4 { #expect(try await router.call("problem.list", params: nil, meta: nil) == ["instance": .string(old.name)]) }
        do {
            _ = try await router.call("problem.trend", params: nil, meta: nil)
            Issue.record("a standby version's method was routed")
        } catch {
            #expect(error.code == .methodNotFound)
        }
        router.activate(plugin: "problem", version: "2")
        #expect(router.readyPlugins == ["problem"])
        for _ in 0..<4 { #expect(try await router.call("problem.list", params: nil, meta: nil) == ["instance": .string(new.name)]) }
        #expect(try await router.call("problem.trend", params: nil, meta: nil) == ["instance": .string(new.name)])
        // Only the old version left: unavailable, and the message says how to switch back.
        router.removeInstance(new)
        new.close()
        do {
            _ = try await router.call("problem.list", params: nil, meta: nil)
            Issue.record("the old version got a request after the switch")
        } catch {
            #expect(error.kind == "plugin.unavailable" && error.message.contains("itsm plugins upgrade problem 1"), "\(error)")
        }
        old.close()
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
        let (dialed, accepted) = try await Self.loopbackPair()
        let logger = Logger(label: "itsm.test.router")
        coordinatorSide = JSONRPCConnection(channel: dialed, configuration: .init(peerName: "plugin"), logger: logger)
        pluginSide = JSONRPCConnection(channel: accepted, configuration: .init(peerName: "coordinator"), logger: logger)
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

    /// Two ends of one TCP connection on loopback, framed as the plugin link is.
    static func loopbackPair() async throws -> (dialed: LineChannel, accepted: LineChannel) {
        let configure: @Sendable (any Channel) -> EventLoopFuture<LineChannel> = { channel in
            channel.eventLoop.makeCompletedFuture { try LineChannels.configure(channel, maxLineBytes: 1 << 20, writeTimeout: .seconds(10)) }
        }
        let server = try await ServerBootstrap(group: LineChannels.eventLoopGroup)
            .bind(host: "127.0.0.1", port: 0, childChannelInitializer: configure)
        return try await server.executeThenClose { connections, _ in
            let port = try #require(server.channel.localAddress?.port)
            let dialed = try await ClientBootstrap(group: LineChannels.eventLoopGroup)
                .connect(host: "127.0.0.1", port: port, channelInitializer: configure)
            var iterator = connections.makeAsyncIterator()
            let accepted = try #require(try await iterator.next())
            return (dialed, accepted)
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
