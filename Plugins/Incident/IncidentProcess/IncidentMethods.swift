import Foundation
import ITSMProtocol

/// `incident.create` params.
public struct CreateIncident: Sendable, Hashable, Codable {
    public var type: RecordType?
    public var title: String
    public var description: String?
    public var caller: String?
    public var service: String?
    public var configurationItem: String?
    public var category: String?
    public var subcategory: String?
    public var impact: Level?
    public var urgency: Level?
    public var assignmentGroup: String?
    public var assignee: String?

    public init(title: String, type: RecordType? = nil, impact: Level? = nil, urgency: Level? = nil) {
        self.title = title
        self.type = type
        self.impact = impact
        self.urgency = urgency
    }

    /// Checks what the types alone cannot; throws `invalidParams` naming the field.
    func validate() throws {
        let title = self.title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !title.isEmpty else { throw ResponseError.invalidParams("title: must not be empty") }
        guard title.count <= 200 else { throw ResponseError.invalidParams("title: at most 200 characters, got \(title.count)") }
        let optionalFields: [(String, String?)] = [
            ("caller", caller), ("service", service), ("configurationItem", configurationItem), ("category", category),
            ("subcategory", subcategory), ("assignmentGroup", assignmentGroup), ("assignee", assignee),
        ]
        for (name, value) in optionalFields where (value?.count ?? 0) > 200 {
            throw ResponseError.invalidParams("\(name): at most 200 characters")
        }
        guard (description?.count ?? 0) <= 100_000 else {
            throw ResponseError.invalidParams("description: at most 100000 characters")
        }
    }
}

/// `incident.get` params: the id or the number.
public struct GetIncident: Sendable, Hashable, Codable {
    public var id: UUID?
    public var number: String?
    /// Include the change history.
    public var history: Bool?

    public init(id: UUID? = nil, number: String? = nil, history: Bool? = nil) {
        self.id = id
        self.number = number
        self.history = history
    }
}

/// `incident.get` result.
public struct IncidentDetail: Sendable, Hashable, Codable {
    public var incident: Incident
    public var history: [HistoryEntry]?
}

/// `incident.list` params: filters, newest first, paged by offset.
public struct ListIncidents: Sendable, Hashable, Codable {
    public var status: String?
    public var priority: Priority?
    public var assignee: String?
    public var assignmentGroup: String?
    public var service: String?
    public var type: RecordType?
    public var limit: Int?
    public var offset: Int?

    public static let maximumLimit = 500

    public init(status: String? = nil, priority: Priority? = nil, assignee: String? = nil, assignmentGroup: String? = nil,
                service: String? = nil, type: RecordType? = nil, limit: Int? = nil, offset: Int? = nil) {
        self.status = status
        self.priority = priority
        self.assignee = assignee
        self.assignmentGroup = assignmentGroup
        self.service = service
        self.type = type
        self.limit = limit
        self.offset = offset
    }
}

/// `incident.list` result.
public struct IncidentPage: Sendable, Hashable, Codable {
    public var items: [Incident]
    public var total: Int
    /// Pass as `offset` for the next page; absent on the last page.
    public var nextOffset: Int?
}
