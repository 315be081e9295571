import Foundation
import ITSMProtocol

extension Sample {
    /// How far ahead of the clock a sample may lie unless configured (`futureSkewSeconds`).
    public static let defaultFutureSkew: TimeInterval = 300

    /// Why a sample cannot be stored.
    public struct Refusal: Error, Sendable {
        public var reason: String
    }

    /// The sample's time, once it and the value are fit to store: an ISO 8601 time from 1970
    /// to `futureSkew` ahead of `now` (one from the far future would stay the newest forever and
    /// freeze its metric), and a finite value. The capacity process and the CSV import both
    /// check with this, so a file the import accepts is a file the process accepts.
    public func checkedTime(now: Date, futureSkew: TimeInterval) throws(Refusal) -> Date {
        guard let time = JSONCoding.date(from: at) else { throw Refusal(reason: "at: '\(at.prefix(40))' is not an ISO 8601 time") }
        guard time >= Date(timeIntervalSince1970: 0) else { throw Refusal(reason: "at: \(at) is before 1970") }
        guard time <= now.addingTimeInterval(futureSkew) else {
            throw Refusal(reason: "at: \(at) is in the future (more than \(Int(futureSkew)) s ahead)")
        }
        guard value.isFinite else { throw Refusal(reason: "value: not a finite number") }
        return time
    }
}
