import ArgumentParser
import Foundation
import ITSMCoordinator
import ITSMPostgres
import ITSMProtocol
import ITSMSystem
import Logging

/// Every table of the toolkit's database with its row count, read inside the caller's snapshot.
/// The statement for each table is made on the server (`format('%I.%I')`), never from text of ours.
private let tableCounts: PostgresQuery = """
    SELECT table_schema || '.' || table_name AS name,
           (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', table_schema, table_name),
                                               false, true, '')))[1]::text::bigint AS rows
    FROM information_schema.tables
    WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
    ORDER BY 1
    """

private func counts(_ connection: PostgresConnection) async throws -> [String: Int] {
    var counts: [String: Int] = [:]
    for row in try await connection.query(tableCounts) {
        counts[try row.decode(String.self, "name")] = try row.decode(Int.self, "rows")
    }
    return counts
}

/// Why a backup or a restore failed (not a usage error).
struct BackupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A PostgreSQL program from the server's installation, connected through the environment.
func runPostgresTool(_ name: String, _ arguments: [String], conninfo: String) async throws -> Command.Output {
    let program = try PostgresBinaries.locate().directory + "/" + name
    guard FileManager.default.isExecutableFile(atPath: program) else { throw BackupError("\(program) is not installed") }
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
    environment.merge(try ConnectionEnvironment.variables(for: conninfo)) { _, given in given }
    return try await Command.run(program, arguments, environment: environment)
}

/// `itsm backup DIR`: the whole database, consistent, with the configuration it ran with.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a consistent backup of the toolkit's database, with its configuration, to a new directory.",
        discussion: """
            The directory gets itsm.dump (pg_dump's custom format, without owners or grants), itsm.yaml (the \
            configuration file, if there is one) and backup.json (when, the versions, and every table's row count \
            in the dump's own snapshot, which 'itsm restore' checks). Writes go on meanwhile; the backup is the \
            database as it was at one instant. Restore with 'itsm restore DIR'.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The directory to create (it must not exist, or be empty).")
    var directory: String

    func run() async throws {
        let configuration = try global.loadConfiguration()
        let logger = global.makeLogger()
        let target = URL(fileURLWithPath: directory).standardizedFileURL.path
        if let existing = try? FileManager.default.contentsOfDirectory(atPath: target), !existing.isEmpty {
            throw ValidationError("\(target) is not empty; give a new directory")
        }
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try await DatabaseSetup.using(configuration, logger: logger) { database in
            try await write(database, to: target, logger: logger)
        }
    }

    private func write(_ database: DatabaseSetup, to target: String, logger: Logger) async throws {
        let connection = try await PostgresConnection.connect(to: database.url, logger: logger)
        defer { connection.close() }
        // One snapshot for the counts and the dump: the counts are exactly what the dump holds.
        try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        let snapshot = try await connection.query("SELECT pg_export_snapshot() AS snapshot").single().decode(String.self, "snapshot")
        let tables = try await counts(connection)
        let server = try await connection.query("SELECT current_setting('server_version') AS version").single().decode(String.self, "version")
        let dump = try await runPostgresTool("pg_dump", [
            "--format=custom", "--no-owner", "--no-privileges", "--snapshot=\(snapshot)", "--file=\(target)/itsm.dump",
        ], conninfo: database.url)
        try await connection.query("COMMIT")
        guard dump.status.isSuccess else { throw BackupError("pg_dump failed: \(dump.text.trimmingCharacters(in: .whitespacesAndNewlines))") }

        let manifest: JSONValue = [
            "createdAt": .string(Date().formatted(.iso8601)), "toolkitVersion": .string(CoordinatorVersion.current),
            "postgresVersion": .string(server), "tables": .object(tables.mapValues { .int(Int64($0)) }),
        ]
        try Data(manifest.serialized() + [UInt8(ascii: "\n")]).write(to: URL(fileURLWithPath: target + "/backup.json"))
        if FileManager.default.fileExists(atPath: global.configurationFile) {
            try FileManager.default.copyItem(atPath: global.configurationFile, toPath: target + "/itsm.yaml")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: target + "/itsm.dump")[.size] as? Int) ?? 0
        print("backed up \(tables.count) tables, \(tables.values.reduce(0, +)) rows (\(size / 1024) KiB) to \(target)")
    }
}

/// `itsm restore DIR`: a backup into an empty database, checked table by table.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a backup made by 'itsm backup' into an empty database.",
        discussion: """
            The target is the configured database: the embedded cluster of --data-dir (created if new), or \
            database.url / ITSM_DATABASE_URL. It must hold no tables yet. Every table's row count is checked \
            against the backup. The backup's itsm.yaml is left where it is: review its database and dataDir \
            before using it. A new admin token is issued when 'itsm serve' first runs on the new data directory.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The directory 'itsm backup' wrote.")
    var directory: String

    func run() async throws {
        let source = URL(fileURLWithPath: directory).standardizedFileURL.path
        guard let data = FileManager.default.contents(atPath: source + "/backup.json"),
              let manifest = try? JSONValue.parse(data), let tables = manifest["tables"]?.objectValue,
              FileManager.default.fileExists(atPath: source + "/itsm.dump")
        else { throw ValidationError("\(source) is not a backup: it needs backup.json and itsm.dump") }
        let expected = tables.compactMapValues { $0.intValue.map(Int.init) }

        let configuration = try global.loadConfiguration()
        let logger = global.makeLogger()
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try await DatabaseSetup.using(configuration, logger: logger) { database in
            try await restore(from: source, into: database, expected: expected, logger: logger)
        }
        print("the backup of \(manifest["createdAt"]?.stringValue ?? "?") is restored")
        if FileManager.default.fileExists(atPath: source + "/itsm.yaml") {
            print("the configuration it ran with is \(source)/itsm.yaml: review its database and dataDir before using it")
        }
    }

    private func restore(from source: String, into database: DatabaseSetup, expected: [String: Int], logger: Logger) async throws {
        let connection = try await PostgresConnection.connect(to: database.url, logger: logger)
        defer { connection.close() }
        if let present = try await counts(connection).keys.sorted().first {
            throw BackupError("the target database is not empty (it has \(present), among others); restore into a new data directory or an empty database")
        }
        let dbname = try ConnectionEnvironment.variables(for: database.url)["PGDATABASE"] ?? "itsm"
        let restore = try await runPostgresTool("pg_restore", [
            "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname=\(dbname)", source + "/itsm.dump",
        ], conninfo: database.url)
        guard restore.status.isSuccess else {
            throw BackupError("pg_restore failed; nothing was restored: \(restore.text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let restored = try await counts(connection)
        let differing = Set(expected.keys).union(restored.keys).sorted().filter { expected[$0] != restored[$0] }
        guard differing.isEmpty else {
            let first = differing[0]
            throw BackupError("the restored database differs from the backup in \(differing.count) tables, e.g. \(first): "
                                  + "\(restored[first].map(String.init) ?? "missing") rows, the backup says \(expected[first].map(String.init) ?? "none")")
        }
        print("restored \(restored.count) tables, \(restored.values.reduce(0, +)) rows; every count matches the backup")
    }
}
