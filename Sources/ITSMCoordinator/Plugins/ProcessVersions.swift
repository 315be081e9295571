import ITSMPostgres
import ITSMProtocol
import Logging

/// Which version of each process is active, shared by every coordinator through
/// `itsm.process_version`, and the subscriptions recorded for it.
///
/// The first instance of a process ever to complete a handshake makes its version active and
/// records what it subscribes to. After that an instance of another version stands by, and
/// one of the same version declaring other events changes nothing in the database: only
/// `upgrade` switches the version and its subscriptions. Coordinators pick up a switch made
/// elsewhere within `refreshInterval`.
public struct ProcessVersions: Sendable {
    let pool: PostgresPool
    let router: MethodRouter
    let logger: Logger
    var refreshInterval: Duration = .seconds(2)

    public init(pool: PostgresPool, router: MethodRouter, logger: Logger) {
        self.pool = pool
        self.router = router
        self.logger = logger
    }

    /// Called when an instance is ready: routes it if its version is active, making it so
    /// when the process has none yet.
    func admit(_ instance: any PluginInstance, manifest: InitializeResult) async {
        let plugin = instance.pluginName
        do {
            let active = try await pool.withTransaction { tx in
                let inserted = try await tx.query("""
                    INSERT INTO itsm.process_version (process, version, activated_by)
                    VALUES (\(plugin), \(manifest.plugin.version), 'first instance to connect') ON CONFLICT DO NOTHING
                    """).affectedRows
                if inserted == 1 { try await Self.recordSubscriptions(plugin, manifest.subscribes, in: tx) }
                return try await tx.query("SELECT version FROM itsm.process_version WHERE process = \(plugin)")
                    .first?.decode(String.self, "version")
            }
            if let active { router.activate(plugin: plugin, version: active) }
            if active != manifest.plugin.version {
                logger.warning("instance stands by: its version is not the active one", metadata: [
                    "itsm.plugin": "\(plugin)", "itsm.version": "\(manifest.plugin.version)", "itsm.version.active": "\(active ?? "-")",
                ])
            }
        } catch {
            // Without the database the process cannot work anyway; route by what is known.
            logger.error("cannot read the active version", metadata: ["itsm.plugin": "\(plugin)", "itsm.error": "\(error)"])
            if router.activeVersion(of: plugin) == nil { router.activate(plugin: plugin, version: manifest.plugin.version) }
        }
    }

    /// Makes `version` of `plugin` active (nil: the one other version connected here) and
    /// records the events its instances subscribe to. At least one instance of it must be
    /// connected to this coordinator, so that its subscriptions are known.
    public func upgrade(_ plugin: String, to version: String?, by actor: String) async throws(ResponseError) -> JSONValue {
        guard router.isEnabled(plugin) else {
            throw .processNotEnabled(plugin)
        }
        let live = router.liveVersions(of: plugin)
        let current = router.activeVersion(of: plugin)
        guard let target = version ?? Self.onlyOther(in: live.keys, than: current) else {
            let others = live.keys.filter { $0 != current }.sorted()
            throw .invalidParams("version: \(others.isEmpty ? "no other version of \(plugin) is connected" : "name one of \(others.joined(separator: ", "))")")
        }
        guard let subscribes = live[target] else {
            throw ResponseError(code: .invalidParams, kind: "plugin.version_not_connected",
                                message: "version: no instance of \(plugin) \(target) is connected to this coordinator; connected: \(live.keys.sorted().joined(separator: ", "))")
        }
        let previous: String?
        do {
            previous = try await pool.withTransaction { tx in
                let previous = try await tx.query("SELECT version FROM itsm.process_version WHERE process = \(plugin) FOR UPDATE")
                    .first?.decode(String.self, "version")
                try await tx.query("""
                    INSERT INTO itsm.process_version (process, version, activated_by, previous_version)
                    VALUES (\(plugin), \(target), \(actor), \(previous))
                    ON CONFLICT (process) DO UPDATE SET version = excluded.version, activated_at = now(),
                        activated_by = excluded.activated_by, previous_version = excluded.previous_version
                    """)
                try await Self.recordSubscriptions(plugin, subscribes, in: tx)
                return previous
            }
        } catch {
            throw ResponseError(code: .unavailable, kind: "database.unavailable", message: "the version was not switched: \(error)", retryable: true)
        }
        router.activate(plugin: plugin, version: target)
        logger.notice("process version switched", metadata: [
            "itsm.plugin": "\(plugin)", "itsm.version": "\(target)", "itsm.version.previous": "\(previous ?? "-")", "itsm.actor": "\(actor)",
        ])
        return ["plugin": .string(plugin), "version": .string(target), "previous": previous.map(JSONValue.string) ?? .null,
                "subscribes": .array(subscribes.map(JSONValue.string))]
    }

    /// Follows switches made by other coordinators until the task is cancelled.
    func watch() async {
        while !Task.isCancelled {
            do {
                for row in try await pool.query("SELECT process, version FROM itsm.process_version") {
                    router.activate(plugin: try row.decode(String.self, "process"), version: try row.decode(String.self, "version"))
                }
            } catch {
                logger.debug("cannot read active versions", metadata: ["itsm.error": "\(error)"])
            }
            try? await Task.sleep(for: refreshInterval)
        }
    }

    private static func onlyOther(in versions: some Collection<String>, than current: String?) -> String? {
        let others = versions.filter { $0 != current }
        return others.count == 1 ? others.first : nil
    }

    private static func recordSubscriptions(_ subscriber: String, _ eventTypes: [String], in tx: PostgresConnection) async throws {
        try await tx.query("DELETE FROM itsm.subscription WHERE subscriber = \(subscriber) AND NOT (event_type = ANY(\(eventTypes)))")
        try await tx.query("""
            INSERT INTO itsm.subscription (subscriber, event_type) SELECT \(subscriber), unnest(\(eventTypes)::text[])
            ON CONFLICT DO NOTHING
            """)
    }
}
