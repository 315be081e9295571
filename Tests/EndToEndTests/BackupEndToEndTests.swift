import Foundation
import ITSMEndToEndTesting
import ITSMPostgres
import ITSMSystem
import ITSMTesting
import Logging
import Testing

/// `itsm backup` while the desk works, `itsm restore` into a new data directory, and the
/// toolkit running on what was restored.
@Suite struct BackupEndToEndTests {
    @Test func aBackupTakenUnderWritesRestoresIntoANewDataDirectoryWithEveryRowAndHistory() async throws {
        let source = try await TestPostgres.makeDatabase(label: "e2ebackup")
        let coordinator = try await RunningCoordinator.start(configuration: "plugins: [incident, problem]", databaseURL: source.conninfo)
        defer { coordinator.remove() }
        let created = try await coordinator.call("incident.create", ["title": "Mail relay queue growing", "impact": "high"])
        let number = try #require(created.body["number"] as? String, "\(created)")
        #expect(try await coordinator.call("incident.assign", ["number": number, "assignmentGroup": "messaging"]).status == 200)
        #expect(try await coordinator.call("incident.comment", ["number": number, "body": "Queue at 40k", "visibility": "work_note"]).status == 200)
        let before = try await coordinator.call("incident.get", ["number": number, "history": true, "comments": true]).body

        // Creates go on while the backup runs: the dump is one instant, and its counts say which.
        let itsm = try Binaries.path("itsm")
        let writer = Task {
            var acknowledged = 0
            while !Task.isCancelled {
                if (try? await coordinator.call("incident.create", ["title": "Printer \(acknowledged)"]))?.status == 200 { acknowledged += 1 }
            }
            return acknowledged
        }
        let backupDirectory = coordinator.directory + "/backup"
        let backup = try await Command.run(itsm, ["backup", backupDirectory, "--config", coordinator.configFile])
        writer.cancel()
        #expect(backup.status == .exited(0), "\(backup.text)")
        #expect(await writer.value > 0)
        for file in ["itsm.dump", "backup.json", "itsm.yaml"] {
            #expect(FileManager.default.fileExists(atPath: backupDirectory + "/" + file), "\(file)")
        }

        // Into a new data directory: an embedded cluster of its own, every table's count checked.
        let restoredData = coordinator.directory + "/restored"
        try FileManager.default.createDirectory(atPath: restoredData, withIntermediateDirectories: true)
        chmod(restoredData, 0o755) // reachable by the server's user, so the cluster stays under it
        let restore = try await Command.run(itsm, ["restore", backupDirectory, "--data-dir", restoredData], workingDirectory: restoredData)
        #expect(restore.status == .exited(0), "\(restore.text)")
        #expect(restore.text.contains("every count matches the backup"), "\(restore.text)")
        let cluster = try EmbeddedPostgres(directory: restoredData + "/postgres", durability: .throwaway, logger: Logger(label: "e2e"))
        defer { Task { try? await cluster.stop(immediate: true) } }
        try await cluster.start()

        // The toolkit runs on it: the record, its history and its work note as they were.
        let restored = try await RunningCoordinator.start(configuration: "plugins: [incident, problem]", databaseURL: cluster.conninfo())
        defer { restored.remove() }
        let after = try await restored.call("incident.get", ["number": number, "history": true, "comments": true]).body
        #expect(NSDictionary(dictionary: after) == NSDictionary(dictionary: before), "\(after)")
        #expect(try await restored.call("incident.create", ["title": "After the restore"]).status == 200)
        #expect(await restored.stop() == .exited(0))

        // A database that holds anything already is refused, and left as it was.
        let refused = try await Command.run(itsm, ["restore", backupDirectory, "--config", coordinator.configFile])
        #expect(refused.status != .exited(0) && refused.text.contains("the target database is not empty"), "\(refused.text)")
        #expect(try await coordinator.call("incident.get", ["number": number]).status == 200)
        #expect(await coordinator.stop() == .exited(0))
        try await cluster.stop(immediate: true)
    }
}
