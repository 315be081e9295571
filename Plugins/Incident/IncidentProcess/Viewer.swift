import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// A person who sees only some records, and what they may do with them.
///
/// - With `incident.all.read` a person sees every record and is not a `Viewer` at all.
/// - With `incident.group.read` (and not the former) they see the records assigned to one of
///   their assignment groups or to them, and those they are the caller of or reported, with
///   their work notes: an agent limited to their groups.
/// - With neither they are a requester: they see the records they are the caller of or
///   reported, and only their customer comments; they report, comment for the desk to read,
///   confirm a resolution, reopen and withdraw, and the rest of the lifecycle is the desk's.
///
/// Someone else's record is as absent as one that does not exist. Service tokens and plugins
/// are not people: their permissions alone decide.
public struct Viewer: Sendable, Hashable {
    public enum Reach: Sendable, Hashable {
        /// Their own records: a requester.
        case own
        /// Their own records and their groups'.
        case groups
    }

    /// The account name, as records name their caller and assignee.
    public var name: String
    /// As records name who made a change: `user:<name>`.
    public var actor: String
    public var reach: Reach

    /// What lets a person see every record and its work notes.
    public static let seeEverything = "incident.all.read"
    /// What lets a person see their assignment groups' records with their work notes.
    public static let seeGroups = "incident.group.read"

    public init(name: String, reach: Reach) {
        self.name = name
        self.actor = "user:\(name)"
        self.reach = reach
    }

    /// Whom a request shows records to, or nil when it may see every one.
    public init?(_ principal: RequestPrincipal?) {
        guard let principal, principal.isPerson, !principal.holds(Self.seeEverything) else { return nil }
        self.init(name: principal.name, reach: principal.holds(Self.seeGroups) ? .groups : .own)
    }

    public var isRequester: Bool { reach == .own }

    /// The records this viewer sees, as a condition on `incident.incident` (its columns
    /// qualified by `alias`, when one is given). `groups`, when the caller has read them, go in
    /// as values: PostgreSQL then knows how many records match and can combine the indexes of
    /// each column, where a subquery leaves it guessing (a list's count scanned the table).
    func condition(alias: String? = nil, groups: [String]? = nil) -> PostgresQuery {
        var condition: PostgresQuery = " AND ("
        for (index, source) in sources(alias: alias, groups: groups).enumerated() {
            if index > 0 { condition.append(" OR ") }
            condition.append(source)
        }
        condition.append(")")
        return condition
    }

    /// Each way a record comes into this viewer's sight (they called it in, reported it, are
    /// its assignee, or it is their group's), as a condition of its own: the records they see
    /// are those meeting any. A list counts them source by source (`IncidentStore.list`).
    func sources(alias: String? = nil, groups: [String]? = nil) -> [PostgresQuery] {
        let column = { (name: String) in PostgresQuery(unsafeSQL: alias.map { "\($0).\(name)" } ?? name) }
        var caller = column("caller"), reporter = column("created_by")
        caller.append(" = \(name)")
        reporter.append(" = \(actor)")
        guard reach == .groups else { return [caller, reporter] }
        var assignee = column("assignee"), group = column("assignment_group")
        assignee.append(" = \(name)")
        if let groups {
            group.append(" = ANY (\(groups))")
        } else {
            group.append(" IN (SELECT group_name FROM itsm.group_member WHERE account = \(name))")
        }
        return [caller, reporter, assignee, group]
    }

    /// The assignment groups this viewer belongs to.
    func groups(in database: PluginDatabase) async throws -> [String] {
        try await database.query("SELECT group_name FROM itsm.group_member WHERE account = \(name)").map { try $0.decode(String.self, "group_name") }
    }

    /// The refusal of what is the service desk's to do.
    static func deskOnly(_ method: String) -> ResponseError {
        ResponseError(code: .permissionDenied, kind: "auth.forbidden",
                      message: "\(method) is for the service desk; a requester reports, comments, confirms, reopens and withdraws their own records")
    }
}
