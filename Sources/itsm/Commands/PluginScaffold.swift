import ArgumentParser
import Foundation

/// `itsm plugin new <name>`: a Swift package for a new process, ready to build, test, check
/// and enable. Examples/facilities-swift is its output for `facilities`, kept identical by a test.
struct PluginNew: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Create a Swift package for a new process plugin, built on the plugin kit.",
        discussion: """
            The package has the process (schema, methods, events), its executable itsm-<name>, \
            and a test against a throwaway PostgreSQL. Then: swift build; swift test; \
            itsm plugin check -- .build/debug/itsm-<name>; add it to itsm.yaml.
            """)

    @Argument(help: "The process name: lowercase letters and digits, starting with a letter (e.g. facilities).")
    var name: String

    @Option(help: "Where to create the package (default: ./<name>).")
    var output: String?

    @Option(help: "The itsm toolkit checkout the package depends on, written as given (default: the one this itsm was built from).")
    var toolkit: String?

    func validate() throws {
        guard let first = name.first, first.isASCII, first.isLowercase,
              name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber) }), name.count <= 40 else {
            throw ValidationError("'\(name)' must be lowercase letters and digits, starting with a letter (it names the schema and the methods)")
        }
        guard !PluginScaffold.reserved.contains(name) else {
            throw ValidationError("'\(name)' is taken by the toolkit; choose another name")
        }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: output ?? name).standardizedFileURL
        guard let toolkit = toolkit ?? PluginScaffold.toolkitCheckout() else {
            throw ValidationError("cannot tell where the itsm toolkit is; pass --toolkit PATH (a checkout of the itsm repository)")
        }
        if FileManager.default.fileExists(atPath: directory.path),
           !((try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.isEmpty ?? true) {
            throw ValidationError("\(directory.path) exists and is not empty")
        }
        for (path, text) in PluginScaffold(name: name, toolkit: toolkit).files {
            let file = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        print("""
            created \(directory.path)
            next:
              cd \(directory.path)
              swift build && swift test
              itsm plugin check -- .build/debug/itsm-\(name)
            then list it in itsm.yaml (see its README.md) and run: itsm plugins reload
            """)
    }
}

/// The files of a new plugin package. Placeholders: `__name__` (the process), `__Name__` (its
/// type prefix), `__PREFIX__` (record numbers), `__toolkit__` (the dependency's path).
struct PluginScaffold {
    static let reserved: Set = ["itsm", "incident", "problem", "capacity", "supplier", "improvement", "knownerror", "nonconformity", "objective",
                                "notification", "internal_audit", "management_review", "service", "request", "request_item", "customer", "agreement", "service_review"]

    let name: String
    let toolkit: String

    var typeName: String { name.prefix(1).uppercased() + name.dropFirst() }

    var files: [(String, String)] {
        [
            ("Package.swift", Self.packageManifest),
            ("README.md", Self.readme),
            (".gitignore", ".build/\nPackage.resolved\n"),
            ("Sources/__Name__Process/__Name__Plugin.swift", Self.plugin),
            ("Sources/__Name__Process/__Name__Store.swift", Self.store),
            ("Sources/itsm-__name__/main.swift", Self.main),
            ("Tests/__Name__ProcessTests/__Name__StoreTests.swift", Self.tests),
        ].map { (fill($0.0), fill($0.1)) }
    }

    private func fill(_ template: String) -> String {
        template
            .replacingOccurrences(of: "__toolkit__", with: toolkit)
            .replacingOccurrences(of: "__Name__", with: typeName)
            .replacingOccurrences(of: "__name__", with: name)
            .replacingOccurrences(of: "__PREFIX__", with: String(name.prefix(3)).uppercased())
    }

    /// The checkout this `itsm` was built from, if it is still there.
    static func toolkitCheckout() -> String? {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() } // Sources/itsm/Commands/<this file>
        return FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) ? url.path : nil
    }

    static let packageManifest = #"""
        // swift-tools-version:6.2
        import PackageDescription

        let package = Package(
            name: "itsm-__name__",
            platforms: [.macOS(.v15)],
            products: [
                .executable(name: "itsm-__name__", targets: ["itsm-__name__"]),
            ],
            dependencies: [
                .package(name: "itsm", path: "__toolkit__"),
            ],
            targets: [
                .target(
                    name: "__Name__Process",
                    dependencies: [
                        .product(name: "ITSMPluginKit", package: "itsm"),
                        .product(name: "ITSMPostgres", package: "itsm"),
                        .product(name: "ITSMProtocol", package: "itsm"),
                    ]
                ),
                .executableTarget(name: "itsm-__name__", dependencies: ["__Name__Process"]),
                .testTarget(
                    name: "__Name__ProcessTests",
                    dependencies: [
                        "__Name__Process",
                        .product(name: "ITSMTesting", package: "itsm"),
                    ]
                ),
            ]
        )

        """#

    static let readme = #"""
        # itsm-__name__

        The __name__ process for itsm: requests numbered `__PREFIX__-000001`, each with an
        append-only history, events for the other processes, and a follow-up request opened
        for every major incident. Started with `itsm plugin new __name__`; make it yours.

        ```sh
        swift build
        swift test                                       # against a throwaway PostgreSQL
        itsm plugin check -- .build/debug/itsm-__name__  # every protocol rule
        ```

        Enable it in the coordinator's `itsm.yaml`, then `itsm plugins reload`:

        ```yaml
        plugins:
          - incident
          - name: __name__
            command: [/path/to/itsm-__name__/.build/debug/itsm-__name__]
        ```

        Its methods, through `POST /api/v1/rpc/<method>`, the REST route each declares, or `itsm call`:

        | method | REST route | permission | params |
        |---|---|---|---|
        | `__name__.create` | `POST /api/v1/__name__` | `__name__.write` | `title`, `details`? |
        | `__name__.get` | `GET /api/v1/__name__/{number}` | `__name__.read` | `number` |
        | `__name__.list` | `GET /api/v1/__name__?status=open` | `__name__.read` | `status`? (`open`, `completed`), `limit`? |
        | `__name__.complete` | `POST /api/v1/__name__/{number}/complete` | `__name__.write` | `number` |

        Events: publishes `__name__.created` and `__name__.completed`; subscribes to
        `incident.major_declared`.

        """#

    static let plugin = #"""
        import ITSMPluginKit
        import ITSMProtocol

        /// The __name__ process: its methods, the events it publishes and the ones it handles.
        public enum __Name__Plugin {
            public static let name = "__name__"

            public static func make() -> Plugin {
                var plugin = Plugin(name: name, version: "0.1.0", schema: __Name__Schema.name, migrations: __Name__Schema.migrations)
                plugin.publishes(__Name__Events.created)
                plugin.publishes(__Name__Events.completed)

                plugin.method("__name__.create", permission: "__name__.write",
                              description: "Record a new request: title, details",
                              routes: [HTTPRoute("POST", "__name__")]) { (params: CreateRequest, context) in
                    try await __Name__Store(database: context.database).create(params, actor: context.actor)
                }
                plugin.method("__name__.get", permission: "__name__.read", idempotent: true,
                              description: "One request with its history",
                              routes: [HTTPRoute("GET", "__name__/{number}")]) { (params: RequestNumber, context) in
                    try await __Name__Store(database: context.database).get(number: params.number)
                }
                plugin.method("__name__.list", permission: "__name__.read", idempotent: true,
                              description: "Requests, newest first, optionally by status",
                              routes: [HTTPRoute("GET", "__name__")]) { (params: ListRequests, context) in
                    try await __Name__Store(database: context.database).list(params)
                }
                plugin.method("__name__.complete", permission: "__name__.write",
                              description: "Mark an open request completed",
                              routes: [HTTPRoute("POST", "__name__/{number}/complete")]) { (params: RequestNumber, context) in
                    try await __Name__Store(database: context.database).complete(number: params.number, actor: context.actor)
                }

                // The kit marks the event handled in the same transaction: a redelivery changes nothing.
                plugin.subscribe("incident.major_declared") { event, context in
                    guard let incident = event.data["incident"]?["number"]?.stringValue else {
                        context.logger.warning("incident.major_declared without an incident number; ignored")
                        return
                    }
                    _ = try await __Name__Store.insert(
                        title: "Follow up major incident \(incident)", details: "", incident: incident,
                        actor: "plugin:__name__", in: context.transaction)
                }
                return plugin
            }
        }

        /// The events the __name__ process publishes, with their payloads: declared once, used to publish.
        public enum __Name__Events {
            public static let created = EventType<Request>("__name__.created", "A request was recorded.")
            public static let completed = EventType<Request>("__name__.completed", "A request was completed.")
        }

        """#

    static let store = #"""
        import Foundation
        import ITSMPluginKit
        import ITSMPostgres
        import ITSMProtocol

        /// The __name__ schema. Migrations are applied once each, in order; never edit one that
        /// has shipped, add the next.
        public enum __Name__Schema {
            public static let name = "__name__"

            public static let migrations: [Migration] = [
                Migration(version: 1, name: "requests and their history", sql: """
                    CREATE SCHEMA __name__;
                    CREATE SEQUENCE __name__.request_number;
                    CREATE TABLE __name__.request (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        number text NOT NULL UNIQUE DEFAULT '__PREFIX__-' || lpad(nextval('__name__.request_number')::text, 6, '0'),
                        title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
                        details text NOT NULL DEFAULT '',
                        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed')),
                        incident text,
                        requested_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        completed_at timestamptz
                    );
                    CREATE INDEX request_status ON __name__.request (status, created_at DESC);
                    CREATE TABLE __name__.history (
                        id bigserial PRIMARY KEY,
                        request_id uuid NOT NULL REFERENCES __name__.request (id),
                        at timestamptz NOT NULL DEFAULT now(),
                        actor text NOT NULL,
                        field text NOT NULL,
                        old_value text,
                        new_value text
                    );
                    """),
            ]
        }

        public struct CreateRequest: Sendable, Codable {
            public var title: String
            public var details: String?

            public init(title: String, details: String? = nil) {
                self.title = title
                self.details = details
            }
        }

        public struct RequestNumber: Sendable, Codable {
            public var number: String
        }

        public struct ListRequests: Sendable, Codable {
            public var status: String?
            public var limit: Int?

            public init(status: String? = nil, limit: Int? = nil) {
                self.status = status
                self.limit = limit
            }
        }

        public struct RequestList: Sendable, Codable {
            public var items: [Request]
        }

        public struct Request: Sendable, Codable, Equatable {
            public var id: UUID
            public var number: String
            public var title: String
            public var details: String
            public var status: String
            public var incident: String?
            public var requestedBy: String
            public var createdAt: Date
            public var completedAt: Date?
            /// Every change, oldest first; only `get` fills it.
            public var history: [HistoryEntry]?

            static let columns = "id, number, title, details, status, incident, requested_by, created_at, completed_at"

            init(row: PostgresRow) throws {
                id = try row.decode(UUID.self, "id")
                number = try row.decode(String.self, "number")
                title = try row.decode(String.self, "title")
                details = try row.decode(String.self, "details")
                status = try row.decode(String.self, "status")
                incident = try row.decode(String?.self, "incident")
                requestedBy = try row.decode(String.self, "requested_by")
                createdAt = try row.decode(Date.self, "created_at")
                completedAt = try row.decode(Date?.self, "completed_at")
            }
        }

        public struct HistoryEntry: Sendable, Codable, Equatable {
            public var at: Date
            public var actor: String
            public var field: String
            public var oldValue: String?
            public var newValue: String?
        }

        /// Reads and changes requests. Each change writes its history and its event in the same
        /// transaction, so the record, the audit trail and the other processes never disagree.
        public struct __Name__Store: Sendable {
            public let database: PluginDatabase

            public init(database: PluginDatabase) {
                self.database = database
            }

            public func create(_ params: CreateRequest, actor: String) async throws -> Request {
                let title = params.title.trimmingCharacters(in: .whitespacesAndNewlines)
                guard (1...200).contains(title.count) else { throw ResponseError.invalidParams("title: required, 1 to 200 characters") }
                return try await database.withTransaction { transaction in
                    try await Self.insert(title: title, details: params.details ?? "", incident: nil, actor: actor, in: transaction)
                }
            }

            public static func insert(title: String, details: String, incident: String?, actor: String,
                                      in transaction: PluginTransaction) async throws -> Request {
                let row = try await transaction.query("""
                    INSERT INTO __name__.request (title, details, incident, requested_by)
                    VALUES (\(title), \(details), \(incident), \(actor))
                    RETURNING \(unsafeSQL: Request.columns)
                    """).single()
                let request = try Request(row: row)
                try await transaction.query("""
                    INSERT INTO __name__.history (request_id, actor, field, new_value)
                    VALUES (\(request.id), \(actor), 'status', \(request.status))
                    """)
                _ = try await transaction.publish(__Name__Events.created, subject: request.id.uuidString.lowercased(), data: request)
                return request
            }

            public func get(number: String) async throws -> Request {
                guard let row = try await database.query("""
                    SELECT \(unsafeSQL: Request.columns) FROM __name__.request WHERE number = \(number)
                    """).first else { throw Self.notFound(number) }
                var request = try Request(row: row)
                request.history = try await database.query("""
                    SELECT at, actor, field, old_value, new_value FROM __name__.history
                    WHERE request_id = \(request.id) ORDER BY id
                    """).map { row in
                    HistoryEntry(at: try row.decode(Date.self, "at"), actor: try row.decode(String.self, "actor"),
                                 field: try row.decode(String.self, "field"), oldValue: try row.decode(String?.self, "old_value"),
                                 newValue: try row.decode(String?.self, "new_value"))
                }
                return request
            }

            public func list(_ params: ListRequests) async throws -> RequestList {
                if let status = params.status, !["open", "completed"].contains(status) {
                    throw ResponseError.invalidParams("status: open or completed")
                }
                let limit = params.limit ?? 50
                guard (1...500).contains(limit) else { throw ResponseError.invalidParams("limit: 1 to 500") }
                return RequestList(items: try await database.query("""
                    SELECT \(unsafeSQL: Request.columns) FROM __name__.request
                    WHERE \(params.status)::text IS NULL OR status = \(params.status)
                    ORDER BY created_at DESC, number DESC LIMIT \(limit)
                    """).map(Request.init(row:)))
            }

            public func complete(number: String, actor: String) async throws -> Request {
                try await database.withTransaction { transaction in
                    guard let row = try await transaction.query("""
                        UPDATE __name__.request SET status = 'completed', completed_at = now()
                        WHERE number = \(number) AND status = 'open'
                        RETURNING \(unsafeSQL: Request.columns)
                        """).first else {
                        let exists = try await transaction.query("SELECT 1 FROM __name__.request WHERE number = \(number)").first != nil
                        throw exists
                            ? ResponseError.business(kind: "__name__.invalid_transition", message: "\(number) is already completed")
                            : Self.notFound(number)
                    }
                    let request = try Request(row: row)
                    try await transaction.query("""
                        INSERT INTO __name__.history (request_id, actor, field, old_value, new_value)
                        VALUES (\(request.id), \(actor), 'status', 'open', 'completed')
                        """)
                    _ = try await transaction.publish(__Name__Events.completed, subject: request.id.uuidString.lowercased(), data: request)
                    return request
                }
            }

            static func notFound(_ number: String) -> ResponseError {
                .business(kind: "__name__.not_found", message: "no __name__ request \(number)")
            }
        }

        """#

    static let main = #"""
        import __Name__Process

        await __Name__Plugin.make().run()

        """#

    static let tests = #"""
        import __Name__Process
        import ITSMPluginKit
        import ITSMPostgres
        import ITSMProtocol
        import ITSMTesting
        import Testing

        @Suite struct __Name__StoreTests {
            func makeStore() async throws -> (__Name__Store, PostgresPool) {
                let pool = try await TestPostgres.makeMigratedPool(
                    label: "__name__", schema: __Name__Schema.name, migrations: __Name__Schema.migrations)
                return (__Name__Store(database: PluginDatabase(pool: pool, source: __Name__Plugin.name)), pool)
            }

            @Test func createNumbersRecordsHistoryAndPublishes() async throws {
                let (store, pool) = try await makeStore()
                let first = try await store.create(CreateRequest(title: "  Broken door on floor 2 "), actor: "token:desk")
                #expect(first.number == "__PREFIX__-000001" && first.title == "Broken door on floor 2" && first.status == "open")
                #expect(try await store.get(number: first.number).history?.map(\.newValue) == ["open"])
                let events = try await pool.query("SELECT type FROM itsm.outbox WHERE subject = \(first.id.uuidString.lowercased())")
                #expect(try events.map { try $0.decode(String.self, "type") } == ["__name__.created"])
            }

            @Test func completingTwiceIsRefusedAndUnknownNumbersAreNotFound() async throws {
                let (store, _) = try await makeStore()
                let request = try await store.create(CreateRequest(title: "Replace badge reader"), actor: "token:desk")
                #expect(try await store.complete(number: request.number, actor: "token:desk").status == "completed")
                await #expect(throws: ResponseError.self) { try await store.complete(number: request.number, actor: "token:desk") }
                await #expect(throws: ResponseError.self) { try await store.get(number: "__PREFIX__-999999") }
                await #expect(throws: ResponseError.self) { try await store.create(CreateRequest(title: " "), actor: "token:desk") }
                #expect(try await store.list(ListRequests(status: "completed")).items.map(\.number) == [request.number])
            }
        }

        """#
}
