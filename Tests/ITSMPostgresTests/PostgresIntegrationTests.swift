import Foundation
@testable import ITSMPostgres
import ITSMTesting
import Logging
import Testing

let logger = Logger(label: "itsm.test.postgres")

@Suite struct PostgresIntegrationTests {
    @Test func copyInLoadsAwkwardValuesAndABadRowFailsTheWholeCopy() async throws {
        let database = try await TestPostgres.makeDatabase(label: "copy")
        let connection = try await PostgresConnection.connect(to: database.conninfo, logger: logger)
        defer { connection.close() }
        try await connection.query("CREATE TABLE t (n int, label text)")
        let awkward = ["tab\there", "line\nbreak", "back\\slash", "\\N literally", "ünïcode ✓", "carriage\rreturn"]
        let copied = try await connection.copyIn(unsafeSQL: "COPY t (n, label) FROM STDIN",
                                                 rows: awkward.enumerated().map { [String($0), $1] } + [["99", nil]])
        #expect(copied == 7)
        let back = try await connection.query("SELECT n, label FROM t ORDER BY n")
        #expect(try back.map { try $0.decode(String?.self, "label") } == awkward.map(Optional.some) + [nil])

        await #expect(throws: PostgresError.self) {
            try await connection.copyIn(unsafeSQL: "COPY t (n, label) FROM STDIN", rows: [["1", "ok"], ["not a number", "bad"]])
        }
        // Nothing of the failed copy is there, and the connection takes the next statement.
        #expect(try await connection.query("SELECT count(*) AS c FROM t").single().decode(Int.self, "c") == 7)
    }

    @Test func aStatementIsPreparedOnceAndPreparedAgainWhenItsTableChangesShape() async throws {
        let database = try await TestPostgres.makeDatabase(label: "prepared")
        let connection = try await PostgresConnection.connect(to: database.conninfo, logger: logger)
        defer { connection.close() }
        try await connection.query("CREATE TABLE t (n int)")
        for n in 1...3 { try await connection.query("INSERT INTO t (n) VALUES (\(n))") }
        func prepared(_ text: String) async throws -> Int {
            try await connection.query("SELECT count(*) AS n FROM pg_prepared_statements WHERE statement = \(text)").single().decode(Int.self, "n")
        }
        #expect(try await prepared("INSERT INTO t (n) VALUES ($1)") == 1)
        // Planned for its values each run: never prepared.
        for n in 1...3 { try await connection.query(PostgresQuery("SELECT n FROM t WHERE n = \(n)").plannedForEachRun()) }
        #expect(try await prepared("SELECT n FROM t WHERE n = $1") == 0)
        // A table that changes shape under a prepared statement: it is prepared again and answers.
        #expect(try await connection.query("SELECT * FROM t ORDER BY n").columns.names == ["n"])
        try await connection.query("ALTER TABLE t ADD COLUMN label text")
        #expect(try await connection.query("SELECT * FROM t ORDER BY n").columns.names == ["n", "label"])
        // Inside a transaction the failure stands (the transaction cannot go on), and the next use works.
        try await connection.query("BEGIN")
        try await connection.query("ALTER TABLE t ADD COLUMN extra int")
        let failed = await #expect(throws: PostgresError.self) { try await connection.query("SELECT * FROM t ORDER BY n") }
        #expect(failed?.sqlState?.rawValue == "0A000", "\(String(describing: failed))")
        try await connection.query("ROLLBACK")
        #expect(try await connection.query("SELECT * FROM t ORDER BY n").count == 3)
    }

    @Test func theStatementUsedLongestAgoMakesWayWhenAConnectionHasPreparedItsLimit() async throws {
        let database = try await TestPostgres.makeDatabase(label: "preparedlru")
        let connection = try await PostgresConnection.connect(to: database.conninfo, logger: logger)
        defer { connection.close() }
        func statement(_ index: Int) -> PostgresQuery {
            "SELECT \(index) AS n WHERE \(unsafeSQL: String(index)) = \(unsafeSQL: String(index))"
        }
        // The first is used again every ten; the others once each, 120 of them.
        for index in 0...120 {
            if index > 0 { try await connection.query(statement(index)) }
            if index % 10 == 0 { try await connection.query(statement(0)) }
        }
        let names = try await connection.query("SELECT statement FROM pg_prepared_statements").map { try $0.decode(String.self, "statement") }
        #expect(names.count == 100, "\(names.count)")
        #expect(names.contains("SELECT $1 AS n WHERE 0 = 0") && names.contains("SELECT $1 AS n WHERE 120 = 120"))
        #expect(!names.contains("SELECT $1 AS n WHERE 1 = 1"))
        // One made way for is prepared again when it comes back, and answers.
        #expect(try await connection.query(statement(1)).single().decode(Int.self, "n") == 1)
    }

    @Test func roundTripsEveryDecodedType() async throws {
        let database = try await TestPostgres.makeDatabase(label: "types")
        let connection = try await PostgresConnection.connect(to: database.conninfo, logger: logger)
        defer { connection.close() }
        let id = UUID()
        let now = Date(timeIntervalSince1970: 1_795_454_529.123456)
        let row = try await connection.query("""
            SELECT \("text 'quoted' ünïcode")::text AS t, \(42)::int4 AS i, \(Int64.max)::int8 AS big,
                   \(true) AS b, \(1.5) AS d, \(Decimal(string: "12345.678")!)::numeric AS n,
                   \(now) AS ts, \(id) AS u, \(try PostgresJSON(encoding: ["k": [1, 2]])) AS j,
                   \(["x", "y z", ""]) AS arr, NULL::text AS missing
            """).single()
        #expect(try row.decode(String.self, "t") == "text 'quoted' ünïcode")
        #expect(try row.decode(Int.self, "i") == 42)
        #expect(try row.decode(Int64.self, "big") == Int64.max)
        #expect(try row.decode(Bool.self, "b") == true)
        #expect(try row.decode(Double.self, "d") == 1.5)
        #expect(try row.decode(Decimal.self, "n") == Decimal(string: "12345.678")!)
        #expect(abs(try row.decode(Date.self, "ts").timeIntervalSince(now)) < 0.000_001)
        #expect(try row.decode(UUID.self, "u") == id)
        #expect(try row.decode(PostgresJSON.self, "j").decode([String: [Int]].self) == ["k": [1, 2]])
        #expect(try row.decode([String].self, "arr") == ["x", "y z", ""])
        #expect(try row.decode(String?.self, "missing") == nil)
        #expect(throws: PostgresError.self) { try row.decode(String.self, "missing") }
        #expect(throws: PostgresError.self) { try row.decode(String.self, "no_such_column") }
    }

    @Test func serverErrorsCarrySQLStateAndConstraint() async throws {
        let database = try await TestPostgres.makeDatabase(label: "errors")
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        try await pool.query("CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL CONSTRAINT name_not_blank CHECK (name <> ''))")
        try await pool.query("INSERT INTO item VALUES (\(1), \("one"))")

        let duplicate = await #expect(throws: PostgresError.self) {
            try await pool.query("INSERT INTO item VALUES (\(1), \("again"))")
        }
        #expect(duplicate?.sqlState == .uniqueViolation)
        #expect(duplicate?.constraint == "item_pkey")
        #expect(duplicate?.table == "item")
        #expect(duplicate?.description == "database error 23505")
        #expect(duplicate?.debugDescription.contains("duplicate key") == true)

        let blank = await #expect(throws: PostgresError.self) {
            try await pool.query("INSERT INTO item VALUES (\(2), \(""))")
        }
        #expect(blank?.sqlState == .checkViolation)
        #expect(blank?.constraint == "name_not_blank")

        let syntax = await #expect(throws: PostgresError.self) { try await pool.query("SELEC 1") }
        #expect(syntax?.sqlState == .syntaxError)
        // The connection is still usable after errors.
        #expect(try await pool.query("SELECT count(*) AS n FROM item").single().decode(Int.self, "n") == 1)
        await pool.close()
    }

    @Test func injectionAttemptIsJustAValue() async throws {
        let database = try await TestPostgres.makeDatabase(label: "inject")
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        try await pool.query("CREATE TABLE note (body text)")
        let hostile = "x'); DROP TABLE note; --"
        try await pool.query("INSERT INTO note VALUES (\(hostile))")
        let body = try await pool.query("SELECT body FROM note").single().decode(String.self, "body")
        #expect(body == hostile)
        await pool.close()
    }

    @Test func aValueWithANulIsRefusedNotCutShort() async throws {
        let database = try await TestPostgres.makeDatabase(label: "nul")
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        try await pool.query("CREATE TABLE account (name text)")
        try await pool.query("INSERT INTO account VALUES ('alice')")
        let sneaky = "alice\u{0}mallory"
        await #expect(throws: PostgresError.self) { try await pool.query("DELETE FROM account WHERE name = \(sneaky)") }
        #expect(try await pool.query("SELECT count(*) AS n FROM account").single().decode(Int.self, "n") == 1)
        await pool.close()
    }

    @Test func transactionCommitsOrRollsBack() async throws {
        let database = try await TestPostgres.makeDatabase(label: "tx")
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        try await pool.query("CREATE TABLE ledger (n int)")
        try await pool.withTransaction { tx in
            try await tx.query("INSERT INTO ledger VALUES (\(1))")
            try await tx.query("INSERT INTO ledger VALUES (\(2))")
        }
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await pool.withTransaction { tx in
                try await tx.query("INSERT INTO ledger VALUES (\(3))")
                throw Boom()
            }
        }
        // A failing statement aborts the whole transaction, including earlier statements.
        await #expect(throws: PostgresError.self) {
            try await pool.withTransaction { tx in
                try await tx.query("INSERT INTO ledger VALUES (\(4))")
                try await tx.query("INSERT INTO ledger VALUES (\("not a number"))")
            }
        }
        let values = try await pool.query("SELECT n FROM ledger ORDER BY n").map { try $0.decode(Int.self, "n") }
        #expect(values == [1, 2])
        await pool.close()
    }

    /// `BEGIN` is not sent on its own: it goes with the transaction's first statement, and
    /// whatever that statement is, the transaction behaves as if it had gone first.
    @Test func aTransactionsBeginTravelsWithItsFirstStatement() async throws {
        let database = try await TestPostgres.makeDatabase(label: "txbegin")
        let connection = try await PostgresConnection.connect(to: database.conninfo, logger: logger)
        defer { connection.close() }
        try await connection.query("CREATE TABLE ledger (n int)")
        func inTransaction() async throws -> Bool {
            try await connection.query("SELECT pg_current_xact_id_if_assigned() IS NOT NULL AS open").single().decode(Bool.self, "open")
        }
        // One transaction: the statements share its id, whether their text is new to the connection or not.
        for _ in 1...2 {
            let ids = try await connection.withTransaction { tx in
                [try await tx.query("SELECT pg_current_xact_id()::text AS id").single().decode(String.self, "id"),
                 try await tx.query("SELECT pg_current_xact_id()::text AS id, 2 AS second").single().decode(String.self, "id")]
            }
            #expect(ids[0] == ids[1])
        }
        // A first statement that fails (in its preparation, or when it runs) fails the transaction, which is rolled back.
        let syntax = await #expect(throws: PostgresError.self) {
            try await connection.withTransaction { tx in try await tx.query("SELEC 1") }
        }
        #expect(syntax?.sqlState?.rawValue == "42601")
        for _ in 1...2 {
            let division = await #expect(throws: PostgresError.self) {
                try await connection.withTransaction { tx in try await tx.query("INSERT INTO ledger SELECT 1 / \(0)") }
            }
            #expect(division?.sqlState?.rawValue == "22012")
        }
        #expect(try await inTransaction() == false)
        // Nothing run: nothing sent, and the connection is free for the next.
        #expect(try await connection.withTransaction { _ in 42 } == 42)
        #expect(try await inTransaction() == false)
        // A script or a COPY first: BEGIN goes ahead of it, so a rollback takes it back.
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await connection.withTransaction { tx in
                try await tx.executeScript(unsafeSQL: "INSERT INTO ledger VALUES (1); INSERT INTO ledger VALUES (2)")
                throw Boom()
            }
        }
        await #expect(throws: Boom.self) {
            try await connection.withTransaction { tx in
                _ = try await tx.copyIn(unsafeSQL: "COPY ledger (n) FROM STDIN", rows: [["3"]])
                throw Boom()
            }
        }
        try await connection.withTransaction { tx in
            try await tx.query("INSERT INTO ledger VALUES (\(4))")
        }
        #expect(try await connection.query("SELECT n FROM ledger").map { try $0.decode(Int.self, "n") } == [4])
    }

    /// Statements held for the commit run with it, in order, or not at all; one that fails
    /// fails the commit and takes the transaction back.
    @Test func statementsHeldForTheCommitRunWithItOrNotAtAll() async throws {
        let database = try await TestPostgres.makeDatabase(label: "txatcommit")
        let connection = try await PostgresConnection.connect(to: database.conninfo, logger: logger)
        defer { connection.close() }
        try await connection.query("CREATE TABLE ledger (n int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())")
        func values() async throws -> [Int] {
            try await connection.query("SELECT n FROM ledger ORDER BY at").map { try $0.decode(Int.self, "n") }
        }
        let seenInside = try await connection.withTransaction { tx in
            try await tx.query("INSERT INTO ledger (n) VALUES (\(1))")
            try await tx.queryAtCommit("INSERT INTO ledger (n) VALUES (\(3))")
            try await tx.queryAtCommit("INSERT INTO ledger (n) VALUES (\(2))")
            return try await tx.query("SELECT count(*) AS n FROM ledger").single().decode(Int.self, "n")
        }
        #expect(seenInside == 1)
        #expect(try await values() == [1, 3, 2])
        // Only held statements: BEGIN, they and COMMIT together.
        try await connection.withTransaction { tx in try await tx.queryAtCommit("INSERT INTO ledger (n) VALUES (\(4))") }
        #expect(try await values() == [1, 3, 2, 4])
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await connection.withTransaction { tx in
                try await tx.queryAtCommit("INSERT INTO ledger (n) VALUES (\(5))")
                throw Boom()
            }
        }
        let duplicate = await #expect(throws: PostgresError.self) {
            try await connection.withTransaction { tx in
                try await tx.query("INSERT INTO ledger (n) VALUES (\(6))")
                try await tx.queryAtCommit("INSERT INTO ledger (n) VALUES (\(1))")
                try await tx.queryAtCommit("INSERT INTO ledger (n) VALUES (\(7))")
            }
        }
        #expect(duplicate?.sqlState == .uniqueViolation)
        #expect(try await values() == [1, 3, 2, 4])
        #expect(try await connection.query("SELECT pg_current_xact_id_if_assigned() IS NULL AS idle").single().decode(Bool.self, "idle"))
        // Outside a transaction it runs at once.
        try await connection.queryAtCommit("INSERT INTO ledger (n) VALUES (\(8))")
        #expect(try await values() == [1, 3, 2, 4, 8])
    }

    @Test func statementsSentTogetherAnswerInOrderAndFailTogether() async throws {
        let database = try await TestPostgres.makeDatabase(label: "together")
        let connection = try await PostgresConnection.connect(to: database.conninfo, logger: logger)
        defer { connection.close() }
        try await connection.query("CREATE TABLE ledger (n int PRIMARY KEY)")
        let answers = try await connection.queries([
            "INSERT INTO ledger (n) VALUES (\(1)) RETURNING n", "SELECT count(*) AS n FROM ledger", "SELECT \("x") AS label",
        ])
        #expect(try answers.map { try $0.single().decode(String.self, $0.columns.names[0]) } == ["1", "1", "x"])
        // Outside a transaction the statements of one round trip stand or fall together.
        let duplicate = await #expect(throws: PostgresError.self) {
            try await connection.queries(["INSERT INTO ledger (n) VALUES (\(2))", "INSERT INTO ledger (n) VALUES (\(1))"])
        }
        #expect(duplicate?.sqlState == .uniqueViolation)
        // In one, after its BEGIN.
        let inside = try await connection.withTransaction { tx in
            try await tx.queries(["INSERT INTO ledger (n) VALUES (\(3))", "SELECT pg_current_xact_id()::text AS id"]).count
        }
        #expect(inside == 2)
        #expect(try await connection.query("SELECT n FROM ledger ORDER BY n").map { try $0.decode(Int.self, "n") } == [1, 3])
        #expect(try await connection.queries([]).isEmpty)
    }

    @Test func poolServesMoreCallersThanConnections() async throws {
        let database = try await TestPostgres.makeDatabase(label: "pool")
        let pool = PostgresPool(conninfo: database.conninfo, maximumConnections: 3, logger: logger)
        let pids = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<24 {
                group.addTask {
                    try await pool.withConnection { connection in
                        try await connection.query("SELECT pg_sleep(0.01)")
                        return try await connection.query("SELECT pg_backend_pid() AS pid").single().decode(Int.self, "pid")
                    }
                }
            }
            return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
        }
        #expect(pids.count <= 3)
        #expect(pids.count >= 1)
        await pool.close()
        await #expect(throws: PostgresError.self) { try await pool.query("SELECT 1") }
    }

    /// A server restart or failover ends every idle session; the next caller must get a fresh
    /// connection, not the error of the dead one.
    @Test func aConnectionTheServerEndedWhileIdleIsReplacedBeforeUse() async throws {
        let database = try await TestPostgres.makeDatabase(label: "poolended")
        let pool = PostgresPool(conninfo: database.conninfo, maximumConnections: 2, logger: logger)
        let first = try await pool.query("SELECT pg_backend_pid() AS pid").single().decode(Int.self, "pid")
        let other = try await PostgresConnection.connect(to: database.conninfo, logger: logger)
        defer { other.close() }
        #expect(try await other.query("SELECT pg_terminate_backend(\(first)::int) AS ended").single().decode(Bool.self, "ended"))
        // Once the session has ended, the pool must not hand out its connection.
        var ended = false
        for _ in 0..<250 where !ended {
            ended = try await other.query("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = \(first)").single().decode(Int.self, "n") == 0
            if !ended { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(ended)
        let second = try await pool.query("SELECT pg_backend_pid() AS pid").single().decode(Int.self, "pid")
        #expect(second != first)
        await pool.close()
    }

    /// A server out of connection slots refuses a new session for a moment (a burst, a restart):
    /// the pool waits for a slot instead of failing its caller at once.
    @Test func aPoolWaitsForAServerOutOfConnectionSlots() async throws {
        let database = try await TestPostgres.makeDatabase(label: "slots")
        let admin = try await PostgresConnection.connect(to: database.conninfo, logger: logger)
        defer { admin.close() }
        // A role allowed one session stands in for a full server: the refusal is the same (53300).
        let role = "slots_\(UUID().uuidString.prefix(8).lowercased())"
        try await admin.query(PostgresQuery(unsafeSQL: "CREATE ROLE \(role) LOGIN CONNECTION LIMIT 1"))
        let asRole = database.conninfo + " user=\(role)"
        let holder = try await PostgresConnection.connect(to: asRole, logger: logger)

        let refusal = await #expect(throws: PostgresError.self) { _ = try await PostgresConnection.connect(to: asRole, logger: logger) }
        #expect(refusal?.sqlState == .tooManyConnections && refusal?.isServerBusy == true && refusal?.isTransient == true)

        let pool = PostgresPool(conninfo: asRole, logger: logger)
        let answer = Task { try await pool.query("SELECT 1 AS one").single().decode(Int.self, "one") }
        // The pool is still trying while the slot is taken; once it is free, the query runs.
        try await Task.sleep(for: .milliseconds(300))
        holder.close()
        #expect(try await answer.value == 1)
        await pool.close()
    }

    @Test func refusalsThatPassAreToldFromOnesThatDoNot() {
        #expect(PostgresConnection.refusalState("connection to server on socket \"/run/.s.PGSQL.5432\" failed: FATAL:  sorry, too many clients already")
            == .tooManyConnections)
        #expect(PostgresConnection.refusalState("FATAL:  remaining connection slots are reserved for non-replication superuser connections")
            == .tooManyConnections)
        #expect(PostgresConnection.refusalState("FATAL:  the database system is starting up") == .cannotConnectNow)
        #expect(PostgresConnection.refusalState("FATAL:  the database system is not yet accepting connections") == .cannotConnectNow)
        #expect(PostgresConnection.refusalState("FATAL:  password authentication failed for user \"itsm\"") == nil)
        #expect(PostgresConnection.refusalState("FATAL:  database \"nope\" does not exist") == nil)
    }

    @Test func cancellingTheTaskCancelsTheStatement() async throws {
        let database = try await TestPostgres.makeDatabase(label: "cancel")
        let connection = try await PostgresConnection.connect(to: database.conninfo, logger: logger)
        defer { connection.close() }
        let started = ContinuousClock.now
        let task = Task { try await connection.query("SELECT pg_sleep(30)") }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        let error = await #expect(throws: PostgresError.self) { try await task.value }
        #expect(error?.sqlState == .queryCanceled)
        #expect(ContinuousClock.now - started < .seconds(20)) // the statement itself would take 30 s
        #expect(try await connection.query("SELECT 1 AS one").single().decode(Int.self, "one") == 1)
    }

    @Test func connectionFailureIsTransientAndNamesNoSecret() async throws {
        let error = await #expect(throws: PostgresError.self) {
            _ = try await PostgresConnection.connect(
                to: "host=/nonexistent-itsm-dir port=5 user=u password=hunter2 dbname=d", logger: logger)
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.isTransient == true)
        #expect(error?.debugDescription.contains("hunter2") == false)
    }

    @Test func listenerReceivesNotifications() async throws {
        let database = try await TestPostgres.makeDatabase(label: "notify")
        let listener = try await PostgresListener.listen(to: ["itsm_test"], conninfo: database.conninfo, logger: logger)
        let pool = PostgresPool(conninfo: database.conninfo, logger: logger)
        try await pool.query("SELECT pg_notify('itsm_test', \("hello"))")
        try await pool.query("SELECT pg_notify('other_channel', 'ignored')")
        try await pool.query("SELECT pg_notify('itsm_test', \("world"))")
        var received: [String] = []
        for try await notification in listener.notifications {
            #expect(notification.channel == "itsm_test")
            received.append(notification.payload)
            if received.count == 2 { break }
        }
        #expect(received == ["hello", "world"])
        listener.stop()
        await pool.close()
    }
}

@Suite struct EmbeddedPostgresPlacementTests {
    /// As root, a checkout under a private directory (root's 0700 home) must still get a
    /// cluster: the postgres user cannot reach it there, so it lives under /var/lib/itsm.
    @Test(.enabled(if: geteuid() == 0 && getpwnam("postgres") != nil, "needs root and the postgres OS user"))
    func aDirectoryThePostgresUserCannotReachIsPlacedWhereItCan() async throws {
        let privateDirectory = "/tmp/itsm-private-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: privateDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: privateDirectory) }
        #expect(!EmbeddedPostgres.canReach(privateDirectory + "/.itsm/postgres", user: "postgres"))
        #expect(EmbeddedPostgres.canReach("/tmp/itsm-open/.itsm/postgres", user: "postgres"))

        let cluster = try EmbeddedPostgres(directory: privateDirectory + "/.itsm/postgres", durability: .throwaway, logger: logger)
        defer { try? FileManager.default.removeItem(atPath: cluster.directory) }
        #expect(cluster.directory.hasPrefix("/var/lib/itsm/clusters/") && cluster.requestedDirectory != nil)
        try await cluster.start()
        let connection = try await PostgresConnection.connect(to: cluster.conninfo(), logger: logger)
        #expect(try await connection.query("SELECT 1 AS one").single().decode(Int.self, "one") == 1)
        connection.close()
        try await cluster.stop(immediate: true)
        // The same path maps to the same place next time.
        #expect(try EmbeddedPostgres(directory: privateDirectory + "/.itsm/postgres", logger: logger).directory == cluster.directory)
    }

    /// A moved cluster names the directory it is for; once that directory's parent is gone
    /// (the data directory deleted), it is an orphan, and removing it stops it first.
    @Test(.enabled(if: geteuid() == 0 && getpwnam("postgres") != nil, "needs root and the postgres OS user"))
    func aMovedClusterWhoseDirectoryIsGoneIsAnOrphanAndCanBeRemoved() async throws {
        let privateDirectory = "/tmp/itsm-orphan-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: privateDirectory + "/.itsm", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: privateDirectory) }
        let requested = privateDirectory + "/.itsm/postgres"
        let cluster = try EmbeddedPostgres(directory: requested, durability: .throwaway, logger: logger)
        defer { try? FileManager.default.removeItem(atPath: cluster.directory) }
        try await cluster.start()
        func listed() -> EmbeddedPostgres.MovedCluster? { EmbeddedPostgres.movedClusters().first { $0.directory == cluster.directory } }
        #expect(listed()?.requestedDirectory == requested)
        #expect(listed()?.isOrphan == false)

        // The data directory goes while its cluster still runs.
        try FileManager.default.removeItem(atPath: privateDirectory)
        let orphan = try #require(listed())
        #expect(orphan.isOrphan)
        try await EmbeddedPostgres.remove(orphan, logger: logger)
        #expect(!FileManager.default.fileExists(atPath: cluster.directory))
        #expect(listed() == nil)
        // Its server stopped: the socket no longer takes connections.
        await #expect(throws: PostgresError.self) { try await PostgresConnection.connect(to: cluster.conninfo(), logger: logger) }
    }

    /// What `ITSM_EMBEDDED_FSYNC=off` asks for: no fsync, yet commits still write their WAL
    /// before they answer, so a killed process loses nothing committed.
    @Test func anUnsyncedClusterSkipsFsyncButStillCommitsSynchronously() async throws {
        #expect(EmbeddedPostgres.Durability.fromEnvironment(["ITSM_EMBEDDED_FSYNC": "off"]) == .unsynced)
        #expect(EmbeddedPostgres.Durability.fromEnvironment(["ITSM_EMBEDDED_FSYNC": "no"]) == .durable)
        #expect(EmbeddedPostgres.Durability.fromEnvironment([:]) == .durable)

        let directory = "/tmp/itsm-unsynced-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cluster = try EmbeddedPostgres(directory: directory + "/postgres", durability: .unsynced, logger: logger)
        try await cluster.start()
        let connection = try await PostgresConnection.connect(to: cluster.conninfo(), logger: logger)
        #expect(try await connection.query("SELECT current_setting('fsync') AS value").single().decode(String.self, "value") == "off")
        #expect(try await connection.query("SELECT current_setting('synchronous_commit') AS value").single().decode(String.self, "value") == "on")
        connection.close()
        try await cluster.stop(immediate: true)
    }
}
