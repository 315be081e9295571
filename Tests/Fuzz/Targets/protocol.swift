import Foundation

/// Protocol lines and HTTP bodies: the JSON parser, message decoding, dates and the input
/// checks must never trap, what parses serializes back to the same value, a result passed on
/// as it came is the one the decoder reads, and a time read by the fast reader is the one
/// Foundation reads.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProtocol(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    if let value = try? JSONValue.parse(bytes) {
        let again = try? JSONValue.parse(value.serialized())
        precondition(again == value, "a parsed document does not survive serialize and parse")
        _ = value.inputProblem()
    }
    let decoded = try? Message.decode(bytes)
    // A result passed on as it came is one the full decoder reads, to the same value.
    if let (id, result) = RawJSON.response(line: bytes) {
        guard case .response(let response)? = decoded, response.id == id, case .success(let value) = response.result else {
            preconditionFailure("RawJSON read a response the decoder does not")
        }
        precondition((try? result.parsed()) == value, "RawJSON's result differs from the decoder's")
    }
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
