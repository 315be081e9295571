import Foundation
import Synchronization

/// A stream of `incident.create` calls as a busy service desk makes them, each with its own
/// idempotency key and retried (same key) while the error says retrying may help. Used to
/// check that losing a plugin instance, a host or a link loses no acknowledged create and
/// duplicates none.
public final class IncidentLoad: Sendable {
    public struct Outcome: Sendable {
        /// Key → incident number, for every create the API acknowledged.
        public var acknowledged: [String: String] = [:]
        /// Retryable failures seen (each was retried).
        public var retried = 0
        /// Failures that were not retryable, or still failing after every retry: each is a bug.
        public var failed: [String] = []
    }

    private let baseURL: URL
    private let token: String
    private let stopFlag = Atomic(false)
    private let outcome = Mutex(Outcome())

    public init(baseURL: URL, token: String) {
        self.baseURL = baseURL
        self.token = token
    }

    /// Runs `workers` concurrent clients until `stop()`, then returns what happened.
    public func run(workers: Int, keyPrefix: String) async -> Outcome {
        await withDiscardingTaskGroup { group in
            for worker in 0..<workers {
                group.addTask {
                    var sequence = 0
                    while !self.stopFlag.load(ordering: .relaxed) {
                        sequence += 1
                        await self.create(key: "\(keyPrefix)-\(worker)-\(sequence)")
                    }
                }
            }
        }
        return outcome.withLock { $0 }
    }

    public func stop() { stopFlag.store(true, ordering: .relaxed) }

    public var acknowledgedSoFar: Int { outcome.withLock { $0.acknowledged.count } }

    /// One create, retried with the same key for up to a minute while the failure is retryable.
    private func create(key: String) async {
        let deadline = ContinuousClock.now + .seconds(60)
        var lastProblem = ""
        while ContinuousClock.now < deadline {
            let status: Int
            let body: [String: Any]
            do {
                let answer = try await HTTPExchange.send(
                    "POST", baseURL.appendingPathComponent("api/v1/rpc/incident.create"),
                    body: try JSONSerialization.data(withJSONObject: ["title": "load \(key)", "service": "email"]),
                    headers: ["Authorization": "Bearer \(token)", "Idempotency-Key": key])
                status = answer.status
                body = (try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any]) ?? [:]
            } catch {
                // The coordinator itself was unreachable: nothing was acknowledged, so retry.
                lastProblem = "\(error)"
                outcome.withLock { $0.retried += 1 }
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            if status == 200, let number = body["number"] as? String {
                outcome.withLock { $0.acknowledged[key] = number }
                return
            }
            let data = (body["error"] as? [String: Any])?["data"] as? [String: Any]
            lastProblem = "\(status) \(body)"
            guard data?["retryable"] as? Bool == true else { break }
            outcome.withLock { $0.retried += 1 }
            try? await Task.sleep(for: .milliseconds(100))
        }
        outcome.withLock { $0.failed.append("\(key): \(lastProblem)") }
    }
}
