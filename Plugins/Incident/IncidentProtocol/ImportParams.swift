import Foundation

/// How CSV columns become record fields, and how values are read.
public struct ImportOptions: Sendable, Hashable, Codable {
    /// Our field → the CSV column holding it. Unset fields take the column ServiceNow or GLPI exports name it by.
    public var mapping: [String: String]?
    /// `servicenow` (1 = high … 3 = low; numeric states 1, 2, 3, 6, 7, 8) or `glpi`
    /// (1 = very low … 5 = very high; numeric statuses 1–6).
    public var scale: Scale?
    /// The time zone of dates without an offset (default UTC).
    public var timeZone: String?
    /// Import the good rows and report the bad ones, instead of importing nothing.
    public var skipInvalid: Bool?

    public enum Scale: String, Sendable, Hashable, Codable, CaseIterable {
        case servicenow, glpi
    }

    public init(mapping: [String: String]? = nil, scale: Scale? = nil, timeZone: String? = nil, skipInvalid: Bool? = nil) {
        self.mapping = mapping
        self.scale = scale
        self.timeZone = timeZone
        self.skipInvalid = skipInvalid
    }
}

/// A row that was not imported, and why.
public struct ImportRejection: Sendable, Hashable, Codable {
    /// The row's number in the file, counting the header as row 1.
    public var row: Int
    public var reason: String
    public init(row: Int, reason: String) {
        self.row = row
        self.reason = reason
    }
}

/// `incident.import.begin` params.
public struct BeginImport: Sendable, Hashable, Codable {
    /// The CSV header.
    public var columns: [String]
    public var options: ImportOptions?

    public init(columns: [String], options: ImportOptions? = nil) {
        self.columns = columns
        self.options = options
    }
}

/// `incident.import.rows` params: the next rows, in file order.
public struct StageImportRows: Sendable, Hashable, Codable {
    public var importId: UUID
    /// Row number of the first row here in the file (the header is row 1).
    public var firstRow: Int
    public var rows: [[String]]

    public init(importId: UUID, firstRow: Int, rows: [[String]]) {
        self.importId = importId
        self.firstRow = firstRow
        self.rows = rows
    }
}

/// `incident.import.commit` params.
public struct CommitImport: Sendable, Hashable, Codable {
    public var importId: UUID
    public init(importId: UUID) { self.importId = importId }
}

/// What an import did.
public struct ImportReport: Sendable, Hashable, Codable {
    public var importId: UUID
    /// `committed`, or `rejected` (nothing imported because of bad rows).
    public var status: String
    public var staged: Int
    public var imported: Int
    /// The first 1,000 rejected rows, with reasons.
    public var rejected: [ImportRejection]
    public var rejectedCount: Int
    /// The numbers given to the first and last imported records.
    public var firstNumber: String?
    public var lastNumber: String?
    public init(importId: UUID, status: String, staged: Int, imported: Int, rejected: [ImportRejection], rejectedCount: Int,
                firstNumber: String? = nil, lastNumber: String? = nil) {
        self.importId = importId
        self.status = status
        self.staged = staged
        self.imported = imported
        self.rejected = rejected
        self.rejectedCount = rejectedCount
        self.firstNumber = firstNumber
        self.lastNumber = lastNumber
    }
}
