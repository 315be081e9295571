import Foundation
import ITSMPostgres
import Logging
import Synchronization

/// The principals of tokens checked lately, so a request need not read its token again.
///
/// An entry is trusted only while a `LISTEN` on `CoreSchema.authorizationChannel` stands: the
/// database notifies that channel whenever a token is revoked or changed, an account disabled,
/// or roles changed (core migration 12), and the cache then forgets everything. A read that
/// started before a notice or a lost connection is not kept (`generation`), so a revocation
/// takes effect as soon as its notice arrives: milliseconds after its commit. Without a listener
/// (connecting, lost) nothing is cached and every request reads its token as before.
public final class PrincipalCache: Sendable {
    /// What a cached token stands for, and when its last use was last written.
    private struct Entry {
        var principal: Principal
        var cachedAt: ContinuousClock.Instant
        var lastUseRecordedAt: ContinuousClock.Instant
    }

    private struct State {
        var listening = false
        /// Moves on at every notice and every change of `listening`, which also empty `entries`:
        /// a read that began at an older one is not kept.
        var generation: UInt64 = 0
        var entries: [String: Entry] = [:]
    }

    /// However quiet the channel, an entry is read again after this long.
    let maximumAge: Duration
    let capacity: Int
    private let state = Mutex(State())

    public init(maximumAge: Duration = .seconds(60), capacity: Int = 10_000) {
        self.maximumAge = maximumAge
        self.capacity = capacity
    }

    /// Listens for notices until the task is cancelled.
    public func follow(conninfo: String, logger: Logger) async {
        await PostgresListener.follow(
            [CoreSchema.authorizationChannel], conninfo: conninfo, logger: logger,
            connected: { self.setListening(true) },
            lost: { error in
                self.setListening(false)
                logger.warning("lost the authorization listener; tokens are read on every request until it reconnects",
                               metadata: ["itsm.error": "\(error)"])
            },
            received: { _ in self.forgetAll() })
        setListening(false)
    }

    /// The principal kept for `tokenHash`, if it may be trusted.
    func principal(for tokenHash: String, now: ContinuousClock.Instant = .now) -> Principal? {
        state.withLock { state in
            guard state.listening, let entry = state.entries[tokenHash], now - entry.cachedAt < maximumAge else { return nil }
            return entry.principal
        }
    }

    /// Before reading a token: the generation to hand to `keep`, or nil when nothing may be kept.
    func generationForRead() -> UInt64? {
        state.withLock { $0.listening ? $0.generation : nil }
    }

    /// Keeps what a read that began at `generation` found, unless something changed since.
    func keep(_ principal: Principal, for tokenHash: String, readAt generation: UInt64, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            guard state.listening, state.generation == generation else { return }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[tokenHash] = Entry(principal: principal, cachedAt: now, lastUseRecordedAt: now)
        }
    }

    /// Notes that the token's last use was written now; false when another request already
    /// took that turn (or the entry is gone).
    func claimLastUseWrite(for tokenHash: String, olderThan interval: Duration, now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { state in
            guard var entry = state.entries[tokenHash], now - entry.lastUseRecordedAt >= interval else { return false }
            entry.lastUseRecordedAt = now
            state.entries[tokenHash] = entry
            return true
        }
    }

    func forgetAll() {
        state.withLock { state in
            state.generation &+= 1
            state.entries.removeAll()
        }
    }

    func setListening(_ listening: Bool) {
        state.withLock { state in
            state.listening = listening
            state.generation &+= 1
            state.entries.removeAll()
        }
    }
}
