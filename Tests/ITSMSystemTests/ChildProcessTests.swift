import Foundation
import ITSMSystem
import Testing

@Suite struct ChildProcessTests {
    @Test func reportsExitCodesAndOutput() async throws {
        let ok = try await Command.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 0"])
        #expect(ok.status == .exited(0))
        #expect(ok.text.contains("out") && ok.text.contains("err"))
        let failed = try await Command.run("/bin/sh", ["-c", "exit 7"])
        #expect(failed.status == .exited(7))
    }

    @Test func oneThreadReapsManyChildren() async throws {
        func threads() -> Int {
            let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
            return status.split(separator: "\n").first { $0.hasPrefix("Threads:") }
                .flatMap { Int($0.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        }
        // Warm: the reaper's own thread exists once a child has been spawned.
        _ = try await ChildProcess.spawn(.init(executable: "/bin/true")).wait()
        let before = threads()
        let children = try (0..<40).map { _ in try ChildProcess.spawn(.init(executable: "/bin/sleep", arguments: ["30"])) }
        let during = threads()
        for child in children { child.signal(SIGKILL) }
        for child in children { #expect(await child.wait() == .signaled(SIGKILL)) }
        // Other tests run meanwhile and may add a few threads; 40 children must not add 40.
        #expect(during < before + 20, "threads: \(before) before, \(during) with 40 children waiting")
        // Each was reaped: no zombie is left among our children.
        for child in children {
            #expect(kill(child.pid, 0) != 0 || (try? String(contentsOfFile: "/proc/\(child.pid)/stat", encoding: .utf8))?.contains(") Z ") != true)
        }
    }

    @Test func missingExecutableThrows() {
        #expect(throws: SystemError.self) {
            _ = try ChildProcess.spawn(.init(executable: "/nonexistent/itsm-no-such-program"))
        }
    }

    @Test func pipesCarryBytesBothWays() async throws {
        let child = try ChildProcess.spawn(.init(executable: "cat", standardInput: .pipe, standardOutput: .pipe))
        let input = try #require(child.standardInput)
        let output = try #require(child.standardOutput)
        let message = Array("hello\n".utf8)
        #expect(write(input, message, message.count) == message.count)
        close(input)
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(output, &buffer, buffer.count)
        close(output)
        #expect(Array(buffer[..<max(count, 0)]) == message)
        #expect(await child.wait() == .exited(0))
    }

    @Test func terminateEscalatesToKill() async throws {
        // The child ignores SIGTERM, so only SIGKILL ends it.
        let child = try ChildProcess.spawn(.init(executable: "/bin/sh", arguments: ["-c", "trap '' TERM; sleep 30"]))
        try await Task.sleep(for: .milliseconds(100))
        let status = await child.terminate(grace: .milliseconds(300))
        #expect(status == .signaled(SIGKILL))
        #expect(child.status == status)
        child.signal(SIGKILL) // after reaping: a no-op, not a signal to a reused pid
    }

    @Test func aTimedWaitEndsOnTimeWhileTheChildRuns() async throws {
        // The child ignores SIGTERM and outlives every wait but the last.
        let child = try ChildProcess.spawn(.init(executable: "/bin/sh", arguments: ["-c", "trap '' TERM; exec sleep 30"]))
        defer { child.signal(SIGKILL) }
        let clock = ContinuousClock()
        let started = clock.now
        #expect(await child.wait(timeout: .milliseconds(200)) == nil)
        let waited = clock.now - started
        // It ended by its timeout, not with the child (which lives 30 s): a loaded machine may be
        // seconds late to resume the waiter, which says nothing about the wait itself.
        #expect(waited >= .milliseconds(200) && waited < .seconds(15), "\(waited)")
        // Several waiters at once, each with its own deadline; the status reaches those still waiting.
        async let short = child.wait(timeout: .milliseconds(100))
        async let long = child.wait(timeout: .seconds(20))
        #expect(await short == nil)
        child.signal(SIGTERM) // ignored
        #expect(await child.wait(timeout: .milliseconds(100)) == nil)
        child.signal(SIGKILL)
        #expect(await long == .signaled(SIGKILL))
        #expect(clock.now - started < .seconds(10))
    }

    @Test func childDoesNotInheritIgnoredSIGPIPE() async throws {
        signal(SIGPIPE, SIG_IGN)
        // `yes | head -1` ends `yes` with SIGPIPE only if SIGPIPE is at its default.
        let result = try await Command.run("/bin/sh", ["-c", "yes | head -n 1 >/dev/null; echo done"])
        #expect(result.status == .exited(0))
        #expect(result.text.contains("done"))
    }
}

@Suite struct DurationUnitsTests {
    @Test func keepsTheFractionOfASecond() {
        #expect(Duration.milliseconds(500).inMilliseconds == 500) // was sent to plugins as 0
        #expect(Duration.seconds(30).inMilliseconds == 30_000)
        #expect(Duration.milliseconds(1500).inSeconds == 1.5)
        #expect(Duration.microseconds(1999).inMilliseconds == 1)
    }
}
