import Foundation
import ITSMSystem
import Synchronization

/// Reads lines from a file descriptor (a pipe or a socket) on a thread of its own.
///
/// The thread waits with `poll` so it can notice `stop()` without closing a descriptor
/// another thread is reading. The stream ends at end of input and the descriptor is closed.
public final class FileDescriptorLines: Sendable {
    public let frames: AsyncThrowingStream<LineFramer.Frame, any Error>
    private let stopFlag = StopFlag()

    public init(fileDescriptor: Int32, maxLineBytes: Int, name: String = "itsm-reader") {
        let (stream, continuation) = AsyncThrowingStream<LineFramer.Frame, any Error>.makeStream()
        frames = stream
        let stopFlag = self.stopFlag
        continuation.onTermination = { _ in stopFlag.stop() }
        let thread = Thread {
            defer { close(fileDescriptor) }
            var framer = LineFramer(maxLineBytes: maxLineBytes)
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while !stopFlag.isStopped {
                var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
                let ready = poll(&descriptor, 1, 250)
                if ready == 0 || (ready < 0 && errno == EINTR) { continue }
                if ready < 0 {
                    continuation.finish(throwing: SystemError.last("poll"))
                    return
                }
                let count = read(fileDescriptor, &buffer, buffer.count)
                if count < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    continuation.finish(throwing: SystemError.last("read"))
                    return
                }
                if count == 0 { break }
                for frame in framer.append(buffer[..<count]) { continuation.yield(frame) }
            }
            for frame in framer.finish() { continuation.yield(frame) }
            continuation.finish()
        }
        thread.name = name
        thread.start()
    }

    /// Stops reading; the stream ends soon after.
    public func stop() { stopFlag.stop() }
}

/// Writes whole lines to a file descriptor, in order, each within a deadline.
///
/// Writes run on a serial queue. On a pipe or socket the descriptor is made non-blocking and
/// a write that cannot finish before the deadline (a peer that stopped reading) fails
/// instead of hanging forever.
public final class FileDescriptorWriter: Sendable {
    public enum WriteError: Error, Sendable {
        case timedOut
        case closed
        case failed(SystemError)
    }

    private let fileDescriptor: Int32
    private let queue = DispatchQueue(label: "itsm.writer")
    private let timeout: Duration
    private let isClosed = Atomic<Bool>(false)

    /// Writing to a pipe whose reader died must fail with EPIPE, not kill this process.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    public init(fileDescriptor: Int32, timeout: Duration = .seconds(10)) {
        _ = Self.ignoreSIGPIPE
        self.fileDescriptor = fileDescriptor
        self.timeout = timeout
        var info = stat()
        if fstat(fileDescriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFIFO || (info.st_mode & S_IFMT) == S_IFSOCK {
            _ = fcntl(fileDescriptor, F_SETFL, fcntl(fileDescriptor, F_GETFL) | O_NONBLOCK)
        }
    }

    /// Queues `data`; `completion` runs on the writer's queue once written or failed. Calls
    /// are written in the order they were made.
    public func send(_ data: Data, completion: (@Sendable (WriteError?) -> Void)? = nil) {
        queue.async {
            let error = self.writeAll(data)
            completion?(error)
        }
    }

    /// Writes `data`, waiting until it is written.
    public func write(_ data: Data) async throws(WriteError) {
        let error: WriteError? = await withCheckedContinuation { continuation in
            send(data) { continuation.resume(returning: $0) }
        }
        if let error { throw error }
    }

    /// Closes the descriptor after everything already queued.
    public func close() {
        queue.async {
            guard !self.isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
            Glibc.close(self.fileDescriptor)
        }
    }

    private func writeAll(_ data: Data) -> WriteError? {
        if isClosed.load(ordering: .acquiring) { return .closed }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        return data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> WriteError? in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written >= 0 {
                    offset += written
                    continue
                }
                switch errno {
                case EINTR:
                    continue
                case EAGAIN:
                    let remaining = deadline - ContinuousClock.now
                    guard remaining > .zero else { return .timedOut }
                    let milliseconds = Int32(clamping: remaining.inMilliseconds + 1)
                    var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&descriptor, 1, milliseconds)
                case EPIPE, EBADF, ECONNRESET:
                    return .closed
                default:
                    return .failed(SystemError.last("write"))
                }
            }
            return nil
        }
    }
}
