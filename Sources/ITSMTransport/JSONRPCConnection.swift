import Foundation
import ITSMProtocol
import Logging
import NIOCore
import Synchronization

/// One JSON-RPC 2.0 peer over a `LineChannel` (pipes or TCP, with or without TLS), one
/// message per line.
///
/// Both sides may send requests. Outgoing requests are correlated with their responses by id
/// and bounded by a deadline: on timeout the caller gets `requestTimedOut` and the peer is sent
/// `$/cancelRequest`. Incoming requests run concurrently, each in its own task, at most
/// `maxConcurrentRequests` at once (more are refused with the retryable `peer.busy`), and can be
/// cancelled by the peer; once the peer announces its own limit (`setPeerConcurrencyLimit`), our
/// requests beyond it wait for a slot instead of being sent. `$/ping` is answered here. Lines
/// that are not valid messages, or are over the length limit, get a structured error response
/// and never end the connection.
///
/// ```swift
/// let channel = try await LineChannels.pipes(input: childStdout, output: childStdin, maxLineBytes: 1 << 20, writeTimeout: .seconds(10))
/// let connection = JSONRPCConnection(channel: channel, configuration: .init(peerName: "incident"), logger: logger)
/// async let done: Void = connection.run(onRequest: handle, onNotification: { _ in })
/// let manifest = try await connection.request("initialize", params: params)
/// ```
public final class JSONRPCConnection: Sendable {
    public struct Configuration: Sendable {
        /// Names the peer in logs and errors, e.g. a plugin name.
        public var peerName: String
        public var maxLineBytes: Int
        public var defaultRequestTimeout: Duration
        /// Incoming requests handled at once; announced to the peer in the handshake.
        public var maxConcurrentRequests: Int

        public init(peerName: String, maxLineBytes: Int = 1 << 20, defaultRequestTimeout: Duration = .seconds(30),
                    maxConcurrentRequests: Int = JSONRPCConnection.defaultConcurrencyLimit) {
            self.peerName = peerName
            self.maxLineBytes = maxLineBytes
            self.defaultRequestTimeout = defaultRequestTimeout
            self.maxConcurrentRequests = maxConcurrentRequests
        }
    }

    /// What a peer that announces no limit is assumed to take, and what we take by default.
    public static let defaultConcurrencyLimit = 64

    /// Handles an incoming request. Throw `ResponseError` to answer with that error; a
    /// `CancellationError` answers `requestCancelled`; any other error answers a generic
    /// internal error and is logged here.
    public typealias RequestHandler = @Sendable (JSONRPCRequest) async throws -> JSONValue
    /// A handler whose results are JSON text already (`RawJSON(encoding:)`), put on the line as they are.
    public typealias RawRequestHandler = @Sendable (JSONRPCRequest) async throws -> RawJSON
    public typealias NotificationHandler = @Sendable (JSONRPCNotification) async -> Void

    public let configuration: Configuration
    private let channel: LineChannel
    private let logger: Logger
    private let state = Mutex(State())
    private let slots = RequestSlots()

    /// A request sent and not answered: its caller's continuation once its line is handed over
    /// and it waits, or the answer if that came first (a fast peer can answer before the write
    /// call returns).
    private struct Pending {
        var continuation: CheckedContinuation<Result<RawJSON, ResponseError>, Never>?
        var result: Result<RawJSON, ResponseError>?
        /// Given up on (deadline, cancellation) while its caller was still handing the line over:
        /// the caller sends the peer's cancel once the line is out, so the cancel cannot overtake it.
        var owesCancel = false
        var deadline: ContinuousClock.Instant
        var method: String
        var timeout: Duration
    }

    private enum Output {
        /// `run` has not started: writers wait for it.
        case waiting([CheckedContinuation<NIOAsyncChannelOutboundWriter<ByteBuffer>?, Never>])
        case open(NIOAsyncChannelOutboundWriter<ByteBuffer>)
        case closed
    }

    private struct State {
        var nextID: Int64 = 0
        var pending: [RequestID: Pending] = [:]
        var inFlight: [RequestID: Task<Void, Never>] = [:]
        var isClosed = false
        var output = Output.waiting([])
        /// The deadline sweep runs only while requests wait for an answer: an idle connection
        /// costs no timer wake-ups.
        var sweep: RepeatedTask?
        var sweepArmed = false
    }

    /// A connection over `channel`, which it closes when `run` returns.
    public init(channel: LineChannel, configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.channel = channel
        var logger = logger
        logger[metadataKey: "itsm.peer"] = "\(configuration.peerName)"
        self.logger = logger
    }

    /// A connection over a pair of pipe descriptors, which it owns from now on.
    public static func overPipes(input: Int32, output: Int32, configuration: Configuration, logger: Logger,
                                 writeTimeout: Duration = .seconds(10)) async throws -> JSONRPCConnection {
        let channel = try await LineChannels.pipes(input: input, output: output, maxLineBytes: configuration.maxLineBytes,
                                                   writeTimeout: writeTimeout)
        return JSONRPCConnection(channel: channel, configuration: configuration, logger: logger)
    }

    /// Limits our requests in flight to what the peer said it takes (its `limits.maxConcurrentRequests`).
    public func setPeerConcurrencyLimit(_ limit: Int) {
        slots.setLimit(max(1, limit))
    }

    /// Requests sent and not yet answered; the coordinator routes to the least loaded instance.
    public var outstandingRequests: Int { state.withLock { $0.pending.count } }

    /// Reads and dispatches messages until the input ends or `close()` is called. Then fails
    /// every request still waiting for an answer with a retryable `unavailable` error and
    /// cancels the incoming requests still running. The channel is closed when it returns.
    public func run(onRequest: @escaping RequestHandler, onNotification: @escaping NotificationHandler) async {
        await run(onRawRequest: { RawJSON(try await onRequest($0)) }, onNotification: onNotification)
    }

    /// As `run`, with a handler whose results are JSON text already.
    public func run(onRawRequest onRequest: @escaping RawRequestHandler, onNotification: @escaping NotificationHandler) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(channel.channel.eventLoop)) {
            await read(onRequest: onRequest, onNotification: onNotification)
        }
        shutDown(reason: "the connection to \(configuration.peerName) closed")
    }

    private func read(onRequest: @escaping RawRequestHandler, onNotification: @escaping NotificationHandler) async {
        do {
            try await channel.executeThenClose { inbound, outbound in
                // Closed before it ran (`close()`): the output is already `.closed`.
                let waiting = state.withLock { state -> [CheckedContinuation<NIOAsyncChannelOutboundWriter<ByteBuffer>?, Never>] in
                    guard case .waiting(let waiting) = state.output else { return [] }
                    state.output = .open(outbound)
                    return waiting
                }
                for writer in waiting { writer.resume(returning: outbound) }
                for try await frame in inbound {
                    switch frame {
                    case .oversized(let byteCount):
                        logger.warning("dropped an over-long line", metadata: ["itsm.line.bytes": "\(byteCount)"])
                        reply(to: nil, with: .failure(ResponseError(
                            code: .messageTooLarge, kind: "protocol.message_too_large",
                            message: "a line of \(byteCount) bytes exceeds the limit of \(configuration.maxLineBytes)")))
                    case .line(let bytes):
                        if bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
                        await dispatch(bytes, onRequest: onRequest, onNotification: onNotification)
                    }
                }
            }
        } catch {
            logger.debug("reading from peer ended", metadata: ["itsm.error": "\(error)"])
        }
    }

    /// Runs `body` with this connection's event loop as its task executor: its requests are then
    /// written, and their answers resumed, on the thread that reads them, without waking
    /// another. For short work that calls this connection in a loop.
    public func withAffinity<R: Sendable>(_ body: () async throws -> R) async rethrows -> R {
        try await withTaskExecutorPreference(EventLoopTaskExecutor(channel.channel.eventLoop), operation: body)
    }

    /// Sends a request and waits for its response, at most `timeout` (default: the
    /// configuration's). All failures are `ResponseError`s: the peer's own, or `requestTimedOut`,
    /// `unavailable` (connection closed), `requestCancelled` (the calling task was cancelled).
    public func request(_ method: String, params: JSONValue? = nil, meta: RequestMeta? = nil,
                        timeout: Duration? = nil) async throws(ResponseError) -> JSONValue {
        try await requestRaw(method, params: params, meta: meta, timeout: timeout).tree
    }

    /// As `request`, the result kept as the bytes it came in (checked, not built into a tree):
    /// for a caller that passes it on.
    public func requestRaw(_ method: String, params: JSONValue? = nil, meta: RequestMeta? = nil,
                           timeout: Duration? = nil) async throws(ResponseError) -> RawJSON {
        let id = state.withLock { state -> RequestID in
            state.nextID += 1
            return .number(state.nextID)
        }
        let line: Data
        do {
            line = try Message.request(JSONRPCRequest(id: id, method: method, params: params, meta: meta)).encodedLine()
        } catch {
            throw ResponseError.invalidParams("params of \(method) cannot be encoded: \(error)")
        }
        guard line.count <= configuration.maxLineBytes + 1 else {
            throw ResponseError(code: .messageTooLarge, kind: "protocol.message_too_large",
                                message: "the request is \(line.count) bytes, over the limit of \(configuration.maxLineBytes)")
        }
        let timeout = timeout ?? configuration.defaultRequestTimeout
        let peerName = configuration.peerName
        let deadline = ContinuousClock.now + timeout
        // A ping is answered by the peer's reading loop, not by a handler: it takes no slot, so
        // a busy peer still shows it is alive.
        let takesSlot = method != ProtocolMethod.ping
        if takesSlot { try await slots.acquire(until: deadline, method: method, peerName: peerName) }
        defer { if takesSlot { slots.release() } }
        let result: Result<RawJSON, ResponseError> = await withTaskCancellationHandler {
            // The deadline is enforced by `expireOverdueRequests`, one timer per connection:
            // a timer per request cost more than the round trip it guarded.
            let (registered, arm) = state.withLock { state -> (Bool, Bool) in
                guard !state.isClosed else { return (false, false) }
                state.pending[id] = Pending(deadline: deadline, method: method, timeout: timeout)
                defer { state.sweepArmed = true }
                return (true, !state.sweepArmed)
            }
            guard registered else { return .failure(.unavailable("\(peerName) is not connected")) }
            if arm { startSweep() }
            // Cancelled before it was registered (`onCancel` found nothing to cancel): not sent.
            if Task.isCancelled {
                state.withLock { _ = $0.pending.removeValue(forKey: id) }
                return .failure(ResponseError(code: .requestCancelled, kind: "request.cancelled", message: "\(method) was cancelled"))
            }
            // Given up on before it was written (a starved machine): not sent at all.
            let givenUp = state.withLock { state -> Result<RawJSON, ResponseError>? in
                guard let result = state.pending[id]?.result else { return nil }
                state.pending[id] = nil
                return result
            }
            if let givenUp { return givenUp }
            if let failure = await write(LineChannels.line(line)) {
                complete(id, with: .failure(.unavailable("could not send to \(peerName): \(failure)")))
            }
            return await withCheckedContinuation { (continuation: CheckedContinuation<Result<RawJSON, ResponseError>, Never>) in
                let (early, owesCancel) = state.withLock { state -> (Result<RawJSON, ResponseError>?, Bool) in
                    guard let pending = state.pending[id] else { return (.failure(.unavailable("\(peerName) is not connected")), false) }
                    if let result = pending.result {
                        state.pending[id] = nil
                        return (result, pending.owesCancel)
                    }
                    state.pending[id]?.continuation = continuation
                    return (nil, false)
                }
                if owesCancel { sendCancel(id) }
                if let early { continuation.resume(returning: early) }
            }
        } onCancel: {
            abandon(id, with: ResponseError(code: .requestCancelled, kind: "request.cancelled", message: "\(method) was cancelled"))
        }
        return try result.get()
    }

    /// Sends a notification and waits until it is handed to the channel.
    public func notify(_ method: String, params: JSONValue? = nil) async throws(ResponseError) {
        let line: Data
        do {
            line = try Message.notification(JSONRPCNotification(method: method, params: params)).encodedLine()
        } catch {
            throw ResponseError.invalidParams("params of \(method) cannot be encoded: \(error)")
        }
        if let failure = await write(LineChannels.line(line)) {
            throw ResponseError.unavailable("could not send \(method) to \(configuration.peerName): \(failure)")
        }
    }

    /// Stops reading and closes the channel at once; `run` returns and pending requests fail.
    public func close() {
        channel.channel.close(promise: nil)
        shutDown(reason: "the connection to \(configuration.peerName) was closed")
    }

    /// Closes our output once everything queued is written (a child sees end of input); reading goes on.
    public func closeOutput() {
        let output = state.withLock { state -> NIOAsyncChannelOutboundWriter<ByteBuffer>? in
            if case .open(let writer) = state.output { return writer }
            return nil
        }
        if let output { output.finish() } else { channel.channel.close(mode: .output, promise: nil) }
    }

    // MARK: - Incoming messages

    private func dispatch(_ bytes: [UInt8], onRequest: @escaping RawRequestHandler,
                          onNotification: @escaping NotificationHandler) async {
        // Most lines are answers with a result: that result is checked and kept as it came,
        // for whoever passes it on; every other line is decoded in full.
        if let (id, result) = RawJSON.response(line: bytes) {
            if !complete(id, with: .success(result)) {
                logger.debug("ignored a response nobody waits for", metadata: ["itsm.request.id": "\(id)"])
            }
            return
        }
        let message: Message
        do {
            message = try Message.decode(bytes)
        } catch {
            logger.warning("received an invalid line", metadata: ["itsm.error": "\(error.error.message)"])
            reply(to: error.id, with: .failure(error.error))
            return
        }
        switch message {
        case .response(let response):
            guard let id = response.id, complete(id, with: response.result.map(RawJSON.init)) else {
                logger.debug("ignored a response nobody waits for", metadata: ["itsm.request.id": "\(response.id?.description ?? "null")"])
                return
            }
        case .notification(let notification) where notification.method == ProtocolMethod.cancelRequest:
            guard let params = try? notification.params?.decode(CancelRequestParams.self) else { return }
            state.withLock { $0.inFlight[params.id] }?.cancel()
        case .notification(let notification):
            await onNotification(notification)
        case .request(let request) where request.method == ProtocolMethod.ping:
            reply(to: request.id, with: .success(.object([:])))
        case .request(let request):
            startHandling(request, onRequest: onRequest)
        }
    }

    private func startHandling(_ request: JSONRPCRequest, onRequest: @escaping RawRequestHandler) {
        let logger = self.logger
        let limit = configuration.maxConcurrentRequests
        let accepted = state.withLock { state -> Bool in
            guard !state.isClosed else { return true }
            guard state.inFlight.count < limit else { return false }
            // Created under the lock, so the task's own removal always comes after this insert.
            state.inFlight[request.id] = Task { [weak self] in
                let result: Result<RawJSON, ResponseError>
                do {
                    result = .success(try await onRequest(request))
                } catch let error as ResponseError {
                    result = .failure(error)
                } catch is CancellationError {
                    result = .failure(ResponseError(code: .requestCancelled, kind: "request.cancelled",
                                                    message: "\(request.method) was cancelled"))
                } catch {
                    logger.error("request handler failed", metadata: [
                        "itsm.method": "\(request.method)", "itsm.error": "\(String(reflecting: error))",
                    ])
                    result = .failure(.internalError("\(request.method) failed unexpectedly; see the logs"))
                }
                guard let self else { return }
                self.state.withLock { _ = $0.inFlight.removeValue(forKey: request.id) }
                _ = await self.write(LineChannels.line(self.encodedResponse(id: request.id, result: result)))
            }
            return true
        }
        if !accepted {
            logger.warning("refused a request over the concurrency limit", metadata: [
                "itsm.method": "\(request.method)", "itsm.limit": "\(limit)",
            ])
            reply(to: request.id, with: .failure(ResponseError(
                code: .unavailable, kind: "peer.busy",
                message: "\(limit) requests are already in flight on this connection, the most it takes at once; retry when one has been answered",
                retryable: true)))
        }
    }

    /// How late a request's deadline may be noticed.
    static let deadlineResolution = TimeAmount.milliseconds(50)

    /// Starts the deadline sweep, one timer for all of this connection's requests.
    private func startSweep() {
        let sweep = channel.channel.eventLoop.scheduleRepeatedTask(
            initialDelay: Self.deadlineResolution, delay: Self.deadlineResolution
        ) { [weak self] sweep in self?.expireOverdueRequests(sweep) }
        let closed = state.withLock { state -> Bool in
            state.sweep = sweep
            return state.isClosed
        }
        if closed { sweep.cancel() }
    }

    /// Fails the requests whose deadline passed with the retryable `requestTimedOut`, and tells
    /// the peer to stop working on them. Stops once no request waits for an answer.
    private func expireOverdueRequests(_ sweep: RepeatedTask) {
        let now = ContinuousClock.now
        let overdue = state.withLock { state -> [(RequestID, Pending)] in
            state.pending.filter { $0.value.deadline <= now && $0.value.result == nil }.map { ($0.key, $0.value) }
        }
        for (id, pending) in overdue {
            abandon(id, with: ResponseError(code: .requestTimedOut, kind: "peer.timeout",
                                            message: "\(configuration.peerName) did not answer \(pending.method) within \(pending.timeout)",
                                            retryable: true))
        }
        let idle = state.withLock { state -> Bool in
            // Answers kept for a caller still writing need no deadline any more.
            guard state.pending.values.allSatisfy({ $0.result != nil }) else { return false }
            state.sweepArmed = false
            if state.sweep === sweep { state.sweep = nil }
            return true
        }
        if idle { sweep.cancel() }
    }

    /// Fails a request still waiting (its deadline passed, its caller was cancelled) and tells the
    /// peer to stop working on it. A peer ignores a cancel for an id it has not read yet and then
    /// runs the request to its end, so the cancel goes out only after the request's line: now if
    /// the caller waits (its line was handed over), else by the caller once its write returns.
    private func abandon(_ id: RequestID, with error: ResponseError) {
        let waiting = state.withLock { state -> CheckedContinuation<Result<RawJSON, ResponseError>, Never>? in
            guard let pending = state.pending[id], pending.result == nil else { return nil }
            guard let continuation = pending.continuation else {
                state.pending[id]?.result = .failure(error)
                state.pending[id]?.owesCancel = true
                return nil
            }
            state.pending[id] = nil
            return continuation
        }
        guard let continuation = waiting else { return }
        sendCancel(id)
        continuation.resume(returning: .failure(error))
    }

    // MARK: - Outgoing plumbing

    /// The writer, once `run` has started; nil once the connection is closed.
    private func output() async -> NIOAsyncChannelOutboundWriter<ByteBuffer>? {
        let ready = state.withLock { state -> NIOAsyncChannelOutboundWriter<ByteBuffer>?? in
            switch state.output {
            case .open(let writer): return .some(writer)
            case .closed: return .some(nil)
            case .waiting: return nil
            }
        }
        if let ready { return ready }
        return await withCheckedContinuation { continuation in
            let immediate = state.withLock { state -> NIOAsyncChannelOutboundWriter<ByteBuffer>?? in
                switch state.output {
                case .open(let writer): return .some(writer)
                case .closed: return .some(nil)
                case .waiting(var waiting):
                    waiting.append(continuation)
                    state.output = .waiting(waiting)
                    return nil
                }
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    /// Writes a line, waiting while the peer is not reading; the failure, if any.
    private func write(_ buffer: ByteBuffer) async -> (any Error)? {
        guard let writer = await output() else { return ChannelError.ioOnClosedChannel }
        do {
            try await writer.write(buffer)
            return nil
        } catch {
            return error
        }
    }

    /// Sends an answer from the reading loop without waiting: the loop must keep reading (the
    /// peer may be waiting for its own output to drain before it reads ours).
    private func reply(to id: RequestID?, with result: Result<JSONValue, ResponseError>) {
        channel.channel.writeAndFlush(LineChannels.line(encodedResponse(id: id, result: result.map(RawJSON.init))), promise: nil)
    }

    private func encodedResponse(id: RequestID?, result: Result<RawJSON, ResponseError>) -> Data {
        var response = JSONRPCResponse(id: id, result: .success(.null))
        var line: Data
        switch result {
        case .success(let raw):
            // The result's text goes in as it is; the envelope around it as `encodedLine` writes it.
            line = Message.responseLine(id: id, result: raw)
        case .failure(let error):
            response.result = .failure(error)
            line = (try? Message.response(response).encodedLine()) ?? Data()
        }
        if line.count > configuration.maxLineBytes + 1 {
            response.result = .failure(ResponseError(
                code: .messageTooLarge, kind: "protocol.message_too_large",
                message: "the result is \(line.count) bytes, over the limit of \(configuration.maxLineBytes); ask for less (e.g. a smaller page)"))
            line = (try? Message.response(response).encodedLine()) ?? Data()
        }
        return line
    }

    /// Sends `$/cancelRequest` for a request whose line was handed to the writer. The writer
    /// passes a line to the event loop as a queued task when called from another thread, so the
    /// cancel is queued behind it too, even from the loop itself (the deadline sweep).
    private func sendCancel(_ id: RequestID) {
        guard let params = try? JSONValue(encoding: CancelRequestParams(id: id)),
              let line = try? Message.notification(JSONRPCNotification(method: ProtocolMethod.cancelRequest, params: params)).encodedLine()
        else { return }
        let channel = channel.channel
        channel.eventLoop.execute { channel.writeAndFlush(LineChannels.line(line), promise: nil) }
    }

    /// Answers the request waiting for `id` (or keeps the answer until it waits); false if
    /// none is registered (answered, timed out, unknown).
    @discardableResult
    private func complete(_ id: RequestID, with result: Result<RawJSON, ResponseError>) -> Bool {
        let continuation = state.withLock { state -> CheckedContinuation<Result<RawJSON, ResponseError>, Never>?? in
            guard let pending = state.pending[id], pending.result == nil else { return nil }
            guard let continuation = pending.continuation else {
                state.pending[id]?.result = result
                return .some(nil)
            }
            state.pending[id] = nil
            return .some(continuation)
        }
        guard let continuation else { return false }
        continuation?.resume(returning: result)
        return true
    }

    private func shutDown(reason: String) {
        let (pending, inFlight, writers, sweep) = state.withLock { state in
            state.isClosed = true
            defer { state.sweep = nil }
            var writers: [CheckedContinuation<NIOAsyncChannelOutboundWriter<ByteBuffer>?, Never>] = []
            if case .waiting(let waiting) = state.output { writers = waiting }
            state.output = .closed
            defer {
                state.pending.removeAll()
                state.inFlight.removeAll()
            }
            return (state.pending, state.inFlight, writers, state.sweep)
        }
        sweep?.cancel()
        for writer in writers { writer.resume(returning: nil) }
        for (_, request) in pending {
            request.continuation?.resume(returning: .failure(.unavailable(reason, kind: ResponseError.disconnectedKind)))
        }
        for (_, task) in inFlight { task.cancel() }
    }
}

extension ResponseError {
    /// The `kind` of a request that failed because the connection ended before an answer: the
    /// peer may or may not have acted on it, so only an idempotent request can be sent again blindly.
    public static let disconnectedKind = "peer.disconnected"
}
