import Foundation
import ITSMSystem

/// Reads and writes `timestamptz` in PostgreSQL's ISO text format without a date formatter:
/// connections run with `TimeZone=UTC` and `DateStyle=ISO`, so the server sends
/// `2026-11-23 17:22:09.123456+00`.
enum PostgresTimestamp {
    /// Formats a date as `2026-11-23T17:22:09.123456Z` (microseconds, UTC).
    static func format(_ date: Date) -> String {
        let totalMicros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        var seconds = Int64((totalMicros / 1_000_000).rounded(.down))
        let micros = Int64(totalMicros) - seconds * 1_000_000
        let days = CivilDays.floorDivision(seconds, 86_400)
        seconds -= days * 86_400
        let (year, month, day) = CivilDays.civil(since1970: days)
        let yearText = (0...9999).contains(year) ? nil : wideYear(year)
        let rest = yearText?.count ?? 4
        // Written into the string's own storage: String(format:), or a String per part, cost
        // more than the rest of a query's parameters (and a tenth of capacity ingestion).
        return String(unsafeUninitializedCapacity: rest + 23) { text in
            func put(_ value: Int64, width: Int, ending end: Int) {
                var value = value
                for index in stride(from: end - 1, through: end - width, by: -1) {
                    text[index] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
            }
            if let yearText { _ = text.initialize(fromContentsOf: yearText) } else { put(year, width: 4, ending: 4) }
            text[rest] = UInt8(ascii: "-")
            put(month, width: 2, ending: rest + 3)
            text[rest + 3] = UInt8(ascii: "-")
            put(day, width: 2, ending: rest + 6)
            text[rest + 6] = UInt8(ascii: "T")
            put(seconds / 3600, width: 2, ending: rest + 9)
            text[rest + 9] = UInt8(ascii: ":")
            put((seconds % 3600) / 60, width: 2, ending: rest + 12)
            text[rest + 12] = UInt8(ascii: ":")
            put(seconds % 60, width: 2, ending: rest + 15)
            text[rest + 15] = UInt8(ascii: ".")
            put(micros, width: 6, ending: rest + 22)
            text[rest + 22] = UInt8(ascii: "Z")
            return rest + 23
        }
    }

    /// A year outside 0 to 9999: more places, or a sign (`-0044`).
    private static func wideYear(_ year: Int64) -> [UInt8] {
        let magnitude = String(year.magnitude)
        return Array(((year < 0 ? "-" : "") + String(repeating: "0", count: max(0, 4 - magnitude.count)) + magnitude).utf8)
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]`; `nil` for anything else.
    static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        var index = 0

        func number(_ count: Int) -> Int64? {
            guard index + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for _ in 0..<count {
                let byte = bytes[index]
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
                index += 1
            }
            return value
        }
        func expect(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        guard let year = number(4), expect(UInt8(ascii: "-")), let month = number(2), expect(UInt8(ascii: "-")),
              let day = number(2), expect(UInt8(ascii: " ")) || expect(UInt8(ascii: "T")),
              let hour = number(2), expect(UInt8(ascii: ":")), let minute = number(2),
              expect(UInt8(ascii: ":")), let second = number(2)
        else { return nil }

        var micros: Int64 = 0
        if expect(UInt8(ascii: ".")) {
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 6 { micros = micros * 10 + Int64(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            for _ in digits..<max(digits, 6) { micros *= 10 }
        }

        var offsetSeconds: Int64 = 0
        if index < bytes.count {
            if expect(UInt8(ascii: "Z")) {
                offsetSeconds = 0
            } else {
                let sign: Int64
                if expect(UInt8(ascii: "+")) { sign = 1 } else if expect(UInt8(ascii: "-")) { sign = -1 } else { return nil }
                guard let offsetHours = number(2) else { return nil }
                var offsetMinutes: Int64 = 0, offsetSecs: Int64 = 0
                if expect(UInt8(ascii: ":")) { guard let value = number(2) else { return nil }; offsetMinutes = value }
                if expect(UInt8(ascii: ":")) { guard let value = number(2) else { return nil }; offsetSecs = value }
                offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60 + offsetSecs)
            }
        }
        guard index == bytes.count, (1...12).contains(month), (1...31).contains(day),
              hour < 24, minute < 60, second < 61
        else { return nil }

        let days = CivilDays.since1970(year: year, month: month, day: day)
        let epochSeconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: Double(epochSeconds) + Double(micros) / 1_000_000)
    }
}
