import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Plain TCP sockets for the plugin link between hosts: a connect with a deadline, and a
/// listener whose accept loop runs on a thread of its own. Connected sockets have
/// `TCP_NODELAY` (one JSON line is one small write) and keepalive, so a peer that vanished
/// without a FIN is noticed by the kernel too, not only by our heartbeats.
public enum TCPSocket {
    /// Connects to `host:port`, trying each address the name resolves to, within `timeout`.
    public static func connect(host: String, port: Int, timeout: Duration) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw SystemError(operation: "resolve \(host): \(String(cString: gai_strerror(status)))", errno: 0)
        }
        defer { freeaddrinfo(list) }
        var lastError = SystemError(operation: "connect \(host):\(port)", errno: ECONNREFUSED)
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            entry = address.pointee.ai_next
            let descriptor = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else { lastError = .last("socket"); continue }
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            if Glibc.connect(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 || errno == EINPROGRESS {
                if waitConnected(descriptor, timeout: timeout, error: &lastError, target: "\(host):\(port)") {
                    configure(descriptor)
                    return descriptor
                }
            } else {
                lastError = .last("connect \(host):\(port)")
            }
            close(descriptor)
        }
        throw lastError
    }

    private static func waitConnected(_ descriptor: Int32, timeout: Duration, error: inout SystemError, target: String) -> Bool {
        var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&poller, 1, Int32(clamping: timeout.inMilliseconds))
        guard ready > 0 else {
            error = SystemError(operation: "connect \(target): no answer within \(timeout)", errno: ETIMEDOUT)
            return false
        }
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &length)
        guard failure == 0 else {
            error = SystemError(operation: "connect \(target)", errno: failure)
            return false
        }
        return true
    }

    /// Low latency for small lines; keepalive probes after 10 s of silence, every 5 s, 3 times.
    static func configure(_ descriptor: Int32) {
        var on: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_KEEPALIVE, &on, socklen_t(MemoryLayout<Int32>.size))
        for (option, value) in [(TCP_KEEPIDLE, Int32(10)), (TCP_KEEPINTVL, Int32(5)), (TCP_KEEPCNT, Int32(3))] {
            var value = value
            setsockopt(descriptor, Int32(IPPROTO_TCP), option, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Reads one line (without its newline) within `timeout`, byte by byte so that nothing
    /// after it is consumed: for the one-line `$/attach` exchange before a session starts.
    /// Blocks the calling thread; nil on timeout, end of input or a line over `maxBytes`.
    public static func readLine(_ descriptor: Int32, maxBytes: Int, timeout: Duration) -> [UInt8]? {
        let deadline = ContinuousClock.now + timeout
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while line.count <= maxBytes {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return nil }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(clamping: remaining.inMilliseconds + 1)) > 0 else { continue }
            let count = read(descriptor, &byte, 1)
            if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard count == 1 else { return nil }
            if byte == UInt8(ascii: "\n") { return line.last == UInt8(ascii: "\r") ? Array(line.dropLast()) : line }
            line.append(byte)
        }
        return nil
    }

    /// Ends both directions at once, so a thread polling the descriptor wakes up and the peer
    /// sees the connection end even if another descriptor for the socket is still open.
    public static func shutdownBoth(_ descriptor: Int32) {
        _ = Glibc.shutdown(descriptor, Int32(SHUT_RDWR))
    }
}

/// A listening TCP socket. `connections` yields each accepted socket with the peer's address;
/// the accept thread stops on `stop()`.
public final class TCPListener: Sendable {
    public struct Accepted: Sendable {
        public var descriptor: Int32
        public var peer: String
    }

    public let port: Int
    public let connections: AsyncStream<Accepted>
    private let stopFlag = StopFlag()

    /// Binds and listens on `host:port` (port 0 picks a free one; `port` then says which).
    public init(host: String, port: Int) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host.isEmpty ? nil : host, String(port), &hints, &list)
        guard status == 0, let address = list else {
            throw SystemError(operation: "resolve \(host): \(String(cString: gai_strerror(status)))", errno: 0)
        }
        defer { freeaddrinfo(list) }
        let descriptor = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError.last("socket") }
        var on: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        guard bind(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            let error = SystemError.last("bind \(host):\(port)")
            close(descriptor)
            throw error
        }
        guard listen(descriptor, 128) == 0 else {
            let error = SystemError.last("listen")
            close(descriptor)
            throw error
        }
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(descriptor, $0, &length) }
        }
        self.port = Self.describe(bound).port

        let (stream, continuation) = AsyncStream<Accepted>.makeStream()
        connections = stream
        let stopFlag = self.stopFlag
        let thread = Thread {
            defer {
                close(descriptor)
                continuation.finish()
            }
            while !stopFlag.isStopped {
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 250) > 0 else { continue }
                var peer = sockaddr_storage()
                var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let accepted = withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(descriptor, $0, &peerLength) }
                }
                guard accepted >= 0 else { continue }
                _ = fcntl(accepted, F_SETFD, FD_CLOEXEC)
                TCPSocket.configure(accepted)
                let (host, port) = Self.describe(peer)
                continuation.yield(Accepted(descriptor: accepted, peer: "\(host):\(port)"))
            }
        }
        thread.name = "itsm-accept"
        thread.start()
    }

    public func stop() { stopFlag.stop() }

    static func describe(_ storage: sockaddr_storage) -> (host: String, port: Int) {
        var storage = storage
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let length = socklen_t(storage.ss_family == sa_family_t(AF_INET6) ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), &service, socklen_t(service.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        return (String(cString: host), Int(String(cString: service)) ?? 0)
    }
}
