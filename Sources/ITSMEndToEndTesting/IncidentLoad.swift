import Foundation
import Synchronization

/// A stream of writes as a busy service desk makes them, each with its own idempotency key and
/// retried (same key) while the error says retrying may help: creates, and with `withChanges`
/// an update and a transition of each record created. Each attempt goes to one of the
/// coordinators at random. Used to check that losing a plugin instance, a host, a link, a
/// coordinator or the database loses no acknowledged write and applies none twice.
public final class IncidentLoad: Sendable {
    public struct Outcome: Sendable {
        /// Key → incident number, for every create the API acknowledged.
        public var acknowledged: [String: String] = [:]
        /// Key → incident number, for every acknowledged update (`<key>-update`) and transition
        /// to in progress (`<key>-start`).
        public var changes: [String: String] = [:]
        /// Retryable failures seen (each was retried).
        public var retried = 0
        /// Failures that were not retryable, or still failing after every retry: each is a bug.
        public var failed: [String] = []
    }

    /// What a change writes, so a check can find it: the description an update sets.
    public static func updatedDescription(key: String) -> String { "updated by \(key)" }

    private let baseURLs: [URL]
    private let token: String
    private let stopFlag = Atomic(false)
    private let outcome = Mutex(Outcome())

    public convenience init(baseURL: URL, token: String) {
        self.init(baseURLs: [baseURL], token: token)
    }

    public init(baseURLs: [URL], token: String) {
        precondition(!baseURLs.isEmpty, "a load needs a coordinator")
        self.baseURLs = baseURLs
        self.token = token
    }

    /// Runs `workers` concurrent clients until `stop()`, then returns what happened.
    public func run(workers: Int, keyPrefix: String, withChanges: Bool = false) async -> Outcome {
        await withDiscardingTaskGroup { group in
            for worker in 0..<workers {
                group.addTask {
                    var sequence = 0
                    while !self.stopFlag.load(ordering: .relaxed) {
                        sequence += 1
                        await self.ticket(key: "\(keyPrefix)-\(worker)-\(sequence)", withChanges: withChanges)
                    }
                }
            }
        }
        return outcome.withLock { $0 }
    }

    public func stop() { stopFlag.store(true, ordering: .relaxed) }

    public var acknowledgedSoFar: Int { outcome.withLock { $0.acknowledged.count } }

    /// Waits until `count` creates more than `after` are acknowledged. It fails only when none is
    /// acknowledged for `stall`: what is asked is whether service resumed, not how fast a loaded
    /// machine serves.
    public func acknowledges(_ count: Int, after: Int, on coordinator: RunningCoordinator,
                             stall: Duration = .seconds(30)) async throws -> Bool {
        try await coordinator.waitUntilDone(stall: stall) {
            let left = after + count - self.acknowledgedSoFar
            return (left <= 0, left)
        }
    }

    /// Creates and changes acknowledged so far.
    public var writesSoFar: Int { outcome.withLock { $0.acknowledged.count + $0.changes.count } }

    private func ticket(key: String, withChanges: Bool) async {
        guard let created = await send("incident.create", ["title": "load \(key)", "service": "email"], key: key),
              let number = created["number"] as? String else { return }
        outcome.withLock { $0.acknowledged[key] = number }
        guard withChanges else { return }
        let update = "\(key)-update"
        guard await send("incident.update", ["number": number, "description": Self.updatedDescription(key: key)], key: update) != nil
        else { return }
        outcome.withLock { $0.changes[update] = number }
        let start = "\(key)-start"
        guard await send("incident.transition", ["number": number, "to": "in_progress"], key: start) != nil else { return }
        outcome.withLock { $0.changes[start] = number }
    }

    /// One request, retried with the same key for up to a minute while the failure is
    /// retryable; the answer's body once acknowledged, nil (and recorded) if it never was.
    private func send(_ method: String, _ params: [String: Any], key: String) async -> [String: Any]? {
        let deadline = ContinuousClock.now + .seconds(60)
        var lastProblem = ""
        while ContinuousClock.now < deadline {
            let status: Int
            let body: [String: Any]
            do {
                let answer = try await HTTPExchange.send(
                    "POST", baseURLs.randomElement()!.appendingPathComponent("api/v1/rpc/\(method)"),
                    body: try JSONSerialization.data(withJSONObject: params),
                    headers: ["Authorization": "Bearer \(token)", "Idempotency-Key": key], timeout: .seconds(20))
                status = answer.status
                body = (try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any]) ?? [:]
            } catch {
                // The coordinator was unreachable or did not answer: nothing was acknowledged, so retry.
                lastProblem = "\(error)"
                outcome.withLock { $0.retried += 1 }
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            if status == 200 { return body }
            let data = (body["error"] as? [String: Any])?["data"] as? [String: Any]
            lastProblem = "\(status) \(body)"
            guard data?["retryable"] as? Bool == true else { break }
            outcome.withLock { $0.retried += 1 }
            try? await Task.sleep(for: .milliseconds(100))
        }
        outcome.withLock { $0.failed.append("\(method) \(key): \(lastProblem)") }
        return nil
    }
}
