import ITSMProtocol
import Synchronization

/// How many of our requests may be in flight on one connection: at most the peer's announced
/// limit (the protocol's default until it announces one); the others wait, first come first
/// served, until their deadline.
final class RequestSlots: Sendable {
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var limit: Int? = JSONRPCConnection.defaultConcurrencyLimit
        var used = 0
        var waiters: [Waiter] = []
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    func setLimit(_ limit: Int) {
        let woken = state.withLock { state -> [Waiter] in
            state.limit = limit
            return Self.wakeable(&state)
        }
        for waiter in woken { waiter.continuation.resume(returning: true) }
    }

    /// Takes a slot, waiting for one until `deadline`; `release()` gives it back.
    func acquire(until deadline: ContinuousClock.Instant, method: String, peerName: String) async throws(ResponseError) {
        let free = state.withLock { state -> Bool in
            if let limit = state.limit, state.used >= limit || !state.waiters.isEmpty { return false }
            state.used += 1
            return true
        }
        if free { return }
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(until: deadline)) != nil else { return }
            self?.giveUp(id)
        }
        defer { timer.cancel() }
        let granted = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate = state.withLock { state -> Bool? in
                    if Task.isCancelled || ContinuousClock.now >= deadline { return false }
                    if let limit = state.limit, state.used >= limit || !state.waiters.isEmpty {
                        state.waiters.append(Waiter(id: id, continuation: continuation))
                        return nil
                    }
                    state.used += 1
                    return true
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            giveUp(id)
        }
        guard granted else {
            if Task.isCancelled {
                throw ResponseError(code: .requestCancelled, kind: "request.cancelled", message: "\(method) was cancelled")
            }
            throw ResponseError(code: .requestTimedOut, kind: "peer.timeout",
                                message: "\(peerName) had no free request slot for \(method) before its deadline", retryable: true)
        }
    }

    func release() {
        let woken = state.withLock { state -> [Waiter] in
            state.used -= 1
            return Self.wakeable(&state)
        }
        for waiter in woken { waiter.continuation.resume(returning: true) }
    }

    /// Removes a waiter that timed out or was cancelled.
    private func giveUp(_ id: UInt64) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(returning: false)
    }

    /// Hands free slots to waiters, in order.
    private static func wakeable(_ state: inout State) -> [Waiter] {
        var woken: [Waiter] = []
        while !state.waiters.isEmpty, state.used < (state.limit ?? .max) {
            state.used += 1
            woken.append(state.waiters.removeFirst())
        }
        return woken
    }
}
