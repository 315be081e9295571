import Foundation
import ITSMProtocol

extension ImportOptions {
    /// Column names ServiceNow and GLPI exports use, tried in order, case-insensitively.
    public static let defaultColumns: [String: [String]] = [
        "title": ["short_description", "title", "name", "subject"],
        "description": ["description", "content"],
        "type": ["type", "sys_class_name"],
        "caller": ["caller_id", "caller", "requester", "opened_by", "users_id_recipient"],
        "service": ["business_service", "service"],
        "configurationItem": ["cmdb_ci", "configuration_item", "ci", "items_id"],
        "category": ["category", "itilcategories_id"],
        "subcategory": ["subcategory"],
        "impact": ["impact"],
        "urgency": ["urgency"],
        "status": ["state", "incident_state", "status"],
        "assignmentGroup": ["assignment_group", "groups_id_assign"],
        "assignee": ["assigned_to", "users_id_assign"],
        "createdAt": ["opened_at", "sys_created_on", "created_at", "date_creation", "date"],
        "resolvedAt": ["resolved_at", "solvedate"],
        "closedAt": ["closed_at", "closedate"],
        "resolutionCode": ["close_code", "resolution_code", "solutiontypes_id"],
        "resolutionNotes": ["close_notes", "resolution_notes", "solution"],
        "externalRef": ["number", "id"],
    ]

    /// Which column index feeds each field, given the CSV header.
    func columnIndex(for columns: [String]) throws -> [String: Int] {
        let lowered = columns.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var index: [String: Int] = [:]
        for (field, candidates) in Self.defaultColumns {
            if let column = mapping?[field] {
                guard let position = lowered.firstIndex(of: column.lowercased()) else {
                    throw ResponseError.invalidParams("mapping.\(field): no column named '\(column)' in \(columns)")
                }
                index[field] = position
            } else if let position = candidates.lazy.compactMap({ lowered.firstIndex(of: $0) }).first {
                index[field] = position
            }
        }
        if let unknown = mapping?.keys.first(where: { Self.defaultColumns[$0] == nil }) {
            throw ResponseError.invalidParams("mapping: '\(unknown)' is not a field; fields: \(Self.defaultColumns.keys.sorted().joined(separator: ", "))")
        }
        guard index["title"] != nil else {
            throw ResponseError.invalidParams("no title column: name one with mapping.title (columns: \(columns.joined(separator: ", ")))")
        }
        return index
    }
}

/// One CSV row made into a record, or the reason it cannot be.
struct ImportedRow: Encodable {
    var type: String
    var title: String
    var description: String
    var caller: String?
    var service: String?
    var ci: String?
    var category: String?
    var subcategory: String?
    var impact: Int
    var urgency: Int
    var priority: Int
    var status: String
    var assignment_group: String?
    var assignee: String?
    var created_at: String
    var resolved_at: String?
    var closed_at: String?
    var resolution_code: String?
    var resolution_notes: String?
    var external_ref: String?
}

/// Reads rows with the options' mapping and scales.
struct ImportReader {
    let index: [String: Int]
    let scale: ImportOptions.Scale
    let calendar: Calendar
    let matrix: PriorityMatrix
    let now: Date

    init(options: ImportOptions, columns: [String], matrix: PriorityMatrix, now: Date) throws {
        index = try options.columnIndex(for: columns)
        scale = options.scale ?? .servicenow
        var calendar = Calendar(identifier: .gregorian)
        if let zone = options.timeZone {
            guard let timeZone = TimeZone(identifier: zone) else { throw ResponseError.invalidParams("timeZone: unknown '\(zone)'") }
            calendar.timeZone = timeZone
        } else {
            calendar.timeZone = TimeZone(identifier: "UTC")!
        }
        self.calendar = calendar
        self.matrix = matrix
        self.now = now
    }

    /// The record for `cells`, or a reason in words.
    func read(_ cells: [String]) -> Result<ImportedRow, ImportReason> {
        func value(_ field: String) -> String? {
            guard let position = index[field], position < cells.count else { return nil }
            let text = cells[position].trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty ? nil : text
        }
        guard let title = value("title") else { return .failure("title is empty") }
        guard title.count <= Incident.maximumShortText else {
            return .failure("title is longer than \(Incident.maximumShortText) characters")
        }
        let impact: Level, urgency: Level, status: IncidentStatus
        switch (level(value("impact")), level(value("urgency")), self.status(value("status"))) {
        case (.failure(let why), _, _): return .failure("impact: \(why)")
        case (_, .failure(let why), _): return .failure("urgency: \(why)")
        case (_, _, .failure(let why)): return .failure("status: \(why)")
        case (.success(let i), .success(let u), .success(let s)): (impact, urgency, status) = (i, u, s)
        }
        var dates: [String: Date] = [:]
        for field in ["createdAt", "resolvedAt", "closedAt"] {
            guard let text = value(field) else { continue }
            guard let date = parseDate(text) else { return .failure("\(field): '\(text)' is not a date like 2026-11-23 17:22:09") }
            dates[field] = date
        }
        let createdAt = dates["createdAt"] ?? now
        var resolvedAt = dates["resolvedAt"]
        var closedAt = dates["closedAt"]
        if status == .resolved || status == .closed { resolvedAt = resolvedAt ?? closedAt ?? createdAt }
        if status == .closed { closedAt = closedAt ?? resolvedAt }
        if let resolved = resolvedAt, resolved < createdAt { return .failure("resolved before it was created") }
        let type: RecordType
        switch value("type")?.lowercased() {
        case nil, "incident": type = .incident
        case "request", "sc_request", "sc_req_item", "service request": type = .request
        case .some(let other): return .failure("type: '\(other)' is neither incident nor request")
        }
        let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        return .success(ImportedRow(
            type: type.rawValue, title: title, description: value("description") ?? "", caller: value("caller"),
            service: value("service"), ci: value("configurationItem"), category: value("category"),
            subcategory: value("subcategory"), impact: impact.rawValue, urgency: urgency.rawValue,
            priority: matrix.priority(impact: impact, urgency: urgency).rawValue, status: status.rawValue,
            assignment_group: value("assignmentGroup"), assignee: value("assignee"), created_at: createdAt.formatted(iso),
            resolved_at: resolvedAt?.formatted(iso), closed_at: closedAt?.formatted(iso),
            resolution_code: status == .resolved || status == .closed ? value("resolutionCode") : nil,
            resolution_notes: value("resolutionNotes"), external_ref: value("externalRef")))
    }

    /// `high`, `2 - Medium`, or a number on the chosen scale.
    func level(_ text: String?) -> Result<Level, ImportReason> {
        guard let text else { return .success(.medium) }
        let words = text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber })
        if let word = words.first(where: { Int($0) == nil }) {
            switch word {
            case "high", "critical", "major", "extensive", "widespread": return .success(.high)
            case "medium", "moderate", "significant", "large": return .success(.medium)
            case "low", "minor", "localized", "small": return .success(.low)
            case "very": return .success(words.contains("high") ? .high : .low)
            default: break
            }
        }
        guard let number = words.first.flatMap({ Int($0) }) else { return .failure("'\(text)' is not high, medium or low") }
        switch (scale, number) {
        case (.servicenow, 1): return .success(.high)
        case (.servicenow, 2): return .success(.medium)
        case (.servicenow, 3): return .success(.low)
        case (.glpi, 4...6): return .success(.high)
        case (.glpi, 3): return .success(.medium)
        case (.glpi, 1...2): return .success(.low)
        default: return .failure("'\(text)' is not a level on the \(scale.rawValue) scale")
        }
    }

    func status(_ text: String?) -> Result<IncidentStatus, ImportReason> {
        guard let text else { return .success(.new) }
        let key = text.lowercased().replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "_")
        switch key {
        case "new", "open": return .success(.new)
        case "assigned", "processing_(assigned)": return .success(.assigned)
        case "in_progress", "active", "work_in_progress", "processing_(planned)", "planned": return .success(.inProgress)
        case "on_hold", "pending", "awaiting", "waiting": return .success(.onHold)
        case "resolved", "solved": return .success(.resolved)
        case "closed", "closed_complete", "closed_incomplete": return .success(.closed)
        case "canceled", "cancelled": return .success(.cancelled)
        default: break
        }
        switch (scale, Int(key)) {
        case (.servicenow, 1): return .success(.new)
        case (.servicenow, 2): return .success(.inProgress)
        case (.servicenow, 3): return .success(.onHold)
        case (.servicenow, 6): return .success(.resolved)
        case (.servicenow, 7): return .success(.closed)
        case (.servicenow, 8): return .success(.cancelled)
        case (.glpi, 1): return .success(.new)
        case (.glpi, 2): return .success(.assigned)
        case (.glpi, 3): return .success(.inProgress)
        case (.glpi, 4): return .success(.onHold)
        case (.glpi, 5): return .success(.resolved)
        case (.glpi, 6): return .success(.closed)
        default: return .failure("'\(text)' is not a known status")
        }
    }

    /// ISO 8601 with an offset, or `yyyy-MM-dd[ HH:mm[:ss]]` (or with `T`) in the import's time zone; in the
    /// years 0001 to 9999, on a day the calendar has, every part a number in its range.
    /// (`17:r2:09` is not 17:09, and `2026-02-30` is not 2 March.)
    func parseDate(_ text: String) -> Date? {
        if let date = JSONCoding.date(from: text) { return date }
        let parts = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == " " || $0 == "T" })
        guard (1...2).contains(parts.count) else { return nil }
        /// Digits only; the first field `firstWidth` long (a four-digit year), the others one or two.
        func numbers(_ part: Substring, separator: Character, firstWidth: ClosedRange<Int> = 1...2) -> [Int]? {
            let fields = part.split(separator: separator, omittingEmptySubsequences: false)
            guard fields.enumerated().allSatisfy({ index, field in
                (index == 0 ? firstWidth : 1...2).contains(field.count) && field.utf8.allSatisfy { (48...57).contains($0) }
            }) else { return nil }
            return fields.map { Int($0)! }
        }
        guard let day = numbers(parts[0], separator: "-", firstWidth: 4...4), day.count == 3,
              let time = parts.count == 2 ? numbers(parts[1], separator: ":") : [0, 0], (2...3).contains(time.count),
              (1...9999).contains(day[0]), (1...12).contains(day[1]), (0...23).contains(time[0]), (0...59).contains(time[1]),
              (0...59).contains(time.count == 3 ? time[2] : 0) else { return nil }
        let components = DateComponents(year: day[0], month: day[1], day: day[2], hour: time[0], minute: time[1],
                                        second: time.count == 3 ? time[2] : 0)
        guard let date = calendar.date(from: components), calendar.component(.day, from: date) == day[2] else { return nil }
        return date
    }
}

/// A rejection reason in words (a `Result` failure).
public struct ImportReason: Error, Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral,
    ExpressibleByStringInterpolation {
    public var text: String
    public var description: String { text }
    public init(stringLiteral value: String) { text = value }
    public init(stringInterpolation: DefaultStringInterpolation) { text = String(stringInterpolation: stringInterpolation) }
}
