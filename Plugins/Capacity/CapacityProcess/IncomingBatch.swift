import Foundation
import ITSMPostgres

/// A batch's accepted samples, with what ingestion needs from them worked out once here rather
/// than by statements over a staging table: the rows for COPY, whether two samples share a
/// metric and a time, each metric's newest sample, and the rollup buckets the batch touches.
struct IncomingBatch {
    /// `metric_id`, `at`, `value` as COPY takes them, in the batch's order.
    private(set) var rows: [[String?]] = []
    /// Whether two samples name the same metric and time (to the microsecond, as stored).
    private(set) var repeatsASample = false
    private var times: Set<SampleKey> = []
    private var newestByMetric: [UUID: (key: Int64, at: Date, value: Double)] = [:]
    private var touched: Set<Bucket> = []
    private var metricTexts: [UUID: String] = [:]

    private struct SampleKey: Hashable {
        var metric: UUID
        var micros: Int64
    }

    private struct Bucket: Hashable {
        var metric: UUID
        var granularity: String
        /// Seconds since 1970 at the bucket's start, in UTC as the database's sessions run.
        var start: Int64
    }

    mutating func add(metric: UUID, at: Date, value: Double) {
        // A UUID's text is written through printf: once per metric, not once per sample.
        let metricText = metricTexts[metric] ?? metric.uuidString
        metricTexts[metric] = metricText
        rows.append([metricText, at.postgresText, String(value)])
        let micros = Int64((at.timeIntervalSince1970 * 1_000_000).rounded())
        if !times.insert(SampleKey(metric: metric, micros: micros)).inserted { repeatsASample = true }
        // The newest wins, and among samples of the same time the last, as in the upsert.
        if let newest = newestByMetric[metric], newest.key > micros {} else {
            newestByMetric[metric] = (micros, at, value)
        }
        // Samples lie after 1970 (`Sample.checkedTime`), so division rounds down to the bucket.
        let seconds = micros / 1_000_000
        touched.insert(Bucket(metric: metric, granularity: "hour", start: seconds - seconds % 3_600))
        touched.insert(Bucket(metric: metric, granularity: "day", start: seconds - seconds % 86_400))
    }

    /// The metrics the samples name.
    var metrics: [UUID] { Array(newestByMetric.keys) }

    /// Each metric's newest sample, as arrays for `unnest`.
    var newest: (metrics: [UUID], times: [String], values: [String]) {
        var arrays: (metrics: [UUID], times: [String], values: [String]) = ([], [], [])
        for (metric, sample) in newestByMetric {
            arrays.metrics.append(metric)
            arrays.times.append(sample.at.postgresText ?? "")
            arrays.values.append(String(sample.value))
        }
        return arrays
    }

    /// The hourly and daily buckets the samples fall in, as arrays for `unnest`.
    var buckets: (metrics: [UUID], granularities: [String], starts: [String]) {
        var arrays: (metrics: [UUID], granularities: [String], starts: [String]) = ([], [], [])
        for bucket in touched {
            arrays.metrics.append(bucket.metric)
            arrays.granularities.append(bucket.granularity)
            arrays.starts.append(Date(timeIntervalSince1970: Double(bucket.start)).postgresText ?? "")
        }
        return arrays
    }
}
