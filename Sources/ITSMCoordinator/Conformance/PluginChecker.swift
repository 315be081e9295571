import Foundation
import NIOCore
import ITSMProtocol
import ITSMSystem
import ITSMTransport
import Logging
import Synchronization

/// Runs any plugin executable through the protocol (docs/protocol.md) and reports, rule by
/// rule, whether it behaves. Each scenario gets a fresh process; the plugin talks to
/// `databaseURL`, which should be a throwaway database.
///
/// ```swift
/// let results = await PluginChecker(command: ["python3", "plugin.py"], databaseURL: url).run()
/// ```
public struct PluginChecker: Sendable {
    public struct Outcome: Sendable, Hashable, Codable {
        public var rule: String
        public var passed: Bool
        /// Why it failed, or what was seen when it passed.
        public var detail: String
    }

    public let command: [String]
    public let databaseURL: String
    public let maxLineBytes: Int
    /// How long the plugin may take to answer `initialize` (it may migrate).
    public let handshakeTimeout: Duration

    public init(command: [String], databaseURL: String, maxLineBytes: Int = 1 << 20, handshakeTimeout: Duration = .seconds(60)) {
        self.command = command
        self.databaseURL = databaseURL
        self.maxLineBytes = maxLineBytes
        self.handshakeTimeout = handshakeTimeout
    }

    public func run() async -> [Outcome] {
        var outcomes: [Outcome] = []
        await mainSession(&outcomes)
        await versionNegotiation(&outcomes)
        await requestBeforeHandshake(&outcomes)
        await endOfInput(&outcomes)
        return outcomes
    }

    private func initializeParams(versions: [Int] = ProtocolVersion.supported) -> JSONValue {
        (try? JSONValue(encoding: InitializeParams(
            protocolVersions: versions, coordinator: PeerInfo(name: "itsm-plugin-check", version: CoordinatorVersion.current),
            limits: .init(maxLineBytes: maxLineBytes, requestTimeoutMs: 30_000), heartbeatMs: 5000,
            database: .init(url: databaseURL)))) ?? .null
    }

    // MARK: - Scenarios

    private func mainSession(_ outcomes: inout [Outcome]) async {
        func record(_ rule: String, _ passed: Bool, _ detail: String) { outcomes.append(Outcome(rule: rule, passed: passed, detail: detail)) }
        let probe: Probe
        do {
            probe = try await Probe.start(command: command, maxLineBytes: maxLineBytes)
        } catch {
            record("start", false, "cannot start \(command.joined(separator: " ")): \(error)")
            return
        }
        defer { probe.kill() }

        let initialize = await probe.request(1, ProtocolMethod.initialize, initializeParams(), timeout: handshakeTimeout)
        // Judged by order on stdout, not by time: whatever came before the answer to initialize
        // was written before it, however slowly the plugin started.
        let early = probe.lines(beforeResponseTo: .number(1))
        record("quiet before handshake", early.isEmpty,
               early.isEmpty ? "nothing on stdout before initialize" : "wrote before initialize: \(Self.excerpt(early[0]))")

        guard let answer = initialize else {
            record("handshake", false, "no answer to initialize within \(handshakeTimeout)\(probe.stderrExcerpt)")
            return
        }
        guard case .success(let result) = answer else {
            record("handshake", false, "initialize failed: \(Self.describe(answer))\(probe.stderrExcerpt)")
            return
        }
        guard let manifest = try? result.decode(InitializeResult.self) else {
            record("handshake", false, "the initialize result is not a manifest (protocolVersion, plugin, methods, ...)")
            return
        }
        record("handshake", true, "\(manifest.plugin.name) \(manifest.plugin.version), \(manifest.methods.count) methods")
        let problems = manifest.validationProblems()
        record("manifest", problems.isEmpty && ProtocolVersion.supported.contains(manifest.protocolVersion),
               problems.isEmpty ? "valid; protocol version \(manifest.protocolVersion)" : problems.joined(separator: "; "))
        probe.send(#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#)

        let ping = await probe.request(2, ProtocolMethod.ping, nil)
        record("ping", ping == .success(.object([:])), ping.map(Self.describe) ?? probe.noAnswer(to: "$/ping"))

        let unknown = await probe.request(3, "conformance.no_such_method", .object([:]))
        if case .failure(let error)? = unknown {
            record("unknown method", error.code == .methodNotFound, "answered \(error.code), expected -32601")
            record("error shape", error.kind != nil, error.kind.map { "data.kind is \($0)" } ?? "error without data.kind")
        } else {
            record("unknown method", false, unknown.map(Self.describe) ?? probe.noAnswer(to: "an unknown method"))
            record("error shape", false, "no error to inspect")
        }

        probe.send("this line is not JSON")
        let parseError = await probe.response(id: nil, timeout: .seconds(5))
        record("invalid JSON", parseError?.failureCode == .parseError,
               parseError.map { "answered \(Self.describe($0.result))" } ?? "no error response with id null within 5 s")

        probe.send(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":987654}}"#)
        let afterCancel = await probe.request(4, ProtocolMethod.ping, nil)
        record("cancellation", afterCancel == .success(.object([:])),
               afterCancel == nil ? "stopped answering after $/cancelRequest for an unknown id" : "ignores a cancel for an unknown id")

        let padding = String(repeating: "x", count: maxLineBytes + 16)
        probe.send(#"{"jsonrpc":"2.0","id":5,"method":"conformance.big","params":{"pad":""# + padding + #""}}"#)
        let tooLong = await probe.response(id: nil, timeout: .seconds(10))
        let alive = await probe.request(6, ProtocolMethod.ping, nil)
        record("line limit", tooLong?.failureCode == .messageTooLarge && alive != nil,
               tooLong?.failureCode == .messageTooLarge ? "answered -32012 and kept going"
                   : "a line over \(maxLineBytes) bytes got \(tooLong.map { Self.describe($0.result) } ?? "no -32012 answer")"
                     + (alive == nil ? ", and the plugin stopped answering" : ""))

        probe.send(#"[{"jsonrpc":"2.0","id":8,"method":"$/ping"}]"#)
        let batch = await probe.response(id: nil, timeout: .seconds(5))
        record("batch refused", batch?.failureCode == .invalidRequest,
               batch.map { "a batch (array) got \(Self.describe($0.result)); expected -32600" } ?? "no error response with id null within 5 s")

        // Every method, with params of the wrong shape: refused, not run, and the plugin lives.
        var notRefused: [String] = []
        for (offset, method) in manifest.methods.enumerated() {
            let answer = await probe.request(Int64(100 + offset), method.name, [.string("conformance: params of the wrong shape")])
            if case .failure(let error)? = answer, error.code == .invalidParams { continue }
            notRefused.append("\(method.name): \(answer.map(Self.describe) ?? probe.noAnswer(to: method.name))")
            if probe.process.status != nil { break }
        }
        record("invalid params", notRefused.isEmpty,
               notRefused.isEmpty ? "all \(manifest.methods.count) methods answered -32602 to params of the wrong shape"
                   : "\(notRefused.count) did not answer -32602, e.g. \(notRefused[0])")

        // Results as declared: each idempotent method that needs no params, called with none.
        var checked: [String] = []
        var broken: [String] = []
        for (offset, method) in manifest.methods.enumerated() {
            guard let schema = method.result, method.idempotent, let params = method.params, (params.required ?? []).isEmpty else { continue }
            guard case .success(let result)? = await probe.request(Int64(300 + offset), method.name, .object([:])) else { continue }
            checked.append(method.name)
            if let problem = schema.problem(with: result, at: "result") { broken.append("\(method.name): \(problem)") }
        }
        record("results match their schemas", broken.isEmpty,
               !broken.isEmpty ? "\(broken.count) of \(checked.count) broke their declared result schema, e.g. \(broken[0])"
                   : checked.isEmpty ? "no idempotent method with a result schema could be called without params"
                   : "\(checked.count) idempotent method\(checked.count == 1 ? "" : "s") called without params answered as their result schemas say")

        // Events: each subscribed type delivered, then the same event again (delivery is at least
        // once). The checker cannot know the publisher's payload, so it sends an empty one: a
        // plugin may refuse it (-32602 or a business error, and it is delivered again later),
        // but must answer, not fail inside, and a handled event delivered again is answered too.
        var eventProblems: [String] = []
        for (offset, type) in manifest.subscribes.enumerated() {
            let event = JSONValue.object([
                "id": .string(UUID().uuidString.lowercased()), "sequence": .int(Int64(offset + 1)), "type": .string(type),
                "source": .string(String(type.prefix { $0 != "." })), "subject": .string(UUID().uuidString.lowercased()),
                "occurredAt": .string(Date().formatted(.iso8601)), "data": .object([:]),
            ])
            let first = await probe.request(Int64(400 + 2 * offset), ProtocolMethod.event, event, timeout: .seconds(10))
            let again = await probe.request(Int64(401 + 2 * offset), ProtocolMethod.event, event, timeout: .seconds(10))
            switch first {
            case .success?:
                if case .success? = again { continue }
                eventProblems.append("\(type) delivered again got \(again.map(Self.describe) ?? probe.noAnswer(to: "a redelivered \(type)"))")
            case .failure(let error)? where error.code == .invalidParams || error.code == .requestFailed:
                continue
            default:
                eventProblems.append("\(type) got \(first.map(Self.describe) ?? probe.noAnswer(to: type))")
            }
            if probe.process.status != nil { break }
        }
        record("events", eventProblems.isEmpty,
               !eventProblems.isEmpty ? "\(eventProblems.count) of \(manifest.subscribes.count) subscribed types were mishandled, e.g. \(eventProblems[0])"
                   : manifest.subscribes.isEmpty ? "subscribes to no events"
                   : "each of \(manifest.subscribes.count) subscribed event types was answered, and so was its redelivery")

        // Another process's methods are never routed to this plugin: declaring one is a mistake.
        let foreign = manifest.methods.map(\.name).filter { name in
            let process = String(name.prefix { $0 != "." })
            return process != manifest.plugin.name && PluginSpec.builtInNames.contains(process)
        }
        record("own namespace", foreign.isEmpty,
               foreign.isEmpty ? "no method in another process's namespace"
                   : "methods in another process's namespace, which the coordinator will not route here: \(foreign.joined(separator: ", "))")

        let shutdown = await probe.request(7, ProtocolMethod.shutdown, nil)
        if let method = manifest.methods.first?.name {
            let late = await probe.request(9, method, .object([:]))
            let code: ErrorCode? = if case .failure(let error)? = late { error.code } else { nil }
            record("requests after shutdown", code == .shuttingDown,
                   "\(method) after shutdown got \(late.map(Self.describe) ?? "no answer"); expected -32015")
        }
        probe.send(#"{"jsonrpc":"2.0","method":"exit"}"#)
        let exited = await probe.process.wait(timeout: .seconds(5))
        record("shutdown and exit", shutdown != nil && exited == .exited(0),
               "shutdown \(shutdown.map(Self.describe) ?? "not answered"); then \(exited.map { "\($0)" } ?? "still running after 5 s")")

        // Lines before initialize are judged above; here, everything written after it.
        let stray = Array(probe.nonProtocolLines.dropFirst(early.filter { (try? Message.decode(Data($0.utf8))) == nil }.count))
        record("stdout is protocol only", stray.isEmpty,
               stray.isEmpty ? "every line after initialize was a JSON-RPC message"
                   : "\(stray.count) lines that are not JSON-RPC, e.g. \(Self.excerpt(stray[0]))")
    }

    private func versionNegotiation(_ outcomes: inout [Outcome]) async {
        guard let probe = try? await Probe.start(command: command, maxLineBytes: maxLineBytes) else { return }
        defer { probe.kill() }
        let answer = await probe.request(1, ProtocolMethod.initialize, initializeParams(versions: [999]), timeout: handshakeTimeout)
        let refused: Bool
        if case .failure? = answer { refused = true } else { refused = false }
        outcomes.append(Outcome(rule: "version negotiation", passed: refused,
                                detail: refused ? "refused protocol version 999: \(Self.describe(answer!))"
                                    : "accepted only-unknown protocol versions: \(answer.map(Self.describe) ?? "no answer")"))
    }

    private func requestBeforeHandshake(_ outcomes: inout [Outcome]) async {
        guard let probe = try? await Probe.start(command: command, maxLineBytes: maxLineBytes) else { return }
        defer { probe.kill() }
        // The process may still be starting (an interpreter loading its modules): as long as a handshake.
        let answer = await probe.request(1, "conformance.too_early", .object([:]), timeout: handshakeTimeout)
        let code: ErrorCode? = if case .failure(let error)? = answer { error.code } else { nil }
        outcomes.append(Outcome(rule: "not initialized", passed: code == .serverNotInitialized,
                                detail: "a request before initialize got \(answer.map(Self.describe) ?? "no answer"); expected -32002"))
    }

    private func endOfInput(_ outcomes: inout [Outcome]) async {
        guard let probe = try? await Probe.start(command: command, maxLineBytes: maxLineBytes) else { return }
        defer { probe.kill() }
        _ = await probe.request(1, ProtocolMethod.initialize, initializeParams(), timeout: handshakeTimeout)
        probe.send(#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#)
        probe.closeInput()
        let exited = await probe.process.wait(timeout: .seconds(5))
        outcomes.append(Outcome(rule: "exit on end of input", passed: exited != nil,
                                detail: exited.map { "exited (\($0)) when stdin closed" } ?? "still running 5 s after stdin closed"))
    }

    static func describe(_ result: Result<JSONValue, ResponseError>) -> String {
        switch result {
        case .success(let value): return "result \(excerpt(String(decoding: value.serialized(), as: UTF8.self)))"
        case .failure(let error): return "error \(error.code): \(excerpt(error.message))"
        }
    }

    static func excerpt(_ text: String) -> String {
        text.count > 80 ? String(text.prefix(80)) + "…" : text
    }
}

/// One plugin process under test: raw lines in and out, so anything it writes is seen.
private final class Probe: Sendable {
    let process: ChildProcess
    private let pipes: LineChannel
    private let state = Transcript()
    private let readers: [Task<Void, Never>]

    private init(process: ChildProcess, pipes: LineChannel, errors: NIOAsyncChannel<LineFramer.Frame, Never>) {
        self.process = process
        self.pipes = pipes
        let state = self.state
        readers = [
            Task {
                do {
                    try await pipes.executeThenClose { frames, _ in
                        for try await frame in frames {
                            guard case .line(let bytes) = frame, !bytes.isEmpty else { continue }
                            let text = String(decoding: bytes, as: UTF8.self)
                            let message = try? Message.decode(bytes)
                            state.record.withLock { state in
                                state.lines.append(text)
                                if let message { state.messages.append(message) } else { state.stray.append(text) }
                            }
                            // A call the plugin makes gets an answer, so nothing it handles waits for one.
                            if case .request(let request)? = message {
                                let result: Result<JSONValue, ResponseError> = request.method == ProtocolMethod.ping ? .success(.object([:]))
                                    : .failure(.unavailable("the conformance check routes no calls to other processes"))
                                if let line = try? Message.response(JSONRPCResponse(id: request.id, result: result)).encodedLine() {
                                    pipes.channel.writeAndFlush(LineChannels.line(line), promise: nil)
                                }
                            }
                        }
                    }
                } catch {} // the process is gone; what it wrote is recorded
            },
            Task {
                do {
                    try await errors.executeThenClose { frames, _ in
                        for try await frame in frames {
                            if case .line(let bytes) = frame { state.record.withLock { $0.stderr.append(String(decoding: bytes, as: UTF8.self)) } }
                        }
                    }
                } catch {}
            },
        ]
    }

    static func start(command: [String], maxLineBytes: Int) async throws -> Probe {
        let process = try ChildProcess.spawn(.init(
            executable: command[0], arguments: Array(command.dropFirst()),
            standardInput: .pipe, standardOutput: .pipe, standardError: .pipe, newProcessGroup: true))
        do {
            let pipes = try await LineChannels.pipes(input: process.standardOutput!, output: process.standardInput!,
                                                     maxLineBytes: 4 * maxLineBytes, writeTimeout: .seconds(10))
            let errors = try await LineChannels.input(process.standardError!, maxLineBytes: maxLineBytes)
            return Probe(process: process, pipes: pipes, errors: errors)
        } catch {
            process.signal(SIGKILL)
            throw error
        }
    }

    /// The lines written before the response to `id`, in order; all of them if it never came.
    func lines(beforeResponseTo id: RequestID) -> [String] {
        state.record.withLock { $0.lines }.prefix { line in
            guard case .response(let response)? = try? Message.decode(Data(line.utf8)) else { return true }
            return response.id != id
        }.map { $0 }
    }
    var nonProtocolLines: [String] { state.record.withLock { $0.stray } }
    var stderrExcerpt: String {
        let last = state.record.withLock { $0.stderr.suffix(3) }
        return last.isEmpty ? "" : "; its stderr ended with: " + last.map { PluginChecker.excerpt($0) }.joined(separator: " | ")
    }

    func send(_ line: String) { pipes.channel.writeAndFlush(LineChannels.line(Array(line.utf8)), promise: nil) }

    func closeInput() { pipes.channel.close(mode: .output, promise: nil) }

    /// Sends a request and waits for the response with its id.
    /// Why a request got no answer: the plugin died, or it is silent.
    func noAnswer(to what: String) -> String {
        if let status = process.status { return "the plugin exited (\(status)) instead of answering \(what)\(stderrExcerpt)" }
        return "no answer to \(what) within 5 s"
    }

    func request(_ id: Int64, _ method: String, _ params: JSONValue?, timeout: Duration = .seconds(5)) async
        -> Result<JSONValue, ResponseError>?
    {
        var object: [String: JSONValue] = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method)]
        object["params"] = params
        send(String(decoding: JSONValue.object(object).serialized(), as: UTF8.self))
        return await response(id: .number(id), timeout: timeout)?.result
    }

    /// Waits for a response with that id (nil: an error response with `"id": null`).
    func response(id: RequestID?, timeout: Duration) async -> JSONRPCResponse? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let found: JSONRPCResponse? = state.record.withLock { state in
                guard let index = state.messages.firstIndex(where: {
                    if case .response(let response) = $0 { return response.id == id }
                    return false
                }) else { return nil }
                guard case .response(let response) = state.messages.remove(at: index) else { return nil }
                return response
            }
            if let found { return found }
            if process.status != nil { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    func kill() {
        pipes.channel.close(promise: nil)
        process.signal(SIGKILL)
        readers.forEach { $0.cancel() }
    }
}

/// Everything a probed plugin wrote, shared with the tasks that read it.
private final class Transcript: Sendable {
    let record = Mutex<(lines: [String], messages: [Message], stray: [String], stderr: [String])>(([], [], [], []))
}

extension JSONRPCResponse {
    fileprivate var failureCode: ErrorCode? {
        if case .failure(let error) = result { return error.code }
        return nil
    }
}
