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

    /// Stops receiving and closes the connection.
    public func stop() { stopFlag.stop() }

    /// Double-quotes an identifier for the places SQL cannot take a parameter.
    public static func quoteIdentifier(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
