import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// Who is asking, as far as requests care: a person sees their own requests, those waiting on
/// their decision and those with tasks for their groups; with `service.all.read` they see every
/// one. Service tokens and plugins are not people: their permissions alone decide.
public struct Caller: Sendable, Hashable {
    /// As records name who made a change: `user:alan`, `token:admin`.
    public var actor: String
    /// The account name of a person; nil for a service token or a plugin.
    public var person: String?
    public var roles: [String]
    public var seesAll: Bool
    public var fulfils: Bool
    public var approvesAny: Bool
    /// Keeps the catalogue (`service.write`): may also work on any task.
    public var manages: Bool

    public static let seeEverything = "service.all.read"
    public static let fulfil = "service.fulfil"
    public static let approveAny = "service.approve_any"

    public init(actor: String, person: String?, roles: [String] = [], seesAll: Bool = false, fulfils: Bool = false,
                approvesAny: Bool = false, manages: Bool = false) {
        self.actor = actor
        self.person = person
        self.roles = roles
        self.seesAll = seesAll
        self.fulfils = fulfils
        self.approvesAny = approvesAny
        self.manages = manages
    }

    public init(_ context: MethodContext) {
        guard let principal = context.principal else {
            // The coordinator itself.
            self.init(actor: context.actor, person: nil, seesAll: true, fulfils: true, approvesAny: true, manages: true)
            return
        }
        self.init(actor: context.actor, person: principal.isPerson ? principal.name : nil, roles: principal.roles,
                  seesAll: !principal.isPerson || principal.holds(Self.seeEverything), fulfils: principal.holds(Self.fulfil),
                  approvesAny: principal.holds(Self.approveAny), manages: principal.holds("service.write"))
    }

    /// The requests this caller sees, as a condition on `service.request r`.
    var visibility: PostgresQuery {
        guard !seesAll, let person else { return "" }
        var condition: PostgresQuery = """
             AND (r.requester = \(person) OR r.created_by = \(actor)
                  OR EXISTS (SELECT 1 FROM service.task t WHERE t.request_id = r.id
                             AND (t.assignee = \(person)
                                  OR t.assignment_group IN (SELECT group_name FROM itsm.group_member WHERE account = \(person))))
                  OR EXISTS (SELECT 1 FROM service.approval a WHERE a.request_id = r.id AND a.decided_by = \(actor))
            """
        condition.append(awaitingDecision(or: true))
        condition.append(")")
        return condition
    }

    /// Requests waiting on a level this caller decides (a person, a group they are in, a role
    /// they hold, the requester's manager), as ` OR (…)` or ` AND (…)`.
    func awaitingDecision(or: Bool) -> PostgresQuery {
        let level: PostgresQuery = "r.item->'approvals'->r.approval_level"
        var condition: PostgresQuery = or ? " OR (" : " AND ("
        condition.append("r.status = 'awaiting_approval' AND (")
        condition.append(level)
        condition.append("->>'kind' = 'user' AND ")
        condition.append(level)
        condition.append("->>'name' = \(person ?? "") OR ")
        condition.append(level)
        condition.append("->>'kind' = 'group' AND ")
        condition.append(level)
        condition.append("->>'name' IN (SELECT group_name FROM itsm.group_member WHERE account = \(person ?? "")) OR ")
        condition.append(level)
        condition.append("->>'kind' = 'role' AND ")
        condition.append(level)
        condition.append("->>'name' = ANY(\(roles)) OR ")
        condition.append(level)
        condition.append("->>'kind' = 'manager' AND (SELECT manager FROM itsm.account WHERE name = r.requester) = \(person ?? "")))")
        return condition
    }
}
