import ITSMPluginKit

// The process implements its contract: its methods' params and results are
// NotificationProtocol's, and code using this module sees them too.
@_exported import NotificationProtocol

extension ListDeliveries: RecordPeriods {}
