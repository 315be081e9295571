import ITSMProtocol
import Logging

/// `people.contacts`, the one method the coordinator answers for plugins itself: how to reach
/// people by name, group, role or address, so a process that tells people things needs neither
/// the identity tables nor its own copy of them. Like any call, it must be declared in the
/// plugin's `calls`, and it needs `people.read` (a built-in grant of the notification process).
enum PeopleContacts {
    static let method = "people.contacts"
    static let permission = "people.read"

    static func answer(_ params: JSONValue?, principal: Principal, accounts: AccountStore, logger: Logger) async throws(ResponseError) -> JSONValue {
        guard principal.allows(permission) else {
            throw ResponseError(code: .permissionDenied, kind: "auth.forbidden", message: "\(principal.actor) lacks \(permission), which \(method) needs")
        }
        let known: Set = ["names", "groups", "leadsOnly", "roles", "emails"]
        if let unknown = params?.objectValue?.keys.first(where: { !known.contains($0) }) {
            throw .invalidParams("\(unknown): unknown; \(method) takes names, groups, leadsOnly, roles and emails")
        }
        func list(_ member: String) throws(ResponseError) -> [String] {
            guard let value = params?[member] else { return [] }
            guard let items = value.arrayValue, items.count <= 500, items.allSatisfy({ $0.stringValue != nil }) else {
                throw .invalidParams("\(member): a list of at most 500 strings")
            }
            return items.compactMap(\.stringValue)
        }
        let (names, groups, roles, emails) = (try list("names"), try list("groups"), try list("roles"), try list("emails"))
        do {
            let found = try await accounts.contacts(names: names, groups: groups, leads: params?["leadsOnly"]?.boolValue ?? false,
                                                    roles: roles, emails: emails)
            return ["people": try JSONValue(encoding: found)]
        } catch {
            logger.error("people.contacts failed", metadata: ["itsm.error": "\(String(reflecting: error))"])
            throw ResponseError(code: .unavailable, kind: "database.unavailable", message: "cannot read the accounts: the database is unavailable",
                                retryable: true)
        }
    }
}
