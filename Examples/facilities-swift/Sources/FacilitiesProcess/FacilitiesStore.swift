import Foundation
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// The facilities schema. Migrations are applied once each, in order; never edit one that
/// has shipped, add the next.
public enum FacilitiesSchema {
    public static let name = "facilities"

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "requests and their history", sql: """
            CREATE SCHEMA facilities;
            CREATE SEQUENCE facilities.request_number;
            CREATE TABLE facilities.request (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                number text NOT NULL UNIQUE DEFAULT 'FAC-' || lpad(nextval('facilities.request_number')::text, 6, '0'),
                title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
                details text NOT NULL DEFAULT '',
                status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed')),
                incident text,
                requested_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                completed_at timestamptz
            );
            CREATE INDEX request_status ON facilities.request (status, created_at DESC);
            CREATE TABLE facilities.history (
                id bigserial PRIMARY KEY,
                request_id uuid NOT NULL REFERENCES facilities.request (id),
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
public struct FacilitiesStore: Sendable {
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
            INSERT INTO facilities.request (title, details, incident, requested_by)
            VALUES (\(title), \(details), \(incident), \(actor))
            RETURNING \(unsafeSQL: Request.columns)
            """).single()
        let request = try Request(row: row)
        try await transaction.query("""
            INSERT INTO facilities.history (request_id, actor, field, new_value)
            VALUES (\(request.id), \(actor), 'status', \(request.status))
            """)
        _ = try await transaction.publish(FacilitiesEvents.created, subject: request.id.uuidString.lowercased(), data: request)
        return request
    }

    public func get(number: String) async throws -> Request {
        guard let row = try await database.query("""
            SELECT \(unsafeSQL: Request.columns) FROM facilities.request WHERE number = \(number)
            """).first else { throw Self.notFound(number) }
        var request = try Request(row: row)
        request.history = try await database.query("""
            SELECT at, actor, field, old_value, new_value FROM facilities.history
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
            SELECT \(unsafeSQL: Request.columns) FROM facilities.request
            WHERE \(params.status)::text IS NULL OR status = \(params.status)
            ORDER BY created_at DESC, number DESC LIMIT \(limit)
            """).map(Request.init(row:)))
    }

    public func complete(number: String, actor: String) async throws -> Request {
        try await database.withTransaction { transaction in
            guard let row = try await transaction.query("""
                UPDATE facilities.request SET status = 'completed', completed_at = now()
                WHERE number = \(number) AND status = 'open'
                RETURNING \(unsafeSQL: Request.columns)
                """).first else {
                let exists = try await transaction.query("SELECT 1 FROM facilities.request WHERE number = \(number)").first != nil
                throw exists
                    ? ResponseError.business(kind: "facilities.invalid_transition", message: "\(number) is already completed")
                    : Self.notFound(number)
            }
            let request = try Request(row: row)
            try await transaction.query("""
                INSERT INTO facilities.history (request_id, actor, field, old_value, new_value)
                VALUES (\(request.id), \(actor), 'status', 'open', 'completed')
                """)
            _ = try await transaction.publish(FacilitiesEvents.completed, subject: request.id.uuidString.lowercased(), data: request)
            return request
        }
    }

    static func notFound(_ number: String) -> ResponseError {
        .business(kind: "facilities.not_found", message: "no facilities request \(number)")
    }
}
