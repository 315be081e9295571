/// An action agreed at a review (a management review, a supplier or a service review): what,
/// who, by when. Each process keeps it with its own record and tracks it until it is done.
public struct ActionToTake: Sendable, Hashable, Codable {
    public var description: String
    public var owner: String
    /// A date, `YYYY-MM-DD`.
    public var dueOn: String

    public init(description: String, owner: String, dueOn: String) {
        self.description = description
        self.owner = owner
        self.dueOn = dueOn
    }
}
