import CLibPQ
import Dispatch
import Foundation
import ITSMSystem
import Logging
import Synchronization

/// One connection to PostgreSQL through libpq.
///
/// libpq calls block, so every call on the connection runs on the connection's own thread
/// (`ConnectionThread`), never on Swift's cooperative thread pool. The connection owns its `PGconn`
/// and finishes it exactly once (`close()` or deinit); every `PGresult` is copied into Swift
/// values and cleared before a call returns or throws.
///
/// ```swift
/// let connection = try await PostgresConnection.connect(to: "postgresql://itsm@localhost/itsm", logger: logger)
/// defer { connection.close() }
/// let rows = try await connection.query("SELECT number FROM incident.incident WHERE id = \(id)")
/// ```
public final class PostgresConnection: @unchecked Sendable {
    // `handle` and `isClosed` are touched only on `thread`; `cancelHandle` only under `cancelLock`.
    private let handle: OpaquePointer
    /// Where libpq is called, and where a borrower's code runs (see `ConnectionThread`).
    let thread: ConnectionThread
    private var isClosed = false
    private var cancelHandle: OpaquePointer?
    private let cancelLock = NSLock()
    /// libpq's status after the last call, recorded on the thread so the pool can read it
    /// without another hop there.
    private let usable = Atomic<Bool>(true)
    public let logger: Logger
    /// The statements this connection has prepared, by parameter types and text (touched only
    /// on `thread`). Parsing and planning every statement anew was more than half of
    /// PostgreSQL's time for a create (docs/benchmarks.md); a prepared one is planned again only
    /// while PostgreSQL finds a plan for its values better than the generic one.
    private var prepared: [String: (name: String, lastUse: Int)] = [:]
    /// Between `beginTransaction` and `endTransaction` (touched only on `thread`, like the two below).
    private var inTransaction = false
    /// A transaction has begun here and `BEGIN` is not sent yet: it goes with the transaction's
    /// first statement, one round trip for both.
    private var beginPending = false
    /// Statements whose answer nobody reads, held to go with `COMMIT` (`queryAtCommit`).
    private var atCommit: [PostgresQuery] = []
    private var preparedNames = 0
    private var uses = 0
    /// At most this many, so a connection's server memory stays bounded: the one used longest
    /// ago makes way for a new one.
    static let preparedLimit = 100

    private init(handle: OpaquePointer, thread: ConnectionThread, logger: Logger) {
        self.handle = handle
        self.thread = thread
        self.logger = logger
        self.cancelHandle = PQgetCancel(handle)
    }

    deinit {
        if !isClosed {
            PQfinish(handle)
        }
        if let cancelHandle { PQfreeCancel(cancelHandle) }
        thread.stop()
    }

    /// Opens a connection. `conninfo` is a `postgresql://` URL or a `key=value` string.
    public static func connect(
        to conninfo: String,
        applicationName: String = "itsm",
        logger: Logger
    ) async throws -> PostgresConnection {
        let thread = ConnectionThread(name: "itsm.postgres")
        return try await withCheckedThrowingContinuation { continuation in
            thread.async {
                continuation.resume(with: Result {
                    do {
                        return try openBlocking(conninfo: conninfo, applicationName: applicationName, thread: thread, logger: logger)
                    } catch {
                        thread.stop()
                        throw error
                    }
                })
            }
        }
    }

    private static func openBlocking(
        conninfo: String, applicationName: String, thread: ConnectionThread, logger: Logger
    ) throws -> PostgresConnection {
        // Defaults first: with expand_dbname, values from the caller's conninfo override them.
        let keywords = ["connect_timeout", "application_name", "dbname", nil]
        let values = ["10", applicationName, conninfo, nil]
        let connection = CStrings.with(keywords) { keywords in
            CStrings.with(values) { values in PQconnectdbParams(keywords, values, 1) }
        }
        guard let connection else {
            throw PostgresError(code: .connectionFailed, message: "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = errorMessage(of: connection)
            PQfinish(connection)
            throw PostgresError(code: .connectionFailed, message: message, sqlState: refusalState(message))
        }
        clibpq_silence_notices(connection)
        let opened = PostgresConnection(handle: connection, thread: thread, logger: logger)
        // Fixed session settings make the text format of timestamps predictable.
        _ = try opened.executeScriptBlocking(
            "SET client_encoding TO 'UTF8'; SET TIME ZONE 'UTC'; SET DateStyle TO ISO, YMD")
        return opened
    }

    /// The SQLSTATE of a server's refusal to start a session, which libpq gives only as text:
    /// out of connection slots, its own or a role's or database's limit (53300), or not accepting
    /// connections yet (57P03).
    static func refusalState(_ message: String) -> SQLState? {
        if message.contains("too many clients") || message.contains("too many connections")
            || message.contains("connection slots are reserved") {
            return .tooManyConnections
        }
        if message.contains("the database system is starting up") || message.contains("not yet accepting connections")
            || message.contains("the database system is in recovery mode") {
            return .cannotConnectNow
        }
        return nil
    }

    /// Runs one statement with its parameters and returns its rows.
    ///
    /// Cancelling the calling task cancels the statement: it is not sent if it has not been
    /// yet, and otherwise the server is asked to cancel it (`StatementCancellation`).
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await queries([query])[0]
    }

    /// Runs `queries` in one round trip and returns their rows in order: for statements that
    /// do not need each other's answers. The first failure is thrown and the ones after it did
    /// not run; outside a transaction they succeed or fail together. Cancelled as `query` is.
    public func queries(_ queries: [PostgresQuery]) async throws -> [PostgresRows] {
        guard !queries.isEmpty else { return [] }
        let cancellation = StatementCancellation()
        return try await withTaskCancellationHandler {
            try await onThread { try cancellation.run { try self.queriesBlocking(queries) } }
        } onCancel: {
            cancellation.cancel { self.cancelRunningStatement() }
        }
    }

    /// Runs a script of one or more statements with no parameters (e.g. a migration).
    public func executeScript(unsafeSQL script: String) async throws {
        try await onThread { _ = try self.executeScriptBlocking(script) }
    }

    /// Bulk-loads `rows` with `COPY ... FROM STDIN` (text format) through libpq's copy API:
    /// one round of messages instead of a statement per row. `copyStatement` is fixed SQL
    /// naming the table and columns; the values travel as data, never as SQL. Returns the
    /// number of rows copied.
    @discardableResult
    public func copyIn(unsafeSQL copyStatement: String, rows: [[String?]]) async throws -> Int {
        try await onThread { try self.copyInBlocking(copyStatement, rows: rows) }
    }

    /// False once the connection is closed or libpq saw it break in the last call.
    public var isUsable: Bool { usable.load(ordering: .acquiring) }

    /// Whether an idle connection still looks open: nothing should arrive on it between
    /// statements, so a hang-up, an error or anything to read (a server that shut down, or
    /// terminated this session, says so before it closes) means it is gone. Without asking,
    /// libpq finds out only when the next statement fails, and that caller gets the error.
    /// Call only while no statement runs on it (a pool's idle connection).
    var looksOpenWhileIdle: Bool {
        guard isUsable else { return false }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 0
    }

    /// Closes the connection; later calls fail with `connectionClosed`.
    public func close() {
        usable.store(false, ordering: .releasing)
        thread.async {
            guard !self.isClosed else { return }
            self.isClosed = true
            self.cancelLock.withLock {
                if let cancelHandle = self.cancelHandle { PQfreeCancel(cancelHandle) }
                self.cancelHandle = nil
            }
            PQfinish(self.handle)
        }
    }

    /// Runs `body` with this connection's thread as its task executor: its statements are then
    /// plain calls rather than two thread switches each. For whoever has the connection to
    /// itself (a pool's borrower, a transaction).
    public func withAffinity<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> Result
    ) async throws -> Result {
        try await withTaskExecutorPreference(thread, isolation: isolation, operation: body)
    }

    /// Starts a transaction; its `BEGIN` goes with its first statement.
    func beginTransaction() async throws {
        try await onThread {
            try self.ensureOpen()
            self.inTransaction = true
            self.beginPending = true
            self.atCommit = []
        }
    }

    /// Commits (with the statements held for it) or rolls back. A transaction that sent nothing
    /// ends here without a round trip.
    func endTransaction(committing: Bool) async throws {
        try await onThread { try self.endTransactionBlocking(committing: committing) }
    }

    /// In a transaction, runs `query` when it commits, in the same round trip as `COMMIT`, and
    /// not at all if it rolls back; outside one, runs it now. For a statement whose answer is
    /// not needed and whose failure may as well be the commit's (the outbox row of an event):
    /// such a failure fails the commit, and the transaction rolls back.
    public func queryAtCommit(_ query: PostgresQuery) async throws {
        try await onThread {
            guard self.inTransaction else { return _ = try self.queriesBlocking([query]) }
            self.atCommit.append(query)
        }
    }

    // MARK: - On the connection's thread

    private func onThread<R: Sendable>(_ work: @escaping @Sendable () throws -> R) async throws -> R {
        if thread.isCurrent { return try work() }
        return try await withCheckedThrowingContinuation { continuation in
            thread.async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Runs `queries` in one round trip (with a pending `BEGIN` ahead of them).
    private func queriesBlocking(_ queries: [PostgresQuery], retry: Bool = true) throws -> [PostgresRows] {
        try ensureOpen()
        let (statements, keys) = try steps(for: queries)
        let steps = beginPending ? [.plain("BEGIN")] + statements : statements
        beginPending = false
        do {
            return try run(steps)
        } catch let error as PostgresError where !keys.isEmpty && Self.invalidatesPrepared(error) {
            // The server's copy no longer fits (a table it reads changed shape) or is gone: it
            // is prepared again, and run again at once unless a transaction it was in failed
            // (outside one, the statements of a round trip succeed or fail together).
            keys.forEach { prepared[$0] = nil }
            guard retry, PQtransactionStatus(handle) == PQTRANS_IDLE else { throw error }
            return try queriesBlocking(queries, retry: false)
        }
    }

    /// One thing sent to the server: a statement without parameters (`BEGIN`, `COMMIT`), a
    /// statement's preparation, or a statement's run (by its prepared name if it has one).
    private enum Step {
        case plain(String)
        case prepare(name: String, key: String, sql: String, types: [UInt32])
        case run(PostgresQuery, name: String?, types: [UInt32])

        var text: String {
            switch self {
            case .plain(let sql): sql
            case .prepare(_, _, let sql, _): sql
            case .run(let query, _, _): query.sql
            }
        }
    }

    /// The steps that run `queries`, each prepared first when it is new to the connection, and
    /// the keys (`prepared`) of those that run as prepared statements.
    private func steps(for queries: [PostgresQuery]) throws -> (steps: [Step], keys: [String]) {
        var steps: [Step] = []
        var keys: [String] = []
        for query in queries {
            // libpq takes parameters as C strings: a NUL would silently cut the value short there
            // (`alice\0x` would name `alice`), so such a value is refused instead.
            if let index = query.binds.firstIndex(where: { $0?.utf8.contains(0) == true }) {
                throw PostgresError(code: .encodingFailed, message: "parameter $\(index + 1) contains a NUL character, which PostgreSQL text cannot hold")
            }
            let types = query.bindTypes.map(\.rawValue)
            let key = types.map(String.init).joined(separator: ",") + ";" + query.sql
            uses += 1
            if let name = prepared[key]?.name {
                prepared[key]?.lastUse = uses
                steps.append(.run(query, name: name, types: types))
                keys.append(key)
            } else if query.reusesPlan, prepared.count < Self.preparedLimit || deallocateLeastRecentlyUsed() {
                preparedNames += 1
                let name = "itsm_\(preparedNames)"
                steps += [.prepare(name: name, key: key, sql: query.sql, types: types), .run(query, name: name, types: types)]
                keys.append(key)
            } else {
                steps.append(.run(query, name: nil, types: types))
            }
        }
        return (steps, keys)
    }

    /// Sends `steps` and returns the rows of each statement run. One step goes as one call;
    /// several go in one round trip (libpq's pipeline mode). The first failure is thrown; the
    /// server skips what followed it. A preparation that succeeded is remembered whatever came
    /// after it.
    private func run(_ steps: [Step]) throws -> [PostgresRows] {
        if steps.count == 1, case .run(let query, let name, let types) = steps[0] {
            let result = CStrings.with(query.binds) { values in
                if let name { return PQexecPrepared(handle, name, Int32(query.binds.count), values, nil, nil, 0) }
                return types.withUnsafeBufferPointer { types in
                    PQexecParams(handle, query.sql, Int32(query.binds.count), types.baseAddress, values, nil, nil, 0)
                }
            }
            return [try consume(result, statement: query.sql)]
        }
        guard PQenterPipelineMode(handle) == 1 else {
            throw PostgresError(code: .connectionClosed, message: Self.errorMessage(of: handle))
        }
        // Left with results unread (a send that failed, a connection lost midway), libpq stays
        // in pipeline mode, where no plain call works: the pool must not lend it again.
        defer { if PQexitPipelineMode(handle) != 1 { usable.store(false, ordering: .releasing) } }
        var queued = true
        for step in steps where queued {
            switch step {
            case .plain(let sql):
                queued = PQsendQueryParams(handle, sql, 0, nil, nil, nil, nil, 0) == 1
            case .prepare(let name, _, let sql, let types):
                queued = types.withUnsafeBufferPointer { PQsendPrepare(handle, name, sql, Int32($0.count), $0.baseAddress) } == 1
            case .run(let query, let name, let types):
                queued = CStrings.with(query.binds) { values in
                    if let name { return PQsendQueryPrepared(handle, name, Int32(query.binds.count), values, nil, nil, 0) }
                    return types.withUnsafeBufferPointer { types in
                        PQsendQueryParams(handle, query.sql, Int32(query.binds.count), types.baseAddress, values, nil, nil, 0)
                    }
                } == 1
            }
        }
        guard queued, PQpipelineSync(handle) == 1 else {
            throw PostgresError(code: .connectionClosed, message: Self.errorMessage(of: handle))
        }
        // Each step's results end with a null result; the sync point's own result closes the pipeline.
        var answers: [PostgresRows] = []
        var firstError: (any Error)?
        for step in steps {
            guard let result = PQgetResult(handle) else {
                throw PostgresError(code: .connectionClosed, message: Self.errorMessage(of: handle))
            }
            if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                PQclear(result)
            } else {
                do {
                    let rows = try consume(result, statement: step.text)
                    switch step {
                    case .prepare(let name, let key, _, _): prepared[key] = (name, uses)
                    case .run: answers.append(rows)
                    case .plain: break
                    }
                } catch {
                    firstError = firstError ?? error
                }
            }
            while let extra = PQgetResult(handle) { PQclear(extra) }
        }
        guard let sync = PQgetResult(handle) else {
            throw PostgresError(code: .connectionClosed, message: Self.errorMessage(of: handle))
        }
        let synced = PQresultStatus(sync) == PGRES_PIPELINE_SYNC
        PQclear(sync)
        if let firstError { throw firstError }
        guard synced else {
            throw PostgresError(code: .connectionClosed, message: "the pipeline ended early: \(Self.errorMessage(of: handle))")
        }
        return answers
    }

    private func endTransactionBlocking(committing: Bool) throws {
        let held = committing ? atCommit : []
        let begun = !beginPending
        defer {
            inTransaction = false
            beginPending = false
            atCommit = []
        }
        guard begun || !held.isEmpty else { return }
        try ensureOpen()
        var keys: [String] = []
        do {
            let statements: [Step]
            (statements, keys) = try steps(for: held)
            _ = try run((begun ? [] : [.plain("BEGIN")]) + statements + [.plain(committing ? "COMMIT" : "ROLLBACK")])
        } catch {
            // A held statement that failed left the transaction open and aborted.
            if PQtransactionStatus(handle) != PQTRANS_IDLE { _ = try? consume(PQexec(handle, "ROLLBACK"), statement: "ROLLBACK") }
            if let error = error as? PostgresError, Self.invalidatesPrepared(error) { keys.forEach { prepared[$0] = nil } }
            throw error
        }
    }

    /// Sends a pending `BEGIN` on its own, for what cannot carry it (a script, COPY).
    private func sendPendingBegin() throws {
        guard beginPending else { return }
        beginPending = false
        _ = try consume(PQexec(handle, "BEGIN"), statement: "BEGIN")
    }

    /// Makes room for a statement to prepare; false when the server refused (a failed
    /// transaction takes nothing until it ends), and the new statement then runs unprepared.
    private func deallocateLeastRecentlyUsed() -> Bool {
        guard let (key, oldest) = prepared.min(by: { $0.value.lastUse < $1.value.lastUse }),
              let result = PQexec(handle, "DEALLOCATE \(oldest.name)") else { return false }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else { return false }
        prepared[key] = nil
        return true
    }

    /// "cached plan must not change result type" (0A000) and "prepared statement does not
    /// exist" (26000).
    private static func invalidatesPrepared(_ error: PostgresError) -> Bool {
        error.sqlState?.rawValue == "0A000" || error.sqlState?.rawValue == "26000"
    }

    private func copyInBlocking(_ statement: String, rows: [[String?]]) throws -> Int {
        try ensureOpen()
        try sendPendingBegin()
        guard let started = PQexec(handle, statement) else {
            throw PostgresError(code: .connectionClosed, message: Self.errorMessage(of: handle))
        }
        guard PQresultStatus(started) == PGRES_COPY_IN else { _ = try consume(started, statement: statement); return 0 }
        PQclear(started)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 18)
        var failure: String?
        func flush() {
            guard !buffer.isEmpty, failure == nil else { return }
            let sent = buffer.withUnsafeBufferPointer { bytes in
                bytes.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count) { PQputCopyData(handle, $0, Int32(bytes.count)) }
            }
            if sent != 1 { failure = Self.errorMessage(of: handle) }
            buffer.removeAll(keepingCapacity: true)
        }
        for row in rows {
            for (index, value) in row.enumerated() {
                if index > 0 { buffer.append(UInt8(ascii: "\t")) }
                guard let value else { buffer.append(contentsOf: Array("\\N".utf8)); continue }
                // Most values need no escaping and go in as one copy.
                guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 < 0x20 }) else {
                    buffer.append(contentsOf: value.utf8)
                    continue
                }
                for byte in value.utf8 {
                    switch byte {
                    case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                    case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                    case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                    case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                    default: buffer.append(byte)
                    }
                }
            }
            buffer.append(UInt8(ascii: "\n"))
            if buffer.count >= 1 << 18 { flush() }
        }
        flush()
        _ = PQputCopyEnd(handle, failure)
        // Every result must be read before the connection takes another statement.
        var copied = 0
        var firstError: (any Error)?
        while let result = PQgetResult(handle) {
            do {
                copied += try consume(result, statement: statement).affectedRows
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
        return copied
    }

    private func executeScriptBlocking(_ script: String) throws -> PostgresRows {
        try ensureOpen()
        try sendPendingBegin()
        return try consume(PQexec(handle, script), statement: script)
    }

    private func ensureOpen() throws {
        if isClosed {
            throw PostgresError(code: .connectionClosed, message: "the connection was closed")
        }
    }

    /// Copies a result into Swift values and clears it, or turns it into an error.
    private func consume(_ result: OpaquePointer?, statement: String) throws -> PostgresRows {
        defer { usable.store(PQstatus(handle) == CONNECTION_OK, ordering: .releasing) }
        guard let result else {
            var error = PostgresError(code: .connectionClosed, message: Self.errorMessage(of: handle))
            error.query = statement
            throw error
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(columns: PostgresColumns(names: [], types: []), cells: [],
                                affectedRows: Int(String(cString: PQcmdTuples(result))) ?? 0)
        case PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE:
            return Self.copyRows(of: result)
        default:
            throw serverError(from: result, statement: statement)
        }
    }

    private static func copyRows(of result: OpaquePointer) -> PostgresRows {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var names: [String] = []
        var types: [PostgresDataType] = []
        for column in 0..<Int32(columnCount) {
            names.append(String(cString: PQfname(result, column)))
            types.append(PostgresDataType(rawValue: PQftype(result, column)))
        }
        var cells: [[String?]] = []
        cells.reserveCapacity(rowCount)
        for row in 0..<Int32(rowCount) {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) == 1 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, row, column)))
                }
            }
            cells.append(values)
        }
        return PostgresRows(columns: PostgresColumns(names: names, types: types), cells: cells,
                            affectedRows: Int(String(cString: PQcmdTuples(result))) ?? 0)
    }

    private func serverError(from result: OpaquePointer, statement: String) -> PostgresError {
        func field(_ code: Int32) -> String? {
            PQresultErrorField(result, code).map { String(cString: $0) }
        }
        let sqlState = field(CLIBPQ_DIAG_SQLSTATE).map(SQLState.init(rawValue:))
        let broken = PQstatus(handle) != CONNECTION_OK
        let code: PostgresError.Code = (sqlState == nil && broken) ? .connectionClosed : .server
        let primary = field(CLIBPQ_DIAG_MESSAGE_PRIMARY) ?? Self.errorMessage(of: handle)
        var error = PostgresError(code: code, message: primary, sqlState: sqlState)
        error.detail = field(CLIBPQ_DIAG_MESSAGE_DETAIL)
        error.hint = field(CLIBPQ_DIAG_MESSAGE_HINT)
        error.schema = field(CLIBPQ_DIAG_SCHEMA_NAME)
        error.table = field(CLIBPQ_DIAG_TABLE_NAME)
        error.column = field(CLIBPQ_DIAG_COLUMN_NAME)
        error.constraint = field(CLIBPQ_DIAG_CONSTRAINT_NAME)
        error.query = statement
        return error
    }

    private func cancelRunningStatement() {
        cancelLock.withLock {
            guard let cancelHandle else { return }
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(cancelHandle, &buffer, Int32(buffer.count))
        }
    }

    static func errorMessage(of connection: OpaquePointer) -> String {
        guard let message = PQerrorMessage(connection) else { return "unknown libpq error" }
        return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Temporary C strings for libpq calls, freed when the body returns.
enum CStrings {
    static func with<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
        let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { $0.map { UnsafePointer($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

extension PostgresConnection {
    /// Waits for notifications on the connection's thread until stopped or disconnected, then
    /// closes the connection. The listener has the connection to itself once `LISTEN` is done.
    func receiveNotifications(
        until stopFlag: StopFlag,
        into continuation: AsyncThrowingStream<PostgresNotification, any Error>.Continuation
    ) {
        thread.async { [self] in
            defer { close() }
            let socket = PQsocket(handle)
            while !stopFlag.isStopped {
                var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
                let ready = poll(&descriptor, 1, 200)
                if ready < 0 && errno != EINTR { break }
                if ready <= 0 { continue }
                guard PQconsumeInput(handle) == 1 else {
                    continuation.finish(throwing: PostgresError(
                        code: .connectionClosed, message: Self.errorMessage(of: handle)))
                    return
                }
                while let notify = PQnotifies(handle) {
                    let notification = PostgresNotification(
                        channel: String(cString: notify.pointee.relname),
                        payload: String(cString: notify.pointee.extra),
                        senderPID: notify.pointee.be_pid)
                    PQfreemem(notify)
                    continuation.yield(notification)
                }
            }
            continuation.finish()
        }
    }
}

/// The cancellation of one statement. A cancel request that reaches the server before the
/// statement does is lost (a loaded machine can take longer than the caller's patience to send
/// it), so it is sent again every 100 ms until the statement ends. It is sent only while this
/// statement runs, under the lock that ends it, so it never reaches the next statement on the
/// connection; one cancelled before it was sent is not sent at all.
final class StatementCancellation: Sendable {
    private struct State {
        var cancelled = false
        var running = false
        var finished = false
    }

    private let state = Mutex(State())

    /// Runs the statement, unless it was cancelled first.
    func run<R>(_ statement: () throws -> R) throws -> R {
        let start = state.withLock { state -> Bool in
            state.running = !state.cancelled
            state.finished = state.cancelled
            return state.running
        }
        guard start else {
            throw PostgresError(code: .server, message: "canceling statement due to user request", sqlState: .queryCanceled)
        }
        defer { state.withLock { $0.finished = true } }
        return try statement()
    }

    /// Asks for the statement's cancellation with `send` until it ends.
    func cancel(_ send: @escaping @Sendable () -> Void) {
        let first = state.withLock { state -> Bool in
            defer { state.cancelled = true }
            return !state.cancelled && !state.finished
        }
        guard first else { return }
        Task.detached { [self] in
            while state.withLock({ state -> Bool in
                guard !state.finished else { return false }
                if state.running { send() }
                return true
            }) {
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}
