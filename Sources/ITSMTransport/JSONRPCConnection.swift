import Foundation
import ITSMProtocol
import ITSMSystem
import Logging
import Synchronization

/// One JSON-RPC 2.0 peer over a pair of file descriptors, one message per line.
///
/// Both sides may send requests. Outgoing requests are correlated with their responses by id
/// and bounded by a deadline: on timeout the caller gets `requestTimedOut` and the peer is sent
/// `$/cancelRequest`. Incoming requests run concurrently, each in its own task, and can be
/// cancelled by the peer. `$/ping` is answered here. Lines that are not valid messages, or
/// are over the length limit, get a structured error response and never end the connection.
///
/// ```swift
/// let connection = JSONRPCConnection(input: childStdout, output: childStdin, configuration: .init(peerName: "incident"), logger: logger)
/// async let done: Void = connection.run(onRequest: handle, onNotification: { _ in })
/// let manifest = try await connection.request("initialize", params: params)
/// ```
public final class JSONRPCConnection: Sendable {
    public struct Configuration: Sendable {
        /// Names the peer in logs and errors, e.g. a plugin name.
        public var peerName: String
        public var maxLineBytes: Int
        public var defaultRequestTimeout: Duration
        public var writeTimeout: Duration

        public init(peerName: String, maxLineBytes: Int = 1 << 20, defaultRequestTimeout: Duration = .seconds(30),
                    writeTimeout: Duration = .seconds(10)) {
            self.peerName = peerName
            self.maxLineBytes = maxLineBytes
            self.defaultRequestTimeout = defaultRequestTimeout
            self.writeTimeout = writeTimeout
        }
    }

    /// Handles an incoming request. Throw `ResponseError` to answer with that error; a
    /// `CancellationError` answers `requestCancelled`; any other error answers a generic
    /// internal error and is logged here.
    public typealias RequestHandler = @Sendable (JSONRPCRequest) async throws -> JSONValue
    public typealias NotificationHandler = @Sendable (JSONRPCNotification) async -> Void

    public let configuration: Configuration
    /// A descriptor of our own for a TCP socket, used only to shut it down in `close()`.
    private let socketControl: Int32?
    private let reader: FileDescriptorLines
    private let writer: FileDescriptorWriter
    private let logger: Logger
    private let state = Mutex(State())

    private struct Pending {
        var continuation: CheckedContinuation<Result<JSONValue, ResponseError>, Never>
        var timer: Task<Void, Never>?
    }

    private struct State {
        var nextID: Int64 = 0
        var pending: [RequestID: Pending] = [:]
        var inFlight: [RequestID: Task<Void, Never>] = [:]
        var isClosed = false
    }

    public convenience init(input: Int32, output: Int32, configuration: Configuration, logger: Logger) {
        self.init(input: input, output: output, socketControl: nil, configuration: configuration, logger: logger)
    }

    /// A connection over a connected TCP socket; it takes ownership of `socket`.
    public convenience init(socket: Int32, configuration: Configuration, logger: Logger) {
        self.init(input: socket, output: dup(socket), socketControl: dup(socket), configuration: configuration, logger: logger)
    }

    private init(input: Int32, output: Int32, socketControl: Int32?, configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.socketControl = socketControl
        self.reader = FileDescriptorLines(fileDescriptor: input, maxLineBytes: configuration.maxLineBytes,
                                          name: "itsm-rpc-\(configuration.peerName)")
        self.writer = FileDescriptorWriter(fileDescriptor: output, timeout: configuration.writeTimeout)
        var logger = logger
        logger[metadataKey: "itsm.peer"] = "\(configuration.peerName)"
        self.logger = logger
    }

    /// Requests sent and not yet answered; the coordinator routes to the least loaded instance.
    public var outstandingRequests: Int { state.withLock { $0.pending.count } }

    /// Reads and dispatches messages until the input ends or `close()` is called. Then fails
    /// every request still waiting for an answer with a retryable `unavailable` error and
    /// cancels the incoming requests still running.
    public func run(onRequest: @escaping RequestHandler, onNotification: @escaping NotificationHandler) async {
        do {
            for try await frame in reader.frames {
                switch frame {
                case .oversized(let byteCount):
                    logger.warning("dropped an over-long line", metadata: ["itsm.line.bytes": "\(byteCount)"])
                    respond(to: nil, with: .failure(ResponseError(
                        code: .messageTooLarge, kind: "protocol.message_too_large",
                        message: "a line of \(byteCount) bytes exceeds the limit of \(configuration.maxLineBytes)")))
                case .line(let bytes):
                    if bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
                    await dispatch(bytes, onRequest: onRequest, onNotification: onNotification)
                }
            }
        } catch {
            logger.warning("reading from peer failed", metadata: ["itsm.error": "\(error)"])
        }
        shutDown(reason: "the connection to \(configuration.peerName) closed")
    }

    /// Sends a request and waits for its response, at most `timeout` (default: the
    /// configuration's). All failures are `ResponseError`s: the peer's own, or `requestTimedOut`,
    /// `unavailable` (connection closed), `requestCancelled` (the calling task was cancelled).
    public func request(_ method: String, params: JSONValue? = nil, meta: RequestMeta? = nil,
                        timeout: Duration? = nil) async throws(ResponseError) -> JSONValue {
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
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<JSONValue, ResponseError>, Never>) in
                let registered = state.withLock { state -> Bool in
                    guard !state.isClosed else { return false }
                    state.pending[id] = Pending(continuation: continuation, timer: nil)
                    return true
                }
                guard registered else {
                    continuation.resume(returning: .failure(.unavailable("\(peerName) is not connected")))
                    return
                }
                writer.send(line) { [weak self] error in
                    guard let error else { return }
                    self?.complete(id, with: .failure(.unavailable("could not send to \(peerName): \(error)")))
                }
                let timer = Task { [weak self] in
                    guard (try? await Task.sleep(for: timeout)) != nil, let self else { return }
                    let timedOut = ResponseError(code: .requestTimedOut, kind: "peer.timeout",
                                                 message: "\(peerName) did not answer \(method) within \(timeout)", retryable: true)
                    if self.complete(id, with: .failure(timedOut)) { self.sendCancel(id) }
                }
                state.withLock { state in
                    if state.pending[id] != nil { state.pending[id]?.timer = timer } else { timer.cancel() }
                }
            }
        } onCancel: {
            let cancelled = ResponseError(code: .requestCancelled, kind: "request.cancelled", message: "\(method) was cancelled")
            if complete(id, with: .failure(cancelled)) { sendCancel(id) }
        }
        return try result.get()
    }

    /// Sends a notification and waits until it is written.
    public func notify(_ method: String, params: JSONValue? = nil) async throws(ResponseError) {
        do {
            try await writer.write(Message.notification(JSONRPCNotification(method: method, params: params)).encodedLine())
        } catch {
            throw ResponseError.unavailable("could not send \(method) to \(configuration.peerName): \(error)")
        }
    }

    /// Stops reading; `run` returns and pending requests fail. Output already queued is sent,
    /// except on a socket, which is shut down at once (the peer may be gone for good).
    public func close() {
        if let socketControl { TCPSocket.shutdownBoth(socketControl) }
        reader.stop()
        shutDown(reason: "the connection to \(configuration.peerName) was closed")
    }

    // MARK: - Incoming messages

    private func dispatch(_ bytes: [UInt8], onRequest: @escaping RequestHandler,
                          onNotification: @escaping NotificationHandler) async {
        let message: Message
        do {
            message = try Message.decode(bytes)
        } catch {
            logger.warning("received an invalid line", metadata: ["itsm.error": "\(error.error.message)"])
            respond(to: error.id, with: .failure(error.error))
            return
        }
        switch message {
        case .response(let response):
            guard let id = response.id, complete(id, with: response.result) else {
                logger.debug("ignored a response nobody waits for", metadata: ["itsm.request.id": "\(response.id?.description ?? "null")"])
                return
            }
        case .notification(let notification) where notification.method == ProtocolMethod.cancelRequest:
            guard let params = try? notification.params?.decode(CancelRequestParams.self) else { return }
            state.withLock { $0.inFlight[params.id] }?.cancel()
        case .notification(let notification):
            await onNotification(notification)
        case .request(let request) where request.method == ProtocolMethod.ping:
            respond(to: request.id, with: .success(.object([:])))
        case .request(let request):
            startHandling(request, onRequest: onRequest)
        }
    }

    private func startHandling(_ request: JSONRPCRequest, onRequest: @escaping RequestHandler) {
        let logger = self.logger
        state.withLock { state in
            guard !state.isClosed else { return }
            // Created under the lock, so the task's own removal always comes after this insert.
            state.inFlight[request.id] = Task { [weak self] in
                let result: Result<JSONValue, ResponseError>
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
                self.respond(to: request.id, with: result)
            }
        }
    }

    // MARK: - Outgoing plumbing

    private func respond(to id: RequestID?, with result: Result<JSONValue, ResponseError>) {
        var response = JSONRPCResponse(id: id, result: result)
        var line: Data
        do {
            line = try Message.response(response).encodedLine()
        } catch {
            response.result = .failure(.internalError("the result could not be encoded"))
            line = (try? Message.response(response).encodedLine()) ?? Data()
        }
        if line.count > configuration.maxLineBytes + 1 {
            response.result = .failure(ResponseError(
                code: .messageTooLarge, kind: "protocol.message_too_large",
                message: "the result is \(line.count) bytes, over the limit of \(configuration.maxLineBytes); ask for less (e.g. a smaller page)"))
            line = (try? Message.response(response).encodedLine()) ?? Data()
        }
        writer.send(line)
    }

    private func sendCancel(_ id: RequestID) {
        guard let params = try? JSONValue(encoding: CancelRequestParams(id: id)),
              let line = try? Message.notification(JSONRPCNotification(method: ProtocolMethod.cancelRequest, params: params)).encodedLine()
        else { return }
        writer.send(line)
    }

    /// Resumes the request waiting for `id`; false if none waits (answered, timed out, unknown).
    @discardableResult
    private func complete(_ id: RequestID, with result: Result<JSONValue, ResponseError>) -> Bool {
        guard let pending = state.withLock({ $0.pending.removeValue(forKey: id) }) else { return false }
        pending.timer?.cancel()
        pending.continuation.resume(returning: result)
        return true
    }

    private func shutDown(reason: String) {
        let (pending, inFlight) = state.withLock { state in
            state.isClosed = true
            defer {
                state.pending.removeAll()
                state.inFlight.removeAll()
            }
            return (state.pending, state.inFlight)
        }
        for (_, request) in pending {
            request.timer?.cancel()
            request.continuation.resume(returning: .failure(.unavailable(reason, kind: ResponseError.disconnectedKind)))
        }
        for (_, task) in inFlight { task.cancel() }
    }

    /// Closes the output once everything queued is written. Call after `run` returned.
    public func closeOutput() {
        writer.close()
    }

    deinit {
        if let socketControl { Glibc.close(socketControl) }
    }
}

extension ResponseError {
    /// The `kind` of a request that failed because the connection ended before an answer: the
    /// peer may or may not have acted on it, so only an idempotent request can be sent again blindly.
    public static let disconnectedKind = "peer.disconnected"
}
