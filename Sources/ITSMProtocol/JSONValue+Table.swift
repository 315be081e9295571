/// Records shown as a table, as the command line, the console and the evidence pack show them.
extension JSONValue {
    /// A scalar as a table cell or a CSV field shows it (null: empty); nil for arrays and objects.
    public var plainText: String? {
        switch self {
        case .string(let text): text
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .bool(let flag): String(flag)
        case .null: ""
        case .array, .object: nil
        }
    }

    /// The members to show for `items` (records of one kind): those in `preferred` the first
    /// record has, then its other plain members by name, up to `limit`.
    public static func tableColumns(of items: [JSONValue], limit: Int = 7,
                                    preferred: [String] = ["number", "name", "title", "status", "priority", "createdAt"]) -> [String] {
        guard let first = items.first?.objectValue else { return [] }
        let rest = first.keys.sorted().filter { !preferred.contains($0) && first[$0]?.plainText != nil }
        return Array((preferred.filter { first[$0] != nil } + rest).prefix(limit))
    }
}
