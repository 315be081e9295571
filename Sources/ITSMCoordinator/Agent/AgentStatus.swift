import Foundation
import ITSMSystem
import Synchronization

/// What a running agent says about itself in its status file, for a liveness probe: an agent
/// opens no port, so Kubernetes (or systemd, or a person) reads this file instead
/// (`itsm agent --probe --status-file FILE`).
///
/// The agent rewrites the file every `AgentStatus.interval` from its own task, so a file that
/// stopped changing means an agent that stopped working, whatever the coordinators do. How many
/// links are attached is told, not judged: coordinators being away is no reason to restart a
/// plugin host.
public struct AgentStatus: Codable, Sendable, Equatable {
    public var pid: Int32
    public var writtenAt: Date
    /// One per plugin instance per coordinator address.
    public var links: Int
    /// Links whose coordinator accepted `$/attach` and whose plugin is running.
    public var attached: Int

    public static let interval: Duration = .seconds(5)

    /// Keeps the counts the status file reports, as links come and go.
    final class Counter: Sendable {
        private let counts = Mutex((links: 0, attached: 0))

        func linkStarted() { counts.withLock { $0.links += 1 } }
        func linkEnded() { counts.withLock { $0.links -= 1 } }
        func attached() { counts.withLock { $0.attached += 1 } }
        func detached() { counts.withLock { $0.attached -= 1 } }

        var now: AgentStatus {
            let (links, attached) = counts.withLock { ($0.links, $0.attached) }
            return AgentStatus(pid: getpid(), writtenAt: Date(), links: links, attached: attached)
        }
    }

    /// Writes the file now and every `interval` until cancelled, replacing it whole each time so a
    /// probe never reads half of it; removes it at the end.
    static func keepWriting(_ counter: Counter, to path: String) async {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let url = URL(fileURLWithPath: path)
        while !Task.isCancelled {
            if let data = try? encoder.encode(counter.now) { try? data.write(to: url, options: .atomic) }
            try? await Task.sleep(for: interval)
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The probe: the status in `path` if it was written within `maximumAge`, or why not.
    public static func check(path: String, maximumAge: Duration, now: Date = Date()) -> Result<AgentStatus, CoordinatorError> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(CoordinatorError("\(path): no status file; the agent is not running, or runs without --status-file"))
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let status = try? decoder.decode(AgentStatus.self, from: data) else {
            return .failure(CoordinatorError("\(path): not an agent status file"))
        }
        let age = now.timeIntervalSince(status.writtenAt)
        guard age <= maximumAge.inSeconds else {
            return .failure(CoordinatorError("the agent (pid \(status.pid)) last wrote its status \(Int(age)) s ago; it is stuck"))
        }
        return .success(status)
    }
}
