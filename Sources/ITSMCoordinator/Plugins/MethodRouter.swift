import Foundation
import ITSMProtocol
import Metrics
import ITSMTransport
import Synchronization

/// Routes a method to the plugin that declared it, and within that plugin to the instance
/// with the fewest requests waiting for an answer.
///
/// The table is filled from manifests as plugins complete their handshake, and keeps a
/// plugin's methods while it restarts, so callers get a retryable "unavailable" rather than
/// "method not found". A method nobody declared, but named after a configured process
/// (`problem.get` while `problem` is still starting), is also "unavailable". A method of a
/// process that is not enabled says so and how to enable it. Reload adds and removes plugins
/// while requests to the others go on; remote instances come and go as they connect.
///
/// Instances of a plugin may run different versions (a rolling upgrade). Only the plugin's
/// active version gets requests and events; the others stand by until an operator switches
/// (`itsm plugins upgrade`). The methods of the active version are the union of what its
/// live instances declare, and each request goes to an instance that declared its method, so
/// no instance's manifest replaces another's.
///
/// When an instance's connection ends before it answered, the request is sent to another
/// instance if that is safe: the method is declared idempotent, or the caller gave an
/// idempotency key. Otherwise the caller gets the retryable `peer.disconnected` error.
public final class MethodRouter: Sendable {
    public struct Route: Sendable {
        public var plugin: String
        public var descriptor: MethodDescriptor
    }

    private struct State {
        /// Every enabled plugin has an entry, possibly empty (a remote plugin nobody runs yet).
        var instances: [String: [any PluginInstance]] = [:]
        /// What each instance declared in its last handshake.
        var manifests: [ObjectIdentifier: InitializeResult] = [:]
        /// The version of each plugin that gets requests and events.
        var activeVersions: [String: String] = [:]
        /// The methods of each plugin's active version; kept while its instances restart.
        var routes: [String: Route] = [:]
        /// The permissions each plugin's active version names, told to it as what a principal holds.
        var permissionNames: [String: [String]] = [:]
        /// Processes known but not running, with the methods they declared when they last ran.
        var disabled: [String: Set<String>] = [:]
        /// Requests sent through this router and not yet answered, per instance.
        var outstanding: [ObjectIdentifier: Int] = [:]
        var grants: [String: [String]] = [:]
        /// Plugins the coordinator is ready without (`required: false`).
        var optional: Set<String> = []
        /// Remote instances whose link ended, by plugin and instance name, as they were last seen.
        var departed: [String: [String: PluginStatus]] = [:]

        /// The processes other than `plugin` whose namespaces it cannot declare methods in.
        func otherProcesses(than plugin: String) -> Set<String> {
            Set(instances.keys).union(disabled.keys).union(PluginSpec.builtInNames).subtracting([plugin])
        }

        /// The methods of `manifest` that `plugin` may not have: in another process's namespace
        /// (a plugin named `change` cannot take over `incident.get`, whatever permission it
        /// declares), or routed to another plugin already.
        func refused(_ manifest: InitializeResult, of plugin: String) -> [String] {
            let others = otherProcesses(than: plugin)
            let methods = manifest.methods.map(\.name).filter { name in
                others.contains(String(name.prefix { $0 != "." })) || routes[name].map { $0.plugin != plugin } ?? false
            }
            let paths = manifest.methods.flatMap { method in
                refusedRoutes(of: method, plugin: plugin).map { "\($0.verb) /api/v1/\($0.path) (\(method.name))" }
            }
            return methods + paths
        }

        /// The REST routes of `method` that `plugin` may not serve: on a path named after another
        /// process (`incidents/…` or `incident/…` for any plugin but incident), or one another
        /// plugin serves already.
        func refusedRoutes(of method: MethodDescriptor, plugin: String) -> [HTTPRoute] {
            let others = otherProcesses(than: plugin)
            let taken = Set(routes.values.filter { $0.plugin != plugin }.flatMap { $0.descriptor.routes ?? [] }.map(\.key))
            return (method.routes ?? []).filter { route in
                guard case .fixed(let first)? = route.segments.first else { return true }
                return others.contains(first) || (first.hasSuffix("s") && others.contains(String(first.dropLast()))) || taken.contains(route.key)
            }
        }

        /// The manifest of `instance` when it runs its plugin's active version, nil otherwise.
        func activeManifest(of instance: any PluginInstance) -> InitializeResult? {
            guard let manifest = manifests[ObjectIdentifier(instance)],
                  manifest.plugin.version == activeVersions[instance.pluginName] else { return nil }
            return manifest
        }

        /// Manifests of `plugin`'s instances running `version`.
        func manifests(of plugin: String, version: String) -> [InitializeResult] {
            (instances[plugin] ?? []).compactMap { manifests[ObjectIdentifier($0)] }.filter { $0.plugin.version == version }
        }

        /// Routes `plugin`'s methods to the union of what its active version's instances
        /// declare. With none of them known, the last routes stay: callers get "unavailable".
        mutating func rebuildRoutes(of plugin: String) {
            guard let version = activeVersions[plugin] else { return }
            let declared = manifests(of: plugin, version: version)
            guard !declared.isEmpty else { return }
            routes = routes.filter { $0.value.plugin != plugin }
            permissionNames[plugin] = Array(Set(declared.flatMap(\.permissionNames))).sorted()
            var routeKeys = Set<String>()
            for manifest in declared {
                let refused = Set(refused(manifest, of: plugin))
                for var method in manifest.methods where !refused.contains(method.name) && routes[method.name] == nil {
                    if let declaredRoutes = method.routes {
                        let refusedRoutes = Set(refusedRoutes(of: method, plugin: plugin))
                        method.routes = declaredRoutes.filter { !refusedRoutes.contains($0) && routeKeys.insert($0.key).inserted }
                    }
                    routes[method.name] = Route(plugin: plugin, descriptor: method)
                }
            }
        }
    }

    private let state = Mutex(State())
    /// Who the requests in flight to plugins are for.
    let contexts = CallContexts()

    public init(instances: [any PluginInstance] = [], disabled: [String] = []) {
        for instance in instances { add(instance) }
        markDisabled(disabled)
    }

    public var allInstances: [any PluginInstance] { state.withLock { $0.instances.values.flatMap { $0 } } }

    public func instances(of plugin: String) -> [any PluginInstance] { state.withLock { $0.instances[plugin] ?? [] } }

    /// Enabled plugins, with or without instances.
    public var enabledPlugins: [String] { state.withLock { $0.instances.keys.sorted() } }

    public func isEnabled(_ plugin: String) -> Bool { state.withLock { $0.instances[plugin] != nil } }

    /// The processes known but not enabled, for listings.
    public var disabledProcesses: [String] { state.withLock { $0.disabled.keys.sorted() } }

    /// Marks a plugin enabled, before any instance of it is up; `grants` are the permissions
    /// it acts with on its own.
    public func enable(plugin: String, grants: [String] = [], required: Bool = true) {
        state.withLock {
            $0.instances[plugin, default: []] = $0.instances[plugin] ?? []
            $0.disabled[plugin] = nil
            $0.grants[plugin] = grants
            if required { $0.optional.remove(plugin) } else { $0.optional.insert(plugin) }
        }
    }

    /// Whether the coordinator is ready only when `plugin` is (`required`, the default).
    public func isRequired(_ plugin: String) -> Bool { state.withLock { !$0.optional.contains(plugin) } }

    /// The permissions `plugin` acts with on its own (itsm.yaml `grants`).
    public func grants(of plugin: String) -> [String] { state.withLock { $0.grants[plugin] ?? [] } }

    /// Starts routing to an instance (its methods follow from its manifest).
    public func add(_ instance: any PluginInstance) {
        state.withLock {
            $0.instances[instance.pluginName, default: []].append(instance)
            $0.disabled[instance.pluginName] = nil
        }
    }

    /// Stops routing to one instance; the plugin stays enabled.
    public func removeInstance(_ instance: any PluginInstance) {
        state.withLock {
            $0.instances[instance.pluginName]?.removeAll { $0 === instance }
            $0.outstanding[ObjectIdentifier(instance)] = nil
            $0.manifests[ObjectIdentifier(instance)] = nil
            $0.rebuildRoutes(of: instance.pluginName)
        }
    }

    /// Keeps a remote instance's last status after its link ended, so the operator sees it
    /// went, when, and why, until it connects again.
    public func recordDeparture(_ status: PluginStatus) {
        guard let name = status.instance else { return }
        state.withLock { state in
            guard state.instances[status.name] != nil else { return }
            state.departed[status.name, default: [:]][name] = status
        }
    }

    /// Takes the last status of a remote instance that connects again, for its count of reconnections.
    public func takeDeparture(of plugin: String, instance: String) -> PluginStatus? {
        state.withLock { $0.departed[plugin]?.removeValue(forKey: instance) }
    }

    /// Remote instances of `plugin` whose link ended and that have not connected again.
    public func departures(of plugin: String) -> [PluginStatus] {
        state.withLock { Array(($0.departed[plugin] ?? [:]).values) }
    }

    /// Stops routing to a plugin; its methods now answer that the process is disabled.
    /// Returns its instances, for the caller to stop.
    @discardableResult
    public func remove(plugin: String) -> [any PluginInstance] {
        state.withLock { state in
            let methods = state.routes.values.filter { $0.plugin == plugin }.map(\.descriptor.name)
            state.routes = state.routes.filter { $0.value.plugin != plugin }
            state.disabled[plugin, default: []].formUnion(methods)
            let removed = state.instances.removeValue(forKey: plugin) ?? []
            state.departed[plugin] = nil
            for instance in removed { state.manifests[ObjectIdentifier(instance)] = nil }
            state.activeVersions[plugin] = nil
            return removed
        }
    }

    public func markDisabled(_ processes: [String]) {
        state.withLock { state in
            for process in processes where state.instances[process] == nil { state.disabled[process, default: []] = [] }
        }
    }

    /// Records what an instance declared in its handshake. Returns the methods refused: in
    /// another process's namespace, or declared by another plugin first. The instance gets
    /// requests once its version is the active one (`activate`).
    @discardableResult
    public func register(_ instance: any PluginInstance, manifest: InitializeResult) -> [String] {
        state.withLock { state in
            let plugin = instance.pluginName
            guard state.instances[plugin]?.contains(where: { $0 === instance }) == true else { return [] } // gone meanwhile
            state.manifests[ObjectIdentifier(instance)] = manifest
            state.rebuildRoutes(of: plugin)
            return state.refused(manifest, of: plugin)
        }
    }

    /// Makes `version` the one of `plugin` that gets requests and events.
    public func activate(plugin: String, version: String) {
        state.withLock { state in
            guard state.instances[plugin] != nil, state.activeVersions[plugin] != version else { return }
            state.activeVersions[plugin] = version
            state.rebuildRoutes(of: plugin)
        }
    }

    public func activeVersion(of plugin: String) -> String? { state.withLock { $0.activeVersions[plugin] } }

    /// The versions of `plugin` its ready instances run, each with the union of the events
    /// they subscribe to.
    public func liveVersions(of plugin: String) -> [String: [String]] {
        state.withLock { state in
            var versions: [String: Set<String>] = [:]
            for instance in state.instances[plugin] ?? [] where instance.readyConnection != nil {
                guard let manifest = state.manifests[ObjectIdentifier(instance)] else { continue }
                versions[manifest.plugin.version, default: []].formUnion(manifest.subscribes)
            }
            return versions.mapValues { $0.sorted() }
        }
    }

    public func route(for method: String) -> Route? { state.withLock { $0.routes[method] } }

    /// The permissions the running plugins declare in their manifests, with their default roles.
    public var declaredPermissions: [PermissionDescriptor] {
        state.withLock { state in
            var seen = Set<String>()
            return state.manifests.values.flatMap { $0.permissions ?? [] }.filter { seen.insert($0.name).inserted }.sorted { $0.name < $1.name }
        }
    }

    /// Whether `instance`'s manifest declares that it calls `method`.
    public func declares(_ instance: any PluginInstance, calls method: String) -> Bool {
        state.withLock { $0.manifests[ObjectIdentifier(instance)]?.calls ?? [] }.contains { MethodPattern.matches($0, method) }
    }

    /// Every method known, for the API's listing.
    public var routes: [Route] { state.withLock { Array($0.routes.values) }.sorted { $0.descriptor.name < $1.descriptor.name } }

    /// An event type as the running plugins declare it (`GET /api/v1/events`).
    public struct EventDescription: Sendable, Hashable, Codable {
        public var type: String
        public var publishers: [String]
        public var subscribers: [String]
        /// The `data` schema, as its publisher declares it.
        public var schema: JSONSchema?
    }

    /// Every event type the active versions of the enabled plugins publish or subscribe to.
    public var eventCatalog: [EventDescription] {
        state.withLock { state in
            var events: [String: EventDescription] = [:]
            for instance in state.instances.values.flatMap({ $0 }) {
                guard let manifest = state.activeManifest(of: instance) else { continue }
                let plugin = manifest.plugin.name
                for type in manifest.publishes {
                    var event = events[type] ?? EventDescription(type: type, publishers: [], subscribers: [], schema: nil)
                    if !event.publishers.contains(plugin) { event.publishers.append(plugin) }
                    event.schema = event.schema ?? manifest.eventSchemas?[type]
                    events[type] = event
                }
                for type in manifest.subscribes {
                    var event = events[type] ?? EventDescription(type: type, publishers: [], subscribers: [], schema: nil)
                    if !event.subscribers.contains(plugin) { event.subscribers.append(plugin) }
                    events[type] = event
                }
            }
            return events.values.map { event in
                var sorted = event
                sorted.publishers.sort()
                sorted.subscribers.sort()
                return sorted
            }.sorted { $0.type < $1.type }
        }
    }

    /// The payload schema `plugin` declares for the events of `type` it publishes.
    public func eventSchema(_ type: String, publishedBy plugin: String) -> JSONSchema? {
        state.withLock { state in
            for instance in state.instances[plugin] ?? [] {
                if let schema = state.activeManifest(of: instance)?.eventSchemas?[type] { return schema }
            }
            return nil
        }
    }

    /// Plugins with at least one instance of the active version ready, e.g. to deliver events to.
    public var readyPlugins: [String] {
        state.withLock { state in
            state.instances.filter { _, instances in
                instances.contains { $0.readyConnection != nil && state.activeManifest(of: $0) != nil }
            }.keys.sorted()
        }
    }

    /// Calls `method` on its plugin. Protocol-reserved names are never routed. `principal` is
    /// who the request is for (with `origin`, e.g. `token:alice`): the plugin gets a handle for
    /// it, and calls it makes while handling the request run for them.
    public func call(_ method: String, params: JSONValue?, meta: RequestMeta?, principal: (Principal, origin: String)? = nil,
                     timeout: Duration? = nil) async throws(ResponseError) -> JSONValue {
        try await callRaw(method, params: params, meta: meta, principal: principal, timeout: timeout).tree
    }

    /// As `call`, the result kept as the bytes the process sent (checked, not built into a
    /// tree): for a caller that passes it on, such as the HTTP API.
    public func callRaw(_ method: String, params: JSONValue?, meta: RequestMeta?, principal: (Principal, origin: String)? = nil,
                        timeout: Duration? = nil) async throws(ResponseError) -> RawJSON {
        switch target(of: method) {
        case .route(let route):
            try Self.checkInput(params: params, meta: meta)
            // What the method declared it takes: an unknown member, a wrong type or a missing one
            // is refused here with its path, whatever language the plugin is written in.
            if let schema = route.descriptor.params, let problem = schema.problem(with: params ?? .object([:])) {
                throw .invalidParams(problem)
            }
            var meta = Self.scopingIdempotencyKey(meta)
            var handle: String?
            if let (principal, origin) = principal {
                handle = contexts.open(plugin: route.plugin, principal: principal, origin: origin)
                meta = meta ?? RequestMeta()
                meta?.context = handle
            }
            // Only the coordinator says who a request is for.
            meta?.principal = principal.map { principal, _ in
                let names = state.withLock { $0.permissionNames[route.plugin] ?? [] }
                return RequestPrincipal(kind: principal.kind.rawValue, name: principal.name, roles: principal.roles,
                                        holds: names.filter(principal.allows))
            }
            defer { if let handle { contexts.close(handle) } }
            let canResend = route.descriptor.idempotent || meta?.idempotencyKey != nil
            let started = ContinuousClock.now
            do throws(ResponseError) {
                let result = try await call(plugin: route.plugin, method, params: params, meta: meta, timeout: timeout, canResend: canResend)
                #if DEBUG
                // Debug builds (every test run) hold each process to the result it declared.
                if let schema = route.descriptor.result, let problem = schema.problem(with: result.tree, at: "result") {
                    Self.record(method, outcome: "result.breaks_schema", since: started)
                    throw .internalError("\(route.plugin) answered \(method) with a result that breaks its declared schema: \(problem)")
                }
                #endif
                Self.record(method, outcome: "ok", since: started)
                return result
            } catch {
                Self.record(method, outcome: error.kind ?? "code \(error.code)", since: started)
                throw error
            }
        case let unrouted:
            throw await refusal(method, unrouted)
        }
    }

    private enum Target {
        case route(Route)
        case starting(String)
        case disabled(String)
        case none
    }

    private func target(of method: String) -> Target {
        let process = method.hasPrefix("$/") ? nil : method.split(separator: ".").first.map(String.init)
        return state.withLock { state in
            if let route = state.routes[method], state.instances[route.plugin] != nil { return .route(route) }
            if let owner = state.disabled.first(where: { $0.value.contains(method) })?.key { return .disabled(owner) }
            guard let process else { return .none }
            if state.instances[process] != nil { return .starting(process) }
            if state.disabled[process] != nil { return .disabled(process) }
            return .none
        }
    }

    /// Why `method` is not routed: nobody declared it, its process is disabled, or it is
    /// starting. For a caller that found no route and must not route it now: a route that
    /// appeared meanwhile means "try again", so its permission and params are checked then.
    public func unroutedError(_ method: String) async -> ResponseError {
        await refusal(method, target(of: method))
    }

    private func refusal(_ method: String, _ target: Target) async -> ResponseError {
        switch target {
        case .route(let route):
            return ResponseError(code: .unavailable, kind: "plugin.unavailable",
                                 message: "the \(route.plugin) process has just declared \(method); try again", retryable: true)
        case .starting(let process):
            if readyPlugins.contains(process) {
                return ResponseError(code: .methodNotFound, kind: "protocol.method_not_found",
                                     message: "the \(process) process has no method '\(method)'")
            }
            return await unavailable(process, detail: "has not declared \(method) yet")
        case .disabled(let process):
            return ResponseError.processDisabled(process, method: method)
        case .none:
            return ResponseError.methodNotFound(method)
        }
    }

    /// Counts a routed call and its duration (swift-metrics; `/metrics` shows them).
    private static func record(_ method: String, outcome: String, since started: ContinuousClock.Instant) {
        Counter(label: "itsm_rpc_requests_total", dimensions: [("method", method), ("outcome", outcome)]).increment()
        Metrics.Timer(label: "itsm_rpc_duration_seconds", dimensions: [("method", method)]).record(duration: ContinuousClock.now - started)
    }

    /// A key names a request of the one who sent it: plugins get `<actor>/<key>`, so the same
    /// key from another principal is another request, and never returns someone else's record.
    static func scopingIdempotencyKey(_ meta: RequestMeta?) -> RequestMeta? {
        guard var meta, let key = meta.idempotencyKey else { return meta }
        meta.idempotencyKey = "\(meta.actor ?? "anonymous")/\(key)"
        return meta
    }

    /// Idempotency keys are at most this long: a key names a request, it does not carry data.
    public static let maximumIdempotencyKeyLength = 200

    /// What every plugin, in any language, can rely on before its own checks: text it can
    /// store, nesting its parser takes, a key of sensible length. Refused here, at once.
    static func checkInput(params: JSONValue?, meta: RequestMeta?) throws(ResponseError) {
        if let problem = params?.inputProblem() { throw .invalidParams(problem) }
        if let key = meta?.idempotencyKey {
            guard (1...maximumIdempotencyKeyLength).contains(key.count), !key.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                throw .invalidParams("Idempotency-Key: 1 to \(maximumIdempotencyKeyLength) printable characters")
            }
        }
    }

    /// Sends a request to the least loaded ready instance of `plugin`. With `canResend`, a
    /// request whose instance went away before answering is sent to the next instance.
    public func call(plugin: String, _ method: String, params: JSONValue?, meta: RequestMeta?, timeout: Duration? = nil,
                     canResend: Bool = false) async throws(ResponseError) -> RawJSON {
        var tried: Set<ObjectIdentifier> = []
        while true {
            guard let (instance, connection) = pickInstance(of: plugin, for: method, excluding: tried) else {
                throw await unavailable(plugin, detail: nil)
            }
            let result: Result<RawJSON, ResponseError>
            do throws(ResponseError) {
                result = .success(try await connection.requestRaw(method, params: params, meta: meta, timeout: timeout))
            } catch {
                result = .failure(error)
            }
            state.withLock { $0.outstanding[ObjectIdentifier(instance), default: 1] -= 1 }
            guard case .failure(let error) = result, error.kind == ResponseError.disconnectedKind, canResend else { return try result.get() }
            tried.insert(ObjectIdentifier(instance))
            // Sent on once: if the next instance goes down with it too, the request may be
            // what kills them, and it is not carried through every instance in turn.
            if tried.count >= 2 { throw error }
            if pickInstance(of: plugin, for: method, excluding: tried, claim: false) == nil { throw error }
        }
    }

    /// The ready instance of the active version that declared `method` (any, for a protocol
    /// method) with the fewest requests in flight through this router, counted in the same
    /// step as it is picked (`claim`) so that concurrent callers spread out.
    private func pickInstance(of plugin: String, for method: String, excluding tried: Set<ObjectIdentifier>,
                              claim: Bool = true) -> (any PluginInstance, JSONRPCConnection)? {
        state.withLock { state in
            let ready = (state.instances[plugin] ?? []).filter { instance in
                guard !tried.contains(ObjectIdentifier(instance)), let manifest = state.activeManifest(of: instance) else { return false }
                return method.hasPrefix("$/") || manifest.methods.contains { $0.name == method }
            }.compactMap { instance in instance.readyConnection.map { (instance, $0) } }
            guard let chosen = ready.min(by: { state.outstanding[ObjectIdentifier($0.0), default: 0] < state.outstanding[ObjectIdentifier($1.0), default: 0] })
            else { return nil }
            if claim { state.outstanding[ObjectIdentifier(chosen.0), default: 0] += 1 }
            return chosen
        }
    }

    /// The retryable error for a plugin with no instance ready, saying why.
    private func unavailable(_ plugin: String, detail: String?) async -> ResponseError {
        var states: [PluginStatus.State] = []
        for instance in instances(of: plugin) { states.append(await instance.snapshot.state) }
        let state = states.first { $0 != .failed } ?? states.first
        let active = activeVersion(of: plugin)
        let standby = liveVersions(of: plugin).keys.filter { $0 != active }.sorted()
        let why: String
        switch state {
        case .running? where !standby.isEmpty:
            why = "its active version is \(active ?? "not chosen yet"), and only version \(standby.joined(separator: ", ")) is connected; "
                + "switch with 'itsm plugins upgrade \(plugin) \(standby[0])'"
        case nil:
            why = "no instance is connected; start 'itsm agent' on a plugin host, or check its log"
        case .failed:
            why = "it crashed repeatedly; it is tried again after a cool-down, or at once with 'itsm plugins restart \(plugin)'"
        case let state?:
            why = "it is \(state.rawValue)\(detail.map { " and \($0)" } ?? ""); try again shortly"
        }
        return ResponseError(code: .unavailable, kind: "plugin.unavailable", message: "the \(plugin) process is not available: \(why)",
                             retryable: state != .failed, details: ["plugin": .string(plugin), "state": .string(state?.rawValue ?? "waiting")])
    }
}

extension ResponseError {
    /// A call to a method of a process this installation does not run.
    static func processDisabled(_ process: String, method: String) -> ResponseError {
        ResponseError(code: .unavailable, kind: "plugin.disabled",
                      message: "\(method) belongs to the \(process) process, which is not enabled here; enable it with 'itsm plugins enable \(process)' and apply with 'itsm plugins reload'",
                      retryable: false, details: ["plugin": .string(process)])
    }

    /// Restarting or upgrading a process this coordinator does not run: there is no such
    /// process here (404), whether it is disabled or was never configured.
    static func processNotEnabled(_ process: String) -> ResponseError {
        .business(kind: "plugin.not_found", message: "no process named \(process.prefix(100)) is enabled here; 'itsm plugins' lists them",
                  details: ["plugin": .string(String(process.prefix(100)))])
    }
}
