/// The rows a statement returned, copied out of libpq's result so they outlive it.
public struct PostgresRows: Sendable, RandomAccessCollection {
    /// Column names and types, shared by every row.
    public let columns: PostgresColumns
    let cells: [[String?]]
    /// Rows affected, for INSERT/UPDATE/DELETE; `0` when the statement reports none.
    public let affectedRows: Int

    init(columns: PostgresColumns, cells: [[String?]], affectedRows: Int) {
        self.columns = columns
        self.cells = cells
        self.affectedRows = affectedRows
    }

    public var startIndex: Int { cells.startIndex }
    public var endIndex: Int { cells.endIndex }
    public subscript(position: Int) -> PostgresRow {
        PostgresRow(columns: columns, values: cells[position])
    }

    /// The single row of a statement that must return exactly one.
    public func single() throws -> PostgresRow {
        guard count == 1 else {
            throw PostgresError(code: .decodingFailed, message: "expected one row, got \(count)")
        }
        return self[0]
    }
}

/// The columns of a result: names in order, their types, and a name lookup.
public final class PostgresColumns: Sendable {
    public let names: [String]
    public let types: [PostgresDataType]
    private let indexByName: [String: Int]

    init(names: [String], types: [PostgresDataType]) {
        self.names = names
        self.types = types
        var index: [String: Int] = [:]
        for (offset, name) in names.enumerated() where index[name] == nil {
            index[name] = offset
        }
        self.indexByName = index
    }

    func index(of name: String) throws -> Int {
        guard let index = indexByName[name] else {
            throw PostgresError(code: .columnNotFound, message: "no column named \(name)")
        }
        return index
    }
}

/// One row of a result. Decode columns by name or position:
///
/// ```swift
/// let number = try row.decode(String.self, "number")
/// let closedAt = try row.decode(Date?.self, "closed_at")
/// ```
public struct PostgresRow: Sendable {
    public let columns: PostgresColumns
    /// Each column's value in the text format, `nil` for NULL.
    public let values: [String?]

    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, _ column: String) throws -> T {
        try decode(type, at: columns.index(of: column))
    }

    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, at index: Int) throws -> T {
        guard let text = values[index] else {
            do {
                return try T.postgresNull()
            } catch var error as PostgresError {
                error.column = columns.names[index]
                throw error
            }
        }
        do {
            return try T(postgresText: text, type: columns.types[index])
        } catch var error as PostgresError {
            error.column = columns.names[index]
            throw error
        }
    }
}
