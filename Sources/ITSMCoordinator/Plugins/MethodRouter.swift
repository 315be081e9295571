import Foundation
import ITSMProtocol
import Synchronization

/// Routes a method to the plugin that declared it.
///
/// The table is filled from manifests as plugins complete their handshake, and keeps a
/// plugin's methods while it restarts, so callers get a retryable "unavailable" rather than
/// "method not found". A method nobody declared, but named after a configured process
/// (`problem.get` while `problem` is still starting), is also "unavailable".
public final class MethodRouter: Sendable {
    public struct Route: Sendable {
        public var plugin: String
        public var descriptor: MethodDescriptor
    }

    private let supervisors: [String: PluginSupervisor]
    private let table = Mutex<[String: Route]>([:])

    public init(supervisors: [PluginSupervisor]) {
        self.supervisors = Dictionary(uniqueKeysWithValues: supervisors.map { ($0.spec.name, $0) })
    }

    public var allSupervisors: [PluginSupervisor] { Array(supervisors.values) }

    public func supervisor(named name: String) -> PluginSupervisor? { supervisors[name] }

    /// Records a plugin's methods from its manifest, replacing what it declared before.
    public func register(plugin: String, manifest: InitializeResult) {
        table.withLock { table in
            table = table.filter { $0.value.plugin != plugin }
            for method in manifest.methods {
                if let owner = table[method.name], owner.plugin != plugin { continue } // first declarer keeps it
                table[method.name] = Route(plugin: plugin, descriptor: method)
            }
        }
    }

    public func route(for method: String) -> Route? { table.withLock { $0[method] } }

    /// Every method known, for the API's listing.
    public var routes: [Route] { table.withLock { Array($0.values) }.sorted { $0.descriptor.name < $1.descriptor.name } }

    /// Calls `method` on its plugin. Protocol-reserved names are never routed.
    public func call(_ method: String, params: JSONValue?, meta: RequestMeta?,
                     timeout: Duration? = nil) async throws(ResponseError) -> JSONValue {
        if let route = route(for: method), let supervisor = supervisors[route.plugin] {
            return try await supervisor.call(method, params: params, meta: meta, timeout: timeout)
        }
        if !method.hasPrefix("$/"), let process = method.split(separator: ".").first, let supervisor = supervisors[String(process)] {
            let state = await supervisor.snapshot.state
            if state == .running {
                throw ResponseError(code: .methodNotFound, kind: "protocol.method_not_found",
                                    message: "the \(process) process has no method '\(method)'")
            }
            throw ResponseError(code: .unavailable, kind: "plugin.unavailable",
                                message: "the \(process) process is \(state.rawValue) and has not declared \(method) yet",
                                retryable: state != .failed, details: ["plugin": .string(String(process))])
        }
        throw ResponseError.methodNotFound(method)
    }
}
