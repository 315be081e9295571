import ITSMProtocol
import ITSMTransport
import Logging

/// What a method handler gets besides its params.
public struct MethodContext: Sendable {
    public let database: PluginDatabase
    /// The plugin's `config:` section of itsm.yaml, `{}` when there is none.
    public let config: JSONValue
    public let logger: Logger
    /// The authenticated caller as the coordinator established it, e.g. `token:admin`.
    public let actor: String
    /// Who the request is for (a person, a service token, a plugin) and which of this
    /// plugin's permissions they hold; nil only for requests the coordinator makes itself.
    public let principal: RequestPrincipal?
    /// The client's idempotency key, when it sent one.
    public let idempotencyKey: String?
    /// The coordinator's handle for the caller, carried on calls made for it.
    let callerContext: String?
    let coordinator: CoordinatorLink

    /// Calls another process's method through the coordinator **on behalf of the caller**: it
    /// runs only if the caller holds the callee's permission (and the manifest declares the
    /// call). With an idempotency key, a retried call returns the first call's result.
    public func call(_ method: String, params: JSONValue? = nil, idempotencyKey: String? = nil) async throws(ResponseError) -> JSONValue {
        try await coordinator.call(method, params: params, idempotencyKey: idempotencyKey, context: callerContext)
    }

    /// Calls another process's method **as this plugin**, with the permissions itsm.yaml grants
    /// it, not the caller's: for the process's own reactions (a breach opening an incident),
    /// which a caller without that permission still sets off.
    public func callAsPlugin(_ method: String, params: JSONValue? = nil, idempotencyKey: String? = nil) async throws(ResponseError) -> JSONValue {
        try await coordinator.call(method, params: params, idempotencyKey: idempotencyKey)
    }

    /// `call(_:params:idempotencyKey:)` with a method of another process's contract.
    public func call<Params, Result>(_ method: MethodType<Params, Result>, _ params: Params,
                                     idempotencyKey: String? = nil) async throws(ResponseError) -> Result {
        try await coordinator.call(method, params, idempotencyKey: idempotencyKey, context: callerContext)
    }

    /// `callAsPlugin(_:params:idempotencyKey:)` with a method of another process's contract.
    public func callAsPlugin<Params, Result>(_ method: MethodType<Params, Result>, _ params: Params,
                                             idempotencyKey: String? = nil) async throws(ResponseError) -> Result {
        try await coordinator.call(method, params, idempotencyKey: idempotencyKey)
    }
}

/// What a scheduled job gets. Its calls run as the plugin itself.
public struct JobContext: Sendable {
    public let database: PluginDatabase
    public let config: JSONValue
    public let logger: Logger
    let coordinator: CoordinatorLink

    /// Calls another process's method through the coordinator; with an idempotency key, a
    /// retried call returns the first call's result instead of acting twice.
    public func call(_ method: String, params: JSONValue? = nil, idempotencyKey: String? = nil) async throws(ResponseError) -> JSONValue {
        try await coordinator.call(method, params: params, idempotencyKey: idempotencyKey)
    }

    /// `call(_:params:idempotencyKey:)` with a method of another process's contract.
    public func call<Params, Result>(_ method: MethodType<Params, Result>, _ params: Params,
                                     idempotencyKey: String? = nil) async throws(ResponseError) -> Result {
        try await coordinator.call(method, params, idempotencyKey: idempotencyKey)
    }
}

/// What an event handler gets: the transaction that also records the event as processed.
/// Its calls run as the plugin itself.
public struct EventContext: Sendable {
    public let transaction: PluginTransaction
    /// For reads outside the event's transaction; changes belong in `transaction`.
    public let database: PluginDatabase
    /// The plugin's `config:` section of itsm.yaml.
    public let config: JSONValue
    public let logger: Logger
    let coordinator: CoordinatorLink

    public func call(_ method: String, params: JSONValue? = nil) async throws(ResponseError) -> JSONValue {
        try await coordinator.call(method, params: params)
    }

    /// `call(_:params:)` with a method of another process's contract.
    public func call<Params, Result>(_ method: MethodType<Params, Result>, _ params: Params) async throws(ResponseError) -> Result {
        try await coordinator.call(method, params)
    }
}

/// The plugin's side of the connection to the coordinator, for plugin-to-plugin calls.
struct CoordinatorLink: Sendable {
    let connection: JSONRPCConnection
    /// The request being handled, carried on the calls made for it.
    var requestId: String? = nil

    func call(_ method: String, params: JSONValue?, idempotencyKey: String? = nil, context: String? = nil) async throws(ResponseError) -> JSONValue {
        let meta = RequestMeta(idempotencyKey: idempotencyKey, context: context, requestId: requestId)
        return try await connection.request(method, params: params, meta: meta == RequestMeta() ? nil : meta)
    }

    /// A typed call (`typedCall`).
    func call<Params, Result>(_ method: MethodType<Params, Result>, _ params: Params, idempotencyKey: String? = nil,
                              context: String? = nil) async throws(ResponseError) -> Result {
        try await typedCall(method, params) { name, encoded throws(ResponseError) in
            try await call(name, params: encoded, idempotencyKey: idempotencyKey, context: context)
        }
    }
}

/// A call through the coordinator with the contract's types: params encoded as `method` says,
/// sent with `send`, the answer decoded as it says. An answer that does not decode is the
/// callee's bug, reported as an internal error naming the member.
func typedCall<Params, Result>(_ method: MethodType<Params, Result>, _ params: Params,
                               send: (String, JSONValue) async throws(ResponseError) -> JSONValue) async throws(ResponseError) -> Result {
    let encoded: JSONValue
    do { encoded = try JSONValue(encoding: params) } catch {
        throw ResponseError(code: .internalError, kind: "internal", message: "\(method.name): params cannot be encoded")
    }
    let answer = try await send(method.name, encoded)
    do {
        return try answer.decode(Result.self)
    } catch let error as DecodingError {
        throw ResponseError(code: .internalError, kind: "internal",
                            message: "\(method.name) answered what its contract does not say: \(Plugin.describe(error, root: "result"))")
    } catch {
        throw ResponseError(code: .internalError, kind: "internal", message: "\(method.name) answered what its contract does not say")
    }
}

/// Calls through the coordinator as one principal, chosen where it is made (the plugin itself
/// for events, jobs and its own reactions), for code that should not care which context it runs
/// in: typed with a contract's methods, or as JSON for the rest (`people.contacts`).
public struct CoordinatorCaller: Sendable {
    public let json: @Sendable (_ method: String, _ params: JSONValue, _ idempotencyKey: String?) async throws(ResponseError) -> JSONValue

    public init(_ json: @escaping @Sendable (_ method: String, _ params: JSONValue, _ idempotencyKey: String?) async throws(ResponseError) -> JSONValue) {
        self.json = json
    }

    public func call<Params, Result>(_ method: MethodType<Params, Result>, _ params: Params,
                                     idempotencyKey: String? = nil) async throws(ResponseError) -> Result {
        try await typedCall(method, params) { name, encoded throws(ResponseError) in try await json(name, encoded, idempotencyKey) }
    }
}

extension MethodContext {
    /// This context's calls as the plugin itself (`callAsPlugin`).
    public var asPlugin: CoordinatorCaller {
        CoordinatorCaller { method, params, key throws(ResponseError) in try await callAsPlugin(method, params: params, idempotencyKey: key) }
    }
}

extension JobContext {
    /// This job's calls, as the plugin itself.
    public var caller: CoordinatorCaller {
        CoordinatorCaller { method, params, key throws(ResponseError) in try await call(method, params: params, idempotencyKey: key) }
    }
}
