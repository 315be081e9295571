import Foundation
import ITSMProtocol

/// Checks on params that every process makes, with the same `-32602` messages everywhere.
public enum Validation {
    /// Trimmed text of 1 to `max` characters.
    public static func text(_ value: String, _ field: String, max: Int) throws(ResponseError) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...max).contains(trimmed.count) else { throw .invalidParams("\(field): required, at most \(max) characters") }
        return trimmed
    }

    /// A calendar date, `YYYY-MM-DD`.
    @discardableResult
    public static func date(_ value: String, _ field: String) throws(ResponseError) -> String {
        guard value.count == 10, (try? Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day().parse(value)) != nil else {
            throw .invalidParams("\(field): a date like 2027-06-30")
        }
        return value
    }
}
