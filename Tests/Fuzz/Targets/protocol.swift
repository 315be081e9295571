import Foundation

/// Protocol lines and HTTP bodies: the JSON parser, message decoding, dates and the input
/// checks must never trap, what parses serializes back to the same value, and a time read by
/// the fast reader is the one Foundation reads.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProtocol(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    if let value = try? JSONValue.parse(bytes) {
        let again = try? JSONValue.parse(value.serialized())
        precondition(again == value, "a parsed document does not survive serialize and parse")
        _ = value.inputProblem()
    }
    _ = try? Message.decode(bytes)
    let text = String(decoding: bytes, as: UTF8.self)
    if let date = JSONCoding.date(from: text) {
        precondition(date >= JSONCoding.earliestDate && date < JSONCoding.endOfDates, "a date out of range was accepted")
    }
    // The fast reader of the usual shape reads only what Foundation reads, to the same Date.
    if let fast = RFC3339.date(text) {
        let foundation = (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text))
        precondition(fast == foundation, "RFC3339 read \(text) differently from Foundation")
    }
    _ = MethodPattern.matches(text, "incident.get")
    return 0
}
