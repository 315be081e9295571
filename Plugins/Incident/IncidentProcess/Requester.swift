import ITSMPluginKit
import ITSMProtocol

/// A person who may see only their own records: one without `incident.all.read`. Their own
/// records are those they are the caller of or reported; of the comments they see only those
/// for the customer. They report, comment for the desk to read, confirm a resolution, reopen
/// and withdraw; the rest of the lifecycle is the service desk's.
///
/// Service tokens and plugins are not people: their permissions alone decide.
public struct Requester: Sendable, Hashable {
    /// The account name, as records name their caller.
    public var name: String
    /// As records name who made a change: `user:<name>`.
    public var actor: String

    /// What lets a person see every record and its work notes.
    public static let seeEverything = "incident.all.read"

    public init(name: String) {
        self.name = name
        self.actor = "user:\(name)"
    }

    /// The requester a request is for, or nil when it is for the desk (or a program).
    public init?(_ principal: RequestPrincipal?) {
        guard let principal, principal.isPerson, !principal.holds(Self.seeEverything) else { return nil }
        self.init(name: principal.name)
    }

    func owns(_ incident: Incident) -> Bool {
        incident.caller == name || incident.createdBy == actor
    }

    /// The refusal of what is the service desk's to do.
    static func deskOnly(_ method: String) -> ResponseError {
        ResponseError(code: .permissionDenied, kind: "auth.forbidden",
                      message: "\(method) is for the service desk (\(seeEverything)); a requester reports, comments, confirms, reopens and withdraws their own records")
    }
}
