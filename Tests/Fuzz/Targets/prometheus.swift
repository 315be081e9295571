import Foundation

/// Prometheus exposition text: never traps, every sample comes from a line of the body, and
/// only finite values become samples.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPrometheus(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let body = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    let metrics: Set = ["node_load1", "node_filesystem_avail_bytes{mountpoint=\"/\"}", "cpu", "a{b=\"c\"}"]
    let parsed = PrometheusText.parse(body, resource: "host", metrics: metrics, now: Date(timeIntervalSince1970: 1_800_000_000))
    let lineCount = body.split(separator: "\n", omittingEmptySubsequences: false).count
    precondition(parsed.lines.count == parsed.samples.count)
    precondition(parsed.lines.allSatisfy { (1...lineCount).contains($0) })
    precondition(parsed.samples.allSatisfy { $0.value.isFinite && metrics.contains($0.metric) })
    for name in metrics { _ = SeriesSelector(name) }
    _ = SeriesSelector(body)
    return 0
}
