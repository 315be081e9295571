import Foundation

/// Protocol lines and HTTP bodies: the JSON parser, message decoding, dates and the input
/// checks must never trap, and what parses serializes back to the same value.
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
    _ = MethodPattern.matches(text, "incident.get")
    return 0
}
