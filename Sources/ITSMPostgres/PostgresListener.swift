import CLibPQ
import Foundation
import ITSMSystem
import Logging

/// A `NOTIFY` received on a channel this listener `LISTEN`s to.
public struct PostgresNotification: Sendable, Hashable {
    public var channel: String
    public var payload: String
    /// The server process that sent it.
    public var senderPID: Int32
}

/// Receives `NOTIFY` messages on a dedicated connection.
///
/// The connection waits on its socket with `poll` and reads with `PQconsumeInput`, on a
/// thread of its own, so it never blocks the cooperative pool and never busy-waits. The stream
/// ends with an error when the connection is lost; callers reconnect with a new listener.
///
/// ```swift
/// let listener = try await PostgresListener.listen(to: ["itsm_outbox"], conninfo: url, logger: logger)
/// for try await notification in listener.notifications { ... }
/// ```
public final class PostgresListener: Sendable {
    public let notifications: AsyncThrowingStream<PostgresNotification, any Error>
    private let stopFlag: StopFlag

    private init(notifications: AsyncThrowingStream<PostgresNotification, any Error>, stopFlag: StopFlag) {
        self.notifications = notifications
        self.stopFlag = stopFlag
    }

    deinit { stopFlag.stop() }

    /// Connects, issues `LISTEN` for each channel, and starts receiving.
    public static func listen(to channels: [String], conninfo: String, logger: Logger) async throws -> PostgresListener {
        let connection = try await PostgresConnection.connect(to: conninfo, applicationName: "itsm-listener", logger: logger)
        for channel in channels {
            try await connection.query(PostgresQuery(unsafeSQL: "LISTEN \(quoteIdentifier(channel))"))
        }
        let stopFlag = StopFlag()
        let (stream, continuation) = AsyncThrowingStream<PostgresNotification, any Error>.makeStream()
        connection.receiveNotifications(until: stopFlag, into: continuation)
        continuation.onTermination = { _ in stopFlag.stop() }
        return PostgresListener(notifications: stream, stopFlag: stopFlag)
    }

    /// Listens on `channels` until the task is cancelled, connecting again after a loss with
    /// backoff (0.5 s, doubling to 10 s). `connected` runs once each `LISTEN` is in place, `lost`
    /// when a connection drops: notifications sent in between are missed, so whoever relies on
    /// them must treat the gap as "anything may have changed".
    public static func follow(_ channels: [String], conninfo: String, logger: Logger,
                              connected: @Sendable () -> Void = {}, lost: @Sendable (any Error) -> Void = { _ in },
                              received: @Sendable (PostgresNotification) -> Void) async {
        var delay: Duration = .milliseconds(500)
        while !Task.isCancelled {
            do {
                let listener = try await listen(to: channels, conninfo: conninfo, logger: logger)
                delay = .milliseconds(500)
                connected()
                await withTaskCancellationHandler {
                    do {
                        for try await notification in listener.notifications { received(notification) }
                    } catch {
                        lost(error)
                    }
                } onCancel: {
                    listener.stop()
                }
            } catch {
                logger.debug("cannot listen yet", metadata: ["itsm.channels": "\(channels)", "itsm.error": "\(error)"])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(10))
        }
    }

    /// Stops receiving and closes the connection.
    public func stop() { stopFlag.stop() }

    /// Double-quotes an identifier for the places SQL cannot take a parameter.
    public static func quoteIdentifier(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
