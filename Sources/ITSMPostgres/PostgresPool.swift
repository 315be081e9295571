import Logging

/// A small pool of connections to one database.
///
/// Connections are opened on demand up to `maximumConnections`; callers beyond that wait in
/// order. A connection that broke while lent out is dropped rather than returned.
///
/// ```swift
/// let pool = PostgresPool(conninfo: url, logger: logger)
/// let count = try await pool.withConnection { try await $0.query("SELECT count(*) FROM incident.incident") }
/// ```
public actor PostgresPool {
    public nonisolated let conninfo: String
    public nonisolated let maximumConnections: Int
    private let applicationName: String
    private let logger: Logger

    private var idle: [PostgresConnection] = []
    private var openCount = 0
    private var waiters: [CheckedContinuation<PostgresConnection?, any Error>] = []
    private var isClosed = false

    public init(conninfo: String, maximumConnections: Int = 4, applicationName: String = "itsm", logger: Logger) {
        precondition(maximumConnections > 0, "a pool needs at least one connection")
        self.conninfo = conninfo
        self.maximumConnections = maximumConnections
        self.applicationName = applicationName
        self.logger = logger
    }

    /// Lends a connection to `body` for its duration; `body` runs on the connection's thread
    /// (`PostgresConnection.withAffinity`).
    public nonisolated func withConnection<Result>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let connection = try await acquire()
        do {
            let result = try await connection.withAffinity { try await body(connection) }
            await release(connection)
            return result
        } catch {
            await release(connection)
            throw error
        }
    }

    /// Lends a connection to `body` inside a transaction.
    public nonisolated func withTransaction<Result>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await withConnection { connection in
            try await connection.withTransaction(body)
        }
    }

    /// Runs one statement on a pooled connection.
    @discardableResult
    public nonisolated func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withConnection { try await $0.query(query) }
    }

    /// Closes idle connections and fails waiters; connections lent out close on return.
    public func close() {
        isClosed = true
        for connection in idle { connection.close() }
        openCount -= idle.count
        idle.removeAll()
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting {
            waiter.resume(throwing: PostgresError(code: .poolClosed, message: "the pool was closed"))
        }
    }

    private func acquire() async throws -> PostgresConnection {
        if isClosed { throw PostgresError(code: .poolClosed, message: "the pool was closed") }
        while let connection = idle.popLast() {
            if connection.looksOpenWhileIdle { return connection }
            // Gone while idle (a restart, a failover, a terminated session): replaced now
            // rather than failing the caller's statement.
            connection.close()
            openCount -= 1
            logger.debug("dropping a database connection the server closed while it was idle")
        }
        if openCount < maximumConnections {
            return try await open()
        }
        // Woken with a connection handed over, or with nil meaning a slot became free.
        if let handedOver = try await withCheckedThrowingContinuation({ waiters.append($0) }) {
            return handedOver
        }
        return try await open()
    }

    /// How long opening a connection waits for a server that is out of connection slots or still
    /// starting, trying again with growing pauses, before the caller gets the refusal.
    static let serverBusyWait = Duration.seconds(10)

    private func open() async throws -> PostgresConnection {
        openCount += 1
        let deadline = ContinuousClock.now + Self.serverBusyWait
        var pause = Duration.milliseconds(20)
        do {
            while true {
                do {
                    return try await PostgresConnection.connect(to: conninfo, applicationName: applicationName, logger: logger)
                } catch let error as PostgresError where error.isServerBusy && ContinuousClock.now + pause < deadline {
                    logger.debug("the database refused a new connection for now; trying again", metadata: [
                        "itsm.postgres.sqlstate": "\(error.sqlState?.rawValue ?? "")",
                    ])
                    try await Task.sleep(for: pause)
                    pause = min(pause * 2, .milliseconds(500))
                }
            }
        } catch {
            openCount -= 1
            wakeWaiterForFreeSlot()
            throw error
        }
    }

    private func release(_ connection: PostgresConnection) {
        let usable = connection.isUsable
        guard usable, !isClosed else {
            connection.close()
            openCount -= 1
            if !usable { logger.debug("dropping a broken database connection") }
            wakeWaiterForFreeSlot()
            return
        }
        if !waiters.isEmpty {
            waiters.removeFirst().resume(returning: connection)
        } else {
            idle.append(connection)
        }
    }

    private func wakeWaiterForFreeSlot() {
        guard !waiters.isEmpty else { return }
        waiters.removeFirst().resume(returning: nil)
    }
}
