/// CSV imports: never traps, and a file that reads gives records of strings.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    if let records = try? CSVReader.records(bytes) {
        precondition(records.allSatisfy { !$0.isEmpty })
    }
    return 0
}
