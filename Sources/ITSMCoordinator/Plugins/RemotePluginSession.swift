import ITSMProtocol
import ITSMTransport
import Logging
import Synchronization

/// A plugin instance on another host, connected over TCP after `$/attach`. It lives as long
/// as its connection: the handshake, requests both ways and heartbeats run as for a local
/// child. When the connection ends, or a heartbeat goes unanswered (a half-open connection:
/// a cut link, a host gone without a FIN), the session ends, its in-flight requests fail with
/// the retryable `peer.disconnected` error, and the router stops sending it work. The remote
/// side reconnects as a new session.
final class RemotePluginSession: PluginInstance {
    let spec: PluginSpec
    let instance: String
    let remoteAddress: String
    private let connection: JSONRPCConnection
    private let logger: Logger
    private let ready = Mutex<JSONRPCConnection?>(nil)
    private let status: Mutex<PluginStatus>

    /// `restarts`: how often this instance (by name) connected before.
    init(spec: PluginSpec, instance: String, remoteAddress: String, connection: JSONRPCConnection, restarts: Int, logger: Logger) {
        self.spec = spec
        self.instance = instance
        self.remoteAddress = remoteAddress
        self.connection = connection
        var logger = logger
        logger[metadataKey: "itsm.plugin"] = "\(spec.name)"
        logger[metadataKey: "itsm.instance"] = "\(instance)"
        logger[metadataKey: "itsm.remote"] = "\(remoteAddress)"
        self.logger = logger
        status = Mutex(PluginStatus(name: spec.name, instance: instance, remoteAddress: remoteAddress, state: .starting,
                                    pid: nil, restarts: restarts, version: nil, methods: [], subscribes: [], lastError: nil))
    }

    var pluginName: String { spec.name }
    var readyConnection: JSONRPCConnection? { ready.withLock { $0 } }
    var snapshot: PluginStatus { status.withLock { $0 } }

    /// Serves the session until the connection ends.
    func run(handshake: PluginHandshake, hooks: PluginHooks) async {
        let connection = self.connection
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await connection.run(onRawRequest: { request in try await hooks.onPluginRequest(self, request) },
                                     onNotification: { _ in })
            }
            group.addTask { await self.handshakeAndWatch(handshake: handshake, hooks: hooks) }
            await group.next() // the connection ended
            group.cancelAll()
        }
        ready.withLock { $0 = nil }
        connection.closeOutput()
        status.withLock { status in
            status.state = .disconnected
            status.lastError = status.lastError ?? "the connection closed"
        }
        logger.notice("remote plugin disconnected", metadata: ["itsm.reason": "\(snapshot.lastError ?? "the connection closed")"])
    }

    private func handshakeAndWatch(handshake: PluginHandshake, hooks: PluginHooks) async {
        do {
            let manifest = try await handshake.perform(on: connection, spec: spec, instance: instance, database: nil)
            await hooks.onReady(self, manifest)
            ready.withLock { $0 = connection }
            // Reported running only once it serves.
            status.withLock { status in
                status.state = .running
                status.version = manifest.plugin.version
                status.methods = manifest.methods.map(\.name)
                status.subscribes = manifest.subscribes
            }
            logger.notice("remote plugin ready", metadata: ["itsm.version": "\(manifest.plugin.version)"])
        } catch {
            status.withLock { $0.lastError = "handshake failed: \(error)" }
            logger.error("remote plugin handshake failed", metadata: ["itsm.error": "\(error)"])
            // The host logs why, so its operator need not read the coordinator's log.
            try? await connection.notify(ProtocolMethod.exit, params: ["reason": .string("handshake refused: \(error)")])
            connection.close()
            return
        }
        if let reason = await handshake.watchHeartbeats(on: connection) {
            status.withLock { $0.lastError = reason }
            logger.error("remote plugin stopped answering heartbeats; dropping the connection")
            ready.withLock { $0 = nil }
            connection.close()
        }
    }

    /// Lets the plugin finish its requests, then closes the connection. The remote side
    /// reconnects, and is refused while its plugin is not enabled here.
    func stop() async {
        ready.withLock { $0 = nil }
        _ = try? await connection.request(ProtocolMethod.shutdown, timeout: .seconds(5))
        connection.close()
    }
}
