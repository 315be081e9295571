import Foundation

/// One change to a record: who, when, which field, from what, to what. Every process keeps a
/// history of these, append-only, written in the same transaction as the change.
public struct HistoryEntry: Sendable, Hashable, Codable {
    public var at: Date
    public var actor: String
    public var field: String
    public var oldValue: String?
    public var newValue: String?

    public init(at: Date, actor: String, field: String, oldValue: String?, newValue: String?) {
        self.at = at
        self.actor = actor
        self.field = field
        self.oldValue = oldValue
        self.newValue = newValue
    }
}
