import Foundation
import ITSMProtocol

/// Calendar definitions from `incident.sla.define` and supplier contracts: a definition either
/// is refused or makes a calendar whose arithmetic never traps and never runs backwards.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCalendar(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(UnsafeRawBufferPointer(start: start, count: count))
    guard let definition = try? JSONCoding.decoder.decode(CalendarDefinition.self, from: data),
          let calendar = try? definition.make() else { return 0 }
    let origin = Date(timeIntervalSince1970: 1_795_454_529)
    for (offset, seconds) in [(0.0, 60.0), (3_600.0 * 13, 8 * 3_600.0), (86_400.0 * 40, 86_400.0 * 3)] {
        let from = origin.addingTimeInterval(offset)
        if let due = calendar.date(addingBusinessSeconds: seconds, to: from) {
            precondition(due >= from, "a deadline before its start")
            precondition(calendar.businessSeconds(from: from, to: due) >= 0)
        }
        _ = calendar.businessSeconds(from: from, to: from.addingTimeInterval(seconds),
                                     excluding: [DateInterval(start: from, duration: seconds / 2)])
    }
    return 0
}
