import Foundation
import ITSMProtocol
import Synchronization

/// Routes a method to the plugin that declared it.
///
/// The table is filled from manifests as plugins complete their handshake, and keeps a
/// plugin's methods while it restarts, so callers get a retryable "unavailable" rather than
/// "method not found". A method nobody declared, but named after a configured process
/// (`problem.get` while `problem` is still starting), is also "unavailable". A method of a
/// process that is not enabled says so and how to enable it. Reload adds and removes
/// supervisors while requests to the others go on.
public final class MethodRouter: Sendable {
    public struct Route: Sendable {
        public var plugin: String
        public var descriptor: MethodDescriptor
    }

    private struct State {
        var supervisors: [String: PluginSupervisor] = [:]
        var routes: [String: Route] = [:]
        /// Processes known but not running, with the methods they declared when they last ran.
        var disabled: [String: Set<String>] = [:]
    }

    private let state = Mutex(State())

    public init(supervisors: [PluginSupervisor] = [], disabled: [String] = []) {
        for supervisor in supervisors { add(supervisor) }
        markDisabled(disabled)
    }

    public var allSupervisors: [PluginSupervisor] { state.withLock { Array($0.supervisors.values) } }

    public func supervisor(named name: String) -> PluginSupervisor? { state.withLock { $0.supervisors[name] } }

    /// The processes known but not enabled, for listings.
    public var disabledProcesses: [String] { state.withLock { $0.disabled.keys.sorted() } }

    /// Starts routing to a plugin's supervisor (its methods follow from its manifest).
    public func add(_ supervisor: PluginSupervisor) {
        state.withLock {
            $0.supervisors[supervisor.spec.name] = supervisor
            $0.disabled[supervisor.spec.name] = nil
        }
    }

    /// Stops routing to a plugin; its methods now answer that the process is disabled.
    public func remove(plugin: String) {
        state.withLock { state in
            let methods = state.routes.values.filter { $0.plugin == plugin }.map(\.descriptor.name)
            state.routes = state.routes.filter { $0.value.plugin != plugin }
            state.supervisors[plugin] = nil
            state.disabled[plugin, default: []].formUnion(methods)
        }
    }

    public func markDisabled(_ processes: [String]) {
        state.withLock { state in
            for process in processes where state.supervisors[process] == nil { state.disabled[process, default: []] = [] }
        }
    }

    /// Records a plugin's methods from its manifest, replacing what it declared before.
    /// Returns the methods refused: those in another process's namespace (a plugin named
    /// `change` cannot take over `incident.get`, whatever permission it declares) and those
    /// another plugin declared first.
    @discardableResult
    public func register(plugin: String, manifest: InitializeResult) -> [String] {
        state.withLock { state in
            guard state.supervisors[plugin] != nil else { return [] } // disabled while it was starting
            let otherProcesses = Set(state.supervisors.keys).union(state.disabled.keys).union(PluginSpec.builtInNames)
                .subtracting([plugin])
            state.routes = state.routes.filter { $0.value.plugin != plugin }
            var refused: [String] = []
            for method in manifest.methods {
                let namespace = String(method.name.prefix { $0 != "." })
                if otherProcesses.contains(namespace) { refused.append(method.name); continue }
                if let owner = state.routes[method.name], owner.plugin != plugin { refused.append(method.name); continue }
                state.routes[method.name] = Route(plugin: plugin, descriptor: method)
            }
            return refused
        }
    }

    public func route(for method: String) -> Route? { state.withLock { $0.routes[method] } }

    /// Every method known, for the API's listing.
    public var routes: [Route] { state.withLock { Array($0.routes.values) }.sorted { $0.descriptor.name < $1.descriptor.name } }

    /// Calls `method` on its plugin. Protocol-reserved names are never routed.
    public func call(_ method: String, params: JSONValue?, meta: RequestMeta?,
                     timeout: Duration? = nil) async throws(ResponseError) -> JSONValue {
        enum Target {
            case plugin(PluginSupervisor)
            case starting(String, PluginSupervisor)
            case disabled(String)
            case none
        }
        let process = method.hasPrefix("$/") ? nil : method.split(separator: ".").first.map(String.init)
        let target: Target = state.withLock { state in
            if let route = state.routes[method], let supervisor = state.supervisors[route.plugin] { return .plugin(supervisor) }
            if let owner = state.disabled.first(where: { $0.value.contains(method) })?.key { return .disabled(owner) }
            guard let process else { return .none }
            if let supervisor = state.supervisors[process] { return .starting(process, supervisor) }
            if state.disabled[process] != nil { return .disabled(process) }
            return .none
        }
        switch target {
        case .plugin(let supervisor):
            return try await supervisor.call(method, params: params, meta: meta, timeout: timeout)
        case .starting(let process, let supervisor):
            let state = await supervisor.snapshot.state
            if state == .running {
                throw ResponseError(code: .methodNotFound, kind: "protocol.method_not_found",
                                    message: "the \(process) process has no method '\(method)'")
            }
            throw ResponseError(code: .unavailable, kind: "plugin.unavailable",
                                message: "the \(process) process is \(state.rawValue) and has not declared \(method) yet",
                                retryable: state != .failed, details: ["plugin": .string(process)])
        case .disabled(let process):
            throw ResponseError.processDisabled(process, method: method)
        case .none:
            throw ResponseError.methodNotFound(method)
        }
    }
}

extension ResponseError {
    /// A call to a method of a process this installation does not run.
    static func processDisabled(_ process: String, method: String) -> ResponseError {
        ResponseError(code: .unavailable, kind: "plugin.disabled",
                      message: "\(method) belongs to the \(process) process, which is not enabled here; enable it with 'itsm plugins enable \(process)' and apply with 'itsm plugins reload'",
                      retryable: false, details: ["plugin": .string(process)])
    }
}
