import ITSMPostgres
import Testing

/// A test that fails on a database error shows the server's or libpq's message, not only the
/// generic text API callers get ("database unavailable: connection failed" said nothing of why).
extension PostgresError: CustomTestStringConvertible {
    public var testDescription: String { debugDescription }
}
