import Foundation
import ITSMCalendar
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// The item as a request keeps it: what was approved and how it is measured.
struct ItemSnapshot: Sendable, Hashable, Codable {
    var name: String
    var title: String
    var service: String
    var approvals: [Approver]
    var tasks: [TaskTemplate]
    var targetMinutes: Int
    var calendar: CalendarDefinition
    /// The agreement whose fulfilment time and hours replaced the item's, if any.
    var agreement: String?
}
