import Foundation
import ITSMProtocol
import ITSMSystem
import ITSMTransport
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// `itsm agent`: runs the plugins of one host and connects each to the coordinators, so a
/// plugin host needs one command and no open port. Any plugin that speaks the protocol on
/// stdin/stdout works unchanged: the agent relays its lines over TCP.
///
/// Each link (one plugin instance to one coordinator) goes: connect, `$/attach` with the
/// token, start the plugin, relay lines both ways until the link or the plugin ends, stop the
/// plugin, wait (backoff), and start over. A new connection is a new session with a fresh
/// plugin process, so no half-finished handshake or request state carries over.
///
/// Heartbeats both ways: the coordinator pings the plugin through the link, and the agent
/// pings the coordinator; a link silent for three heartbeat intervals is dead (a cut cable
/// never says so) and is dropped.
public struct PluginAgent: Sendable {
    public var configuration: AgentConfiguration
    public var logger: Logger
    public var initialBackoff: Duration = .milliseconds(250)
    public var maximumBackoff: Duration = .seconds(15)

    public init(configuration: AgentConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs every link until the task is cancelled (SIGTERM in `itsm agent`).
    public func run() async throws {
        let token = try String(contentsOfFile: configuration.tokenFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw CoordinatorError("\(configuration.tokenFile) is empty") }
        let builtIns = Coordinator.executableDirectory()
        let tls = try PluginLinkTLS.context(for: configuration.security ?? .plaintext, role: .client)
        let counter = AgentStatus.Counter()
        // Every plugin instance links to every coordinator behind every configured name.
        @Sendable func links(to coordinator: Configuration.HTTPAddress, at address: String) -> [AgentLink] {
            configuration.plugins.flatMap { spec in
                (1...spec.instances).map { number in
                    AgentLink(spec: spec, command: spec.resolvedCommand(builtInDirectory: builtIns),
                              instance: "\(configuration.name)/\(spec.name)-\(number)", coordinator: coordinator, address: address,
                              tls: tls, token: token, databaseURL: configuration.databaseURL, maxLineBytes: configuration.maxLineBytes,
                              counter: counter, logger: logger)
                }
            }
        }
        await withDiscardingTaskGroup { group in
            if let statusFile = configuration.statusFile {
                group.addTask { await AgentStatus.keepWriting(counter, to: statusFile) }
            }
            for coordinator in configuration.coordinators {
                group.addTask { await follow(coordinator, links: { links(to: coordinator, at: $0) }) }
            }
        }
    }

    /// Keeps links to each address `coordinator`'s host has, looking it up every `coordinatorLookup`:
    /// an address that appears gets its links, one that goes away loses them. An address
    /// given as such is dialled as it is.
    private func follow(_ coordinator: Configuration.HTTPAddress, links: @escaping @Sendable (String) -> [AgentLink]) async {
        var running: [String: Task<Void, Never>] = [:]
        defer { running.values.forEach { $0.cancel() } }
        let literal = (try? SocketAddress(ipAddress: coordinator.host, port: 0)) != nil
        while !Task.isCancelled {
            var addresses: Set<String> = [coordinator.host]
            if !literal {
                do {
                    addresses = try await Self.addresses(of: coordinator.host)
                } catch {
                    logger.warning("cannot look up a coordinator's name; keeping its links as they are",
                                   metadata: ["itsm.coordinator": "\(coordinator)", "itsm.error": "\(error)"])
                    addresses = Set(running.keys)
                }
            }
            for gone in Set(running.keys).subtracting(addresses) {
                logger.notice("a coordinator's address went away; its links end", metadata: ["itsm.coordinator": "\(coordinator)", "itsm.address": "\(gone)"])
                running.removeValue(forKey: gone)?.cancel()
            }
            for address in addresses.subtracting(running.keys) {
                if !literal {
                    logger.notice("found a coordinator's address", metadata: ["itsm.coordinator": "\(coordinator)", "itsm.address": "\(address)"])
                }
                let (initial, maximum) = (initialBackoff, maximumBackoff)
                let started = links(address)
                running[address] = Task {
                    await withDiscardingTaskGroup { group in
                        for link in started { group.addTask { await link.run(initialBackoff: initial, maximumBackoff: maximum) } }
                    }
                }
            }
            if literal { break }
            let lookup = configuration.coordinatorLookup
            try? await Task.sleep(for: addresses.isEmpty ? min(lookup, .seconds(5)) : lookup)
        }
        // Until the agent stops, the links run on.
        for task in running.values { await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() } }
    }

    /// Every address `host` resolves to (A and AAAA records, /etc/hosts), as text.
    static func addresses(of host: String) async throws -> Set<String> {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var list: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host, nil, &hints, &list)
                guard status == 0 else {
                    return continuation.resume(throwing: CoordinatorError("\(host): \(String(cString: gai_strerror(status)))"))
                }
                defer { freeaddrinfo(list) }
                var found: Set<String> = []
                var entry = list
                while let current = entry {
                    var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                    if getnameinfo(current.pointee.ai_addr, current.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                        found.insert(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
                    }
                    entry = current.pointee.ai_next
                }
                continuation.resume(returning: found)
            }
        }
    }
}

/// One plugin instance connected to one coordinator, again and again.
struct AgentLink: Sendable {
    var spec: PluginSpec
    var command: [String]
    var instance: String
    var coordinator: Configuration.HTTPAddress
    /// The address dialled: one of those the coordinator's name has; its name is what TLS checks.
    var address: String
    /// TLS for the link; nil for plain TCP.
    var tls: NIOSSLContext?
    var token: String
    var databaseURL: String?
    var maxLineBytes: Int
    var counter: AgentStatus.Counter
    var logger: Logger

    init(spec: PluginSpec, command: [String], instance: String, coordinator: Configuration.HTTPAddress, address: String,
         tls: NIOSSLContext?, token: String, databaseURL: String?, maxLineBytes: Int, counter: AgentStatus.Counter, logger: Logger) {
        self.spec = spec
        self.command = command
        self.instance = instance
        self.coordinator = coordinator
        self.address = address
        self.tls = tls
        self.token = token
        self.databaseURL = databaseURL
        self.maxLineBytes = maxLineBytes
        self.counter = counter
        var logger = logger
        logger[metadataKey: "itsm.plugin"] = "\(spec.name)"
        logger[metadataKey: "itsm.instance"] = "\(instance)"
        logger[metadataKey: "itsm.coordinator"] = "\(coordinator)"
        if address != coordinator.host { logger[metadataKey: "itsm.address"] = "\(address)" }
        self.logger = logger
    }

    func run(initialBackoff: Duration, maximumBackoff: Duration) async {
        counter.linkStarted()
        defer { counter.linkEnded() }
        var backoff = initialBackoff
        while !Task.isCancelled {
            let started = ContinuousClock.now
            let ended = await session()
            guard !Task.isCancelled else { break }
            if ContinuousClock.now - started > .seconds(60) { backoff = initialBackoff }
            logger.warning("link ended; reconnecting", metadata: ["itsm.reason": "\(ended)", "itsm.backoff": "\(backoff)"])
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, maximumBackoff)
        }
    }

    /// One session; returns why it ended.
    private func session() async -> String {
        let link: PluginLink
        let attached: AttachResult
        do {
            (link, attached) = try await attach()
        } catch {
            return "\(error)"
        }
        var environment = ProcessInfo.processInfo.environment
        environment.merge(spec.environment) { $1 }
        environment["ITSM_PLUGIN_NAME"] = spec.name
        if let databaseURL { environment["ITSM_DATABASE_URL"] = databaseURL }
        let process: ChildProcess
        do {
            process = try ChildProcess.spawn(.init(
                executable: command[0], arguments: Array(command.dropFirst()), environment: environment,
                standardInput: .pipe, standardOutput: .pipe, standardError: .pipe, newProcessGroup: true))
        } catch {
            await link.discard()
            return "cannot start \(command.joined(separator: " ")): \(error)"
        }
        logger.notice("attached; plugin started", metadata: ["itsm.pid": "\(process.pid)"])
        counter.attached()
        defer { counter.detached() }
        let plugin: LineChannel
        do {
            plugin = try await LineChannels.pipes(input: process.standardOutput!, output: process.standardInput!,
                                                  maxLineBytes: maxLineBytes, writeTimeout: .seconds(10))
        } catch {
            await link.discard()
            process.signal(SIGKILL)
            _ = await process.wait()
            return "cannot talk to the plugin over its pipes: \(error)"
        }
        let reason = await relay(link: link, plugin: plugin, process: process, heartbeat: .milliseconds(attached.heartbeatMs))
        let status = await process.wait()
        logger.info("plugin stopped", metadata: ["itsm.exit": "\(status)"])
        return reason
    }

    /// Connects and sends `$/attach`; the coordinator's refusal comes back as the error.
    private func attach() async throws -> (PluginLink, AttachResult) {
        let link: PluginLink
        do {
            link = try await PluginLink.dial(host: address, port: coordinator.port, serverName: coordinator.host, tls: tls,
                                             maxLineBytes: maxLineBytes)
        } catch {
            throw CoordinatorError("cannot connect to \(coordinator): \(error)")
        }
        let request = JSONRPCRequest(id: .string("attach"), method: ProtocolMethod.attach,
                                     params: try? JSONValue(encoding: AttachParams(token: token, plugin: spec.name, instance: instance)))
        link.send(.request(request))
        let refusal: String
        let answer: LineFramer.Frame?
        do {
            answer = try await link.firstLine.get()
        } catch {
            await link.discard()
            throw CoordinatorError("the connection to \(coordinator) failed before it answered $/attach: \(PluginLinkTLS.describe(error))")
        }
        switch answer {
        case .line(let line)?:
            switch try? Message.decode(line) {
            case .response(let response)?:
                switch response.result {
                case .failure(let error):
                    refusal = "\(coordinator) refused the attach: \(error.message)"
                case .success(let result):
                    guard let attached = try? result.decode(AttachResult.self) else {
                        refusal = "invalid $/attach result"
                        break
                    }
                    return (link, attached)
                }
            default:
                refusal = PluginLinkTLS.looksLikeTLS(line)
                    ? "\(coordinator) speaks TLS on the plugin link: give the agent tls.ca (--tls-ca) instead of plaintext"
                    : "\(coordinator) answered $/attach with something else"
            }
        default:
            refusal = "\(coordinator) did not answer $/attach"
        }
        await link.discard()
        throw CoordinatorError(refusal)
    }

    /// Relays lines between the coordinator and the plugin, pings the coordinator, and
    /// returns when either side ends or the link is silent for three heartbeat intervals.
    /// Each direction waits while the other side is not reading, so neither buffers without bound.
    private func relay(link: PluginLink, plugin: LineChannel, process: ChildProcess, heartbeat: Duration) async -> String {
        let lastHeard = LastHeard()
        let endedBecause = EndReason()
        let logger = self.logger
        let maxLineBytes = self.maxLineBytes
        do {
            return try await link.channel.executeThenClose { fromCoordinator, toCoordinator in
                try await plugin.executeThenClose { fromPlugin, toPlugin in
                    await withTaskGroup(of: String.self) { group in
                        group.addTask {
                            await PluginSupervisor.forwardLogs(from: process.standardError!, maxLineBytes: maxLineBytes, logger: logger)
                            return "the plugin closed its stderr"
                        }
                        group.addTask {
                            do {
                                for try await frame in fromCoordinator {
                                    lastHeard.now()
                                    guard case .line(let line) = frame else {
                                        logger.warning("dropped an over-long line from the coordinator")
                                        continue
                                    }
                                    if Self.isAgentPingAnswer(line) { continue }
                                    if let reason = Self.exitReason(line) { endedBecause.set(reason) }
                                    try await toPlugin.write(LineChannels.line(line))
                                }
                            } catch {
                                return "relaying to the plugin failed: \(error)"
                            }
                            return "the coordinator closed the connection"
                        }
                        group.addTask {
                            do {
                                for try await frame in fromPlugin {
                                    guard case .line(let line) = frame else {
                                        logger.warning("dropped an over-long line from the plugin")
                                        continue
                                    }
                                    try await toCoordinator.write(LineChannels.line(line))
                                }
                            } catch {
                                return "relaying to the coordinator failed: \(error)"
                            }
                            return "the plugin closed its output"
                        }
                        group.addTask {
                            var sequence = 0
                            while true {
                                guard (try? await Task.sleep(for: heartbeat)) != nil else { return "stopped" }
                                let silence = lastHeard.silence
                                if silence > heartbeat * 3 { return "the coordinator was silent for \(silence); the link is down" }
                                sequence += 1
                                let ping = JSONRPCRequest(id: .string("\(Self.pingPrefix)\(sequence)"), method: ProtocolMethod.ping, params: nil)
                                guard let line = try? Message.request(ping).encodedLine() else { continue }
                                guard (try? await toCoordinator.write(LineChannels.line(line))) != nil else {
                                    return "the link to the coordinator closed"
                                }
                            }
                        }
                        group.addTask {
                            let status = await process.wait()
                            return "the plugin exited (\(status))"
                        }
                        let ended = await group.next() ?? "stopped"
                        let reason = endedBecause.value.map { "the coordinator ended the session: \($0)" } ?? ended
                        // End everything the other tasks wait on: the link, the plugin's pipes, the plugin.
                        link.close()
                        plugin.channel.close(promise: nil)
                        group.cancelAll()
                        process.signal(SIGTERM)
                        if await process.wait(timeout: .seconds(5)) == nil { process.signal(SIGKILL) }
                        return reason
                    }
                }
            }
        } catch {
            process.signal(SIGKILL)
            return "the link failed: \(error)"
        }
    }

    static let pingPrefix = "itsm-agent-ping-"

    private static let exitMarker = Array(#""method":"exit""#.utf8)

    /// The reason an `exit` from the coordinator gives (it says why it refused the handshake).
    static func exitReason(_ line: [UInt8]) -> String? {
        // Most lines are requests and answers for the plugin: only a short one naming exit is parsed.
        guard line.count < 8192, line.firstRange(of: exitMarker) != nil,
              case .notification(let notification)? = try? Message.decode(line), notification.method == ProtocolMethod.exit
        else { return nil }
        return notification.params?["reason"]?.stringValue
    }

    /// The coordinator's answer to one of our pings: ours to consume, not the plugin's.
    static func isAgentPingAnswer(_ line: [UInt8]) -> Bool {
        guard line.count < 256, String(decoding: line, as: UTF8.self).contains(pingPrefix),
              case .response(let response)? = try? Message.decode(line), case .string(let id)? = response.id
        else { return false }
        return id.hasPrefix(pingPrefix)
    }
}

/// Why the coordinator ended a link, when it said so in its `exit`.
private final class EndReason: Sendable {
    private let reason = Mutex<String?>(nil)

    func set(_ text: String) { reason.withLock { $0 = text } }
    var value: String? { reason.withLock { $0 } }
}

/// When the coordinator was last heard from on a link.
private final class LastHeard: Sendable {
    private let instant = Mutex(ContinuousClock.now)

    func now() { instant.withLock { $0 = .now } }
    var silence: Duration { ContinuousClock.now - instant.withLock { $0 } }
}
