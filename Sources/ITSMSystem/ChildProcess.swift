import CITSMSystem
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended.
public enum TerminationStatus: Sendable, Hashable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var isSuccess: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): return "exit code \(code)"
        case .signaled(let signal): return "signal \(signal)"
        }
    }
}

/// A child process started with `posix_spawn`, with optional pipes to its standard streams.
///
/// We own the whole lifecycle: the pid, signals, and reaping. One thread for all children
/// (`ChildReaper`) reaps each as it exits, so there are no zombies, no thread per child, and no
/// cooperative-pool thread blocks. The child starts with default signal dispositions, even
/// though this process ignores SIGPIPE.
///
/// ```swift
/// let child = try ChildProcess.spawn(.init(executable: "/usr/bin/env", arguments: ["true"]))
/// let status = await child.wait()
/// ```
public final class ChildProcess: Sendable {
    public enum Stream: Sendable, Hashable {
        case inherit
        case null
        case pipe
        /// Appends to a file, creating it with mode 0600; for standard input, reads the file.
        case file(String)
    }

    public struct Configuration: Sendable {
        /// A path, or a bare name looked up in `PATH`.
        public var executable: String
        public var arguments: [String]
        /// The whole environment; `nil` inherits ours.
        public var environment: [String: String]?
        public var workingDirectory: String?
        public var standardInput: Stream
        public var standardOutput: Stream
        public var standardError: Stream
        /// Puts the child in a process group of its own, so signals to our group do not reach it.
        public var newProcessGroup: Bool

        public init(
            executable: String, arguments: [String] = [], environment: [String: String]? = nil,
            workingDirectory: String? = nil, standardInput: Stream = .null, standardOutput: Stream = .inherit,
            standardError: Stream = .inherit, newProcessGroup: Bool = false
        ) {
            self.executable = executable
            self.arguments = arguments
            self.environment = environment
            self.workingDirectory = workingDirectory
            self.standardInput = standardInput
            self.standardOutput = standardOutput
            self.standardError = standardError
            self.newProcessGroup = newProcessGroup
        }
    }

    public let pid: pid_t
    /// Our write end of the child's stdin, when piped. The caller owns and closes it.
    public let standardInput: Int32?
    /// Our read end of the child's stdout, when piped. The caller owns and closes it.
    public let standardOutput: Int32?
    /// Our read end of the child's stderr, when piped. The caller owns and closes it.
    public let standardError: Int32?
    private let termination: TerminationLatch

    private init(pid: pid_t, standardInput: Int32?, standardOutput: Int32?, standardError: Int32?) {
        self.pid = pid
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.termination = TerminationLatch()
        ChildReaper.shared.watch(pid, latch: termination)
    }

    /// Starts a child. Throws `SystemError` when the executable cannot be started.
    public static func spawn(_ configuration: Configuration) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        // Default dispositions and an empty mask in the child: SIG_IGN would survive exec.
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var flags = Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        if configuration.newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        var parentEnds: [Int32?] = [nil, nil, nil]
        var childEnds: [Int32] = []
        defer { childEnds.forEach { close($0) } }
        let streams = [configuration.standardInput, configuration.standardOutput, configuration.standardError]
        do {
            for (target, stream) in streams.enumerated() {
                switch stream {
                case .inherit:
                    break
                case .null:
                    posix_spawn_file_actions_addopen(&actions, Int32(target), "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
                case .file(let path):
                    posix_spawn_file_actions_addopen(&actions, Int32(target), path, target == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_APPEND, 0o600)
                case .pipe:
                    var fds: [Int32] = [-1, -1]
                    guard citsm_pipe_cloexec(&fds) == 0 else { throw SystemError.last("pipe2") }
                    let (childEnd, parentEnd) = target == 0 ? (fds[0], fds[1]) : (fds[1], fds[0])
                    childEnds.append(childEnd)
                    parentEnds[target] = parentEnd
                    posix_spawn_file_actions_adddup2(&actions, childEnd, Int32(target))
                }
            }
            if let directory = configuration.workingDirectory {
                citsm_spawn_addchdir(&actions, directory)
            }
            // The child gets exactly stdin, stdout and stderr. Close-on-exec is not enough:
            // a library may open a socket or pipe without it (a listening socket, a client's
            // connection, another child's pipe), and a plugin must not inherit any of them.
            guard citsm_spawn_addclosefrom(&actions, 3) == 0 else { throw SystemError.last("posix_spawn_file_actions_addclosefrom_np") }

            let argv = [configuration.executable] + configuration.arguments
            let environment = configuration.environment ?? ProcessInfo.processInfo.environment
            let envp = environment.map { "\($0.key)=\($0.value)" }
            var pid: pid_t = 0
            let result = withCStringArray(argv) { argv in
                withCStringArray(envp) { envp in
                    configuration.executable.contains("/")
                        ? posix_spawn(&pid, configuration.executable, &actions, &attributes, argv, envp)
                        : posix_spawnp(&pid, configuration.executable, &actions, &attributes, argv, envp)
                }
            }
            guard result == 0 else {
                throw SystemError(operation: "spawn \(configuration.executable)", errno: result)
            }
            return ChildProcess(pid: pid, standardInput: parentEnds[0], standardOutput: parentEnds[1],
                                standardError: parentEnds[2])
        } catch {
            parentEnds.compactMap { $0 }.forEach { close($0) }
            throw error
        }
    }

    /// Waits for the child to end; every caller gets the same status.
    public func wait() async -> TerminationStatus {
        await termination.wait()
    }

    /// The status if the child has ended, `nil` while it runs.
    public var status: TerminationStatus? { termination.current }

    /// Sends a signal; does nothing once the child has been reaped (its pid may be reused).
    public func signal(_ signal: Int32) {
        termination.whileRunning { _ = kill(pid, signal) }
    }

    /// Waits at most `timeout`; `nil` if the child is still running then.
    public func wait(timeout: Duration) async -> TerminationStatus? {
        await termination.wait(timeout: timeout)
    }

    /// Sends SIGTERM, then SIGKILL if the child has not ended after `grace`.
    public func terminate(grace: Duration) async -> TerminationStatus {
        signal(SIGTERM)
        let killer = Task {
            try await Task.sleep(for: grace)
            signal(SIGKILL)
        }
        let status = await wait()
        killer.cancel()
        return status
    }

    static func decode(_ status: Int32) -> TerminationStatus {
        let signal = status & 0x7f
        if signal == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(signal)
    }
}

/// Runs a program to its end and returns what it printed (stdout and stderr together).
public enum Command {
    public struct Output: Sendable {
        public var status: TerminationStatus
        public var text: String
    }

    /// `workingDirectory`: where a program that leaves files behind (a cache) may leave them.
    /// `input`: what the program reads on its standard input (nothing when nil).
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           workingDirectory: String? = nil, input: String? = nil) async throws -> Output {
        // A file, not a pipe: a daemon the program starts (pg_ctl's server) could keep a pipe open.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("itsm-command-\(UUID().uuidString).log").path
        defer { unlink(path) }
        var standardInput = ChildProcess.Stream.null
        if let input {
            let inputPath = path + ".in"
            try Data(input.utf8).write(to: URL(fileURLWithPath: inputPath))
            standardInput = .file(inputPath)
        }
        defer { if input != nil { unlink(path + ".in") } }
        let child = try ChildProcess.spawn(.init(
            executable: executable, arguments: arguments, environment: environment, workingDirectory: workingDirectory,
            standardInput: standardInput, standardOutput: .file(path), standardError: .file(path)))
        let status = await child.wait()
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return Output(status: status, text: text)
    }
}

/// A failed system call, with its errno.
public struct SystemError: Error, CustomStringConvertible {
    public var operation: String
    public var errno: Int32

    public init(operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    public static func last(_ operation: String) -> SystemError {
        SystemError(operation: operation, errno: Glibc.errno)
    }

    public var description: String { "\(operation): \(String(cString: strerror(errno)))" }
}

/// A status set once, awaited by any number of tasks, each for as long as it chooses.
final class TerminationLatch: @unchecked Sendable {
    private let lock = NSLock()
    private var result: TerminationStatus?
    private var waiters: [UInt64: CheckedContinuation<TerminationStatus?, Never>] = [:]
    /// Waits whose time ran out before they were registered.
    private var expired: Set<UInt64> = []
    private var nextWaiter: UInt64 = 0

    var current: TerminationStatus? { lock.withLock { result } }

    func finish(_ reap: () -> TerminationStatus) {
        let (status, waiting) = lock.withLock {
            let status = reap()
            result = status
            defer { waiters.removeAll() }
            return (status, Array(waiters.values))
        }
        waiting.forEach { $0.resume(returning: status) }
    }

    func wait() async -> TerminationStatus {
        // Without a deadline only the status can end the wait.
        await wait(timeout: nil)!
    }

    /// The status, or `nil` once `timeout` has passed. The timer resumes the waiter itself, so
    /// the wait ends on time whatever the child does.
    func wait(timeout: Duration?) async -> TerminationStatus? {
        let id = lock.withLock { () -> UInt64 in
            nextWaiter += 1
            return nextWaiter
        }
        let timer = timeout.map { timeout in
            Task {
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                self.expire(id)
            }
        }
        defer { timer?.cancel() }
        return await withCheckedContinuation { continuation in
            let ready: TerminationStatus?? = lock.withLock {
                if let result { return .some(result) }
                if expired.remove(id) != nil { return .some(nil) }
                waiters[id] = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func expire(_ id: UInt64) {
        let waiter = lock.withLock { () -> CheckedContinuation<TerminationStatus?, Never>? in
            guard result == nil else { return nil }
            guard let waiter = waiters.removeValue(forKey: id) else {
                expired.insert(id)
                return nil
            }
            return waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Runs `body` only while the child has not been reaped, under the lock the reaper takes.
    func whileRunning(_ body: () -> Void) {
        lock.withLock { if result == nil { body() } }
    }
}

private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// A pipe whose both ends close on exec, so no child process spawned meanwhile inherits them
/// (an inherited write end would keep the reader from ever seeing end of input).
public enum PipeDescriptors {
    public static func make() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard citsm_pipe_cloexec(&fds) == 0 else { throw SystemError.last("pipe2") }
        return (fds[0], fds[1])
    }
}

/// Reaps every child we spawn, on one thread: each child's pidfd is in one epoll set, and a
/// child is reaped (`waitpid` on its pid only, never -1, so other libraries' children are left
/// alone) when its pidfd says it exited. Without pidfds (a kernel before 5.3), a child gets a
/// thread of its own in `waitid`, as before.
final class ChildReaper: Sendable {
    static let shared = ChildReaper()

    /// What a pidfd in the set stands for: a child to reap, or another process whose exit
    /// someone awaits (it is not ours to reap).
    private enum Watched {
        case child(pid_t, TerminationLatch)
        case process(ExitWaiter)
    }

    private let epoll: Int32
    private let watched = Mutex<[Int32: Watched]>([:])

    private init() {
        epoll = citsm_epoll_create()
        guard epoll >= 0 else { return }
        let thread = Thread { [self] in run() }
        thread.name = "itsm-reaper"
        thread.start()
    }

    func watch(_ pid: pid_t, latch: TerminationLatch) {
        let pidfd = citsm_pidfd_open(pid)
        guard epoll >= 0, pidfd >= 0 else { return Self.reapOnOwnThread(pid, latch: latch) }
        watched.withLock { $0[pidfd] = .child(pid, latch) }
        // epoll_wait in the reaper thread sees descriptors added while it waits.
        if citsm_epoll_add(epoll, pidfd) != 0 {
            watched.withLock { _ = $0.removeValue(forKey: pidfd) }
            close(pidfd)
            Self.reapOnOwnThread(pid, latch: latch)
        }
    }

    /// Returns once `pid` has exited, or when the task is cancelled. Without pidfds it looks
    /// twice a second.
    func waitForExit(of pid: pid_t) async {
        let pidfd = citsm_pidfd_open(pid)
        guard pidfd >= 0 else {
            guard errno != ESRCH else { return } // gone already
            while !Task.isCancelled, kill(pid, 0) == 0 || errno == EPERM {
                try? await Task.sleep(for: .milliseconds(500))
            }
            return
        }
        let waiter = ExitWaiter()
        watched.withLock { $0[pidfd] = .process(waiter) }
        guard epoll >= 0, citsm_epoll_add(epoll, pidfd) == 0 else {
            stopWatching(pidfd)
            return
        }
        await withTaskCancellationHandler {
            await waiter.wait()
        } onCancel: {
            stopWatching(pidfd)
        }
    }

    /// Takes `pidfd` out of the set and ends the wait on it; whichever of the reaper thread and
    /// a cancellation gets there first does it.
    private func stopWatching(_ pidfd: Int32) {
        guard case .process(let waiter)? = watched.withLock({ $0.removeValue(forKey: pidfd) }) else { return }
        _ = citsm_epoll_remove(epoll, pidfd)
        close(pidfd)
        waiter.finish()
    }

    private func run() {
        var ready = [Int32](repeating: 0, count: 64)
        while true {
            let count = citsm_epoll_wait_fds(epoll, &ready, 64)
            guard count > 0 else { continue } // EINTR
            for pidfd in ready.prefix(Int(count)) {
                switch watched.withLock({ $0[pidfd] }) {
                case .child(let pid, let latch)?:
                    watched.withLock { _ = $0.removeValue(forKey: pidfd) }
                    _ = citsm_epoll_remove(epoll, pidfd)
                    close(pidfd)
                    Self.reap(pid, latch: latch)
                case .process?:
                    stopWatching(pidfd)
                case nil:
                    continue
                }
            }
        }
    }

    /// Reaps under the latch's lock, so `signal` can never reach a pid the kernel has already
    /// given to another process.
    private static func reap(_ pid: pid_t, latch: TerminationLatch) {
        latch.finish {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            return ChildProcess.decode(status)
        }
    }

    private static func reapOnOwnThread(_ pid: pid_t, latch: TerminationLatch) {
        let thread = Thread {
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
            reap(pid, latch: latch)
        }
        thread.name = "itsm-reaper-\(pid)"
        thread.start()
    }
}

/// One wait for a process to exit, ended once by whoever sees it first.
final class ExitWaiter: Sendable {
    private let state = Mutex<(done: Bool, continuation: CheckedContinuation<Void, Never>?)>((false, nil))

    func wait() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if !state.done { state.continuation = continuation }
                return state.done
            }
            if done { continuation.resume() }
        }
    }

    func finish() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.done = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume()
    }
}

/// Waiting for processes that are not our children.
public enum ProcessExit {
    /// Returns once the process `pid` has exited (at once if there is none), or when the task
    /// is cancelled: e.g. a server that put itself in the background.
    public static func wait(for pid: pid_t) async {
        await ChildReaper.shared.waitForExit(of: pid)
    }
}
