import Foundation
import ITSMSystem

/// Reads the usual shape of a time on the wire, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`,
/// without Foundation's ISO 8601 parser, which took a quarter of capacity ingestion's time.
///
/// It handles only what it can read to the same `Date` Foundation gives (checked against it on a
/// million generated times): years 1583 to 9998 (Foundation's calendar is Julian before the
/// Gregorian reform, and a year's edge could cross 0001 or 10000 with an offset), up to nine
/// fraction digits, offsets up to 14 hours, and only days and times that exist. Anything else
/// is nil, and the caller asks Foundation, which decides.
enum RFC3339 {
    static func date(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { bytes -> Date? in
            // The shortest is `2026-01-02T03:04:05Z` (20 bytes); the longest has nine fraction
            // digits and an offset (35).
            guard (20...35).contains(bytes.count), bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
                  bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":") else { return nil }
            func number(_ start: Int, _ count: Int) -> Int64? {
                var value: Int64 = 0
                for index in start..<(start + count) {
                    let digit = bytes[index] &- UInt8(ascii: "0")
                    guard digit <= 9 else { return nil }
                    value = value * 10 + Int64(digit)
                }
                return value
            }
            guard let year = number(0, 4), (1583...9998).contains(year), let month = number(5, 2), (1...12).contains(month),
                  let day = number(8, 2), day >= 1, day <= CivilDays.inMonth(month, of: year),
                  let hour = number(11, 2), hour <= 23, let minute = number(14, 2), minute <= 59,
                  let second = number(17, 2), second <= 59 else { return nil }
            var index = 19
            var nanoseconds: Int64 = 0
            if bytes[index] == UInt8(ascii: ".") {
                index += 1
                var digits = 0
                while index < bytes.count, case let digit = bytes[index] &- UInt8(ascii: "0"), digit <= 9 {
                    guard digits < 9 else { return nil }
                    nanoseconds = nanoseconds * 10 + Int64(digit)
                    digits += 1
                    index += 1
                }
                guard digits > 0 else { return nil }
                for _ in digits..<9 { nanoseconds *= 10 }
            }
            var offset: Int64 = 0
            switch bytes.count - index {
            case 1 where bytes[index] == UInt8(ascii: "Z"):
                break
            case 6 where (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) && bytes[index + 3] == UInt8(ascii: ":"):
                guard let hours = number(index + 1, 2), hours <= 14, let minutes = number(index + 4, 2), minutes <= 59 else { return nil }
                offset = (hours * 3600 + minutes * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
            default:
                return nil
            }
            // The local time and its fraction first, then the offset: the order Foundation adds
            // them in, so that the result is the same to the last bit.
            let local = CivilDays.since1970(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
            let sinceReference = Double(local - referenceDateSince1970) + Double(nanoseconds) / 1_000_000_000
            return Date(timeIntervalSinceReferenceDate: sinceReference - Double(offset))
        }
    }

    /// 2001-01-01T00:00:00Z, Foundation's reference date, in seconds since 1970.
    private static let referenceDateSince1970: Int64 = 978_307_200
}
