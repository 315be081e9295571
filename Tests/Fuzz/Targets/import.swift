import Foundation
import ITSMProtocol

/// Import mappings and rows from `incident.import.begin` / `.rows`: the first line is the
/// options (JSON), the second the CSV header, the rest rows (comma-separated). Options are
/// refused or accepted, rows read or rejected with a reason, and nothing traps; a row read
/// is one the database can take.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImport(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let lines = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
        .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard lines.count >= 2 else { return 0 }
    let options = (try? JSONCoding.decoder.decode(ImportOptions.self, from: Data(lines[0].utf8))) ?? ImportOptions()
    let columns = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    guard let reader = try? ImportReader(options: options, columns: columns, matrix: .itil, now: Date(timeIntervalSince1970: 1_795_454_529))
    else { return 0 }
    for line in lines.dropFirst(2) {
        let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard case .success(let row) = reader.read(cells) else { continue }
        precondition(!row.title.isEmpty && row.title.count <= Incident.maximumShortText)
        precondition((1...5).contains(row.priority) && (1...3).contains(row.impact) && (1...3).contains(row.urgency))
        // Dates within years 0001-9999, as everywhere else: ISO text of one length, ordered as text.
        let dates = [row.created_at] + [row.resolved_at, row.closed_at].compactMap { $0 }
        precondition(dates.allSatisfy { $0.count == "2026-11-23T17:22:09.000Z".count && !$0.hasPrefix("0000") }, "\(dates)")
        if let resolved = row.resolved_at { precondition(resolved >= row.created_at) }
    }
    return 0
}
