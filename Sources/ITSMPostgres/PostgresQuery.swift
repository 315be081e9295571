/// A SQL statement whose interpolated values become `$n` parameters.
///
/// Values never become part of the SQL text, so a query built this way cannot be injected into:
///
/// ```swift
/// let rows = try await connection.query("SELECT id FROM incident.incident WHERE number = \(number)")
/// ```
///
/// Identifiers and other SQL fragments that cannot be parameters must be spelled out with
/// `\(unsafeSQL: ...)`, which makes every such place visible in review.
public struct PostgresQuery: Sendable, Hashable, ExpressibleByStringInterpolation {
    /// The statement text, with `$1`, `$2`, ... in place of the values.
    public private(set) var sql: String
    /// The parameter values in the text format, `nil` for NULL.
    public private(set) var binds: [String?]
    /// The parameter type OIDs; `.unspecified` lets the server infer the type.
    public private(set) var bindTypes: [PostgresDataType]
    /// False for a statement PostgreSQL must plan for its values every time: the connection
    /// then runs it unprepared, never on a generic plan (see `plannedForEachRun()`).
    public private(set) var reusesPlan = true

    /// This statement, planned for its values on every run. For statements whose best plan
    /// depends on the values so much that a generic plan can be many times slower (a list
    /// filtered by an agent's groups took 29 ms on one instead of 3).
    public func plannedForEachRun() -> PostgresQuery {
        var query = self
        query.reusesPlan = false
        return query
    }

    /// A statement with no interpolated values, written by the caller.
    public init(unsafeSQL sql: String) {
        self.sql = sql
        self.binds = []
        self.bindTypes = []
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.sql = stringInterpolation.sql
        self.binds = stringInterpolation.binds
        self.bindTypes = stringInterpolation.bindTypes
    }

    /// Appends another query, renumbering its parameters after this one's.
    public mutating func append(_ other: PostgresQuery) {
        reusesPlan = reusesPlan && other.reusesPlan
        var renumbered = ""
        var scanner = other.sql.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = scanner.next()
        while let scalar = pending {
            pending = scanner.next()
            guard scalar == "$", let first = pending, first.properties.numericType != nil else {
                renumbered.unicodeScalars.append(scalar)
                continue
            }
            var digits = String(first)
            pending = scanner.next()
            while let next = pending, next.properties.numericType != nil {
                digits.unicodeScalars.append(next)
                pending = scanner.next()
            }
            renumbered += "$\(Int(digits)! + binds.count)"
        }
        sql += renumbered
        binds += other.binds
        bindTypes += other.bindTypes
    }

    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        var sql = ""
        var binds: [String?] = []
        var bindTypes: [PostgresDataType] = []
        var encodingError: PostgresError?

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds.reserveCapacity(interpolationCount)
            bindTypes.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// A value, sent as the next `$n` parameter.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            binds.append(value.postgresText)
            bindTypes.append(type(of: value).postgresType)
            sql += "$\(binds.count)"
        }

        /// An optional value: NULL when `nil`.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value?) {
            binds.append(value?.postgresText)
            bindTypes.append(Value.postgresType)
            sql += "$\(binds.count)"
        }

        /// A fragment of SQL written into the statement as it is: never pass user input here.
        public mutating func appendInterpolation(unsafeSQL fragment: String) {
            sql += fragment
        }
    }
}
