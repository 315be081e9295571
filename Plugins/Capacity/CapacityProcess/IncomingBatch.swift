import Foundation
import ITSMPostgres

/// A batch's accepted samples, with what ingestion needs from them worked out once here rather
/// than by statements over a staging table: the rows for COPY, whether two samples share a
/// metric and a time, each metric's newest sample, and the rollup buckets the batch touches.
///
/// Metrics are numbered in the order the batch names them, and the sets hold those numbers:
/// hashing a UUID, or a granularity's name, several times a sample was a tenth of ingestion.
struct IncomingBatch {
    /// `metric_id`, `at`, `value` as COPY takes them, in the batch's order.
    private(set) var rows: [[String?]] = []
    /// Whether two samples name the same metric and time (to the microsecond, as stored).
    private(set) var repeatsASample = false
    private var numbers: [UUID: Int] = [:]
    private var named: [Named] = []
    private var times: Set<SampleKey> = []
    private var touched: Set<Bucket> = []

    /// A metric the batch names, by its number.
    private struct Named {
        var id: UUID
        /// Its UUID's text, which `uuidString` writes through printf: once a metric, not a sample.
        var text: String
        var newest: (micros: Int64, at: Date, value: Double)
        /// The hour and day its last sample fell in: a metric's samples mostly come in order,
        /// so most need no look in `touched`.
        var lastHour: Int64
        var lastDay: Int64
    }

    private struct SampleKey: Hashable {
        var metric: Int
        var micros: Int64
    }

    private struct Bucket: Hashable {
        var metric: Int
        var daily: Bool
        /// Seconds since 1970 at the bucket's start, in UTC as the database's sessions run.
        var start: Int64
    }

    mutating func add(metric id: UUID, at: Date, value: Double) {
        let micros = Int64((at.timeIntervalSince1970 * 1_000_000).rounded())
        // Samples lie after 1970 (`Sample.checkedTime`), so division rounds down to the bucket.
        let seconds = micros / 1_000_000
        let hour = seconds - seconds % 3_600, day = seconds - seconds % 86_400
        let metric: Int
        if let number = numbers[id] {
            metric = number
            // The newest wins, and among samples of the same time the last, as in the upsert.
            if named[metric].newest.micros <= micros { named[metric].newest = (micros, at, value) }
        } else {
            metric = named.count
            numbers[id] = metric
            named.append(Named(id: id, text: id.uuidString, newest: (micros, at, value), lastHour: hour - 1, lastDay: day - 1))
        }
        rows.append([named[metric].text, at.postgresText, String(value)])
        if !times.insert(SampleKey(metric: metric, micros: micros)).inserted { repeatsASample = true }
        if named[metric].lastHour != hour {
            touched.insert(Bucket(metric: metric, daily: false, start: hour))
            named[metric].lastHour = hour
        }
        if named[metric].lastDay != day {
            touched.insert(Bucket(metric: metric, daily: true, start: day))
            named[metric].lastDay = day
        }
    }

    /// The metrics the samples name.
    var metrics: [UUID] { named.map(\.id) }

    /// Each metric's newest sample, as arrays for `unnest`.
    var newest: (metrics: [UUID], times: [String], values: [String]) {
        (named.map(\.id), named.map { $0.newest.at.postgresText ?? "" }, named.map { String($0.newest.value) })
    }

    /// A time on each day (UTC) the samples fall in, for the partitions they need.
    var dayStarts: [String] {
        Set(touched.lazy.filter(\.daily).map(\.start)).map { Date(timeIntervalSince1970: Double($0)).postgresText ?? "" }
    }

    /// The hourly and daily buckets the samples fall in, as arrays for `unnest`.
    var buckets: (metrics: [UUID], granularities: [String], starts: [String]) {
        var arrays: (metrics: [UUID], granularities: [String], starts: [String]) = ([], [], [])
        for bucket in touched {
            arrays.metrics.append(named[bucket.metric].id)
            arrays.granularities.append(bucket.daily ? "day" : "hour")
            arrays.starts.append(Date(timeIntervalSince1970: Double(bucket.start)).postgresText ?? "")
        }
        return arrays
    }
}
