import ArgumentParser
import Foundation
import ITSMProtocol

/// `itsm user ...`: people's accounts and their roles.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Create, change, disable and list people's accounts.",
        discussion: """
            A person signs in with POST /api/v1/session and gets what their roles give; \
            'itsm role list' shows the roles. A password is read from standard input, never \
            from the command line (where other users of the machine could see it).
            """,
        subcommands: [List.self, Show.self, Create.self, Update.self, ResetPassword.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts with their roles.")
        @OptionGroup var connection: APIConnection

        func run() async throws {
            let accounts = try await connection.send("GET", "api/v1/users", nil)
            guard !connection.client.json else { return print(compact(accounts)) }
            var rows = [["NAME", "DISPLAY NAME", "EMAIL", "ROLES", "SOURCE", "STATE", "LAST LOGIN"]]
            for account in accounts.arrayValue ?? [] {
                let state = account["disabled"] == .bool(true) ? "disabled" : account["lockedUntil"]?.stringValue.map { "locked until \($0)" } ?? "active"
                rows.append([account["name"]?.stringValue ?? "", account["displayName"]?.stringValue ?? "",
                             account["email"]?.stringValue ?? "-",
                             commaList(account["roles"]),
                             account["source"]?.stringValue ?? "", state, account["lastLoginAt"]?.stringValue ?? "-"])
            }
            print(table(rows))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an account and the permissions its roles give.")
        @OptionGroup var connection: APIConnection
        @Argument var name: String

        func run() async throws {
            print(compact(try await connection.send("GET", "api/v1/users/\(name)", nil)))
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account.")
        @OptionGroup var connection: APIConnection
        @Argument(help: "The sign-in name: a-z, 0-9, '-', '_', '.', '@'.") var name: String
        @Option(name: .customLong("display-name")) var displayName: String?
        @Option var email: String?
        @Option(help: "The account they report to.") var manager: String?
        @Option(name: .customLong("role"), help: "A role to give; repeat for more.") var roles: [String] = []
        @Flag(name: .customLong("password-stdin"), help: "Read a password (one line) from standard input.") var passwordFromInput = false
        @Flag(help: "An account whose password the directory (LDAP) checks.") var directory = false

        func run() async throws {
            let password = passwordFromInput ? try readPassword() : nil
            let account = try await connection.send("POST", "api/v1/users", [
                "name": .string(name), "displayName": displayName.map(JSONValue.string), "email": email.map(JSONValue.string),
                "manager": manager.map(JSONValue.string),
                "roles": .array(roles.map(JSONValue.string)), "password": password.map(JSONValue.string),
                "source": directory ? "directory" : nil,
            ])
            guard !connection.client.json else { return print(compact(account)) }
            print("created \(name) with \(roles.isEmpty ? "no roles" : roles.joined(separator: ", "))")
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change an account; what is not given stays as it is.")
        @OptionGroup var connection: APIConnection
        @Argument var name: String
        @Option(name: .customLong("display-name")) var displayName: String?
        @Option var email: String?
        @Option(help: "The account they report to; an empty value removes it.") var manager: String?
        @Option(name: .customLong("role"), help: "The account's roles from now on; repeat for more.") var roles: [String] = []
        @Flag(name: .customLong("no-roles"), help: "Take every role away.") var noRoles = false
        @Flag(help: "Disable the account: its sessions end and its tokens stop working.") var disable = false
        @Flag(help: "Enable a disabled account.") var enable = false

        func validate() throws {
            if disable && enable { throw ValidationError("--disable and --enable: give one") }
            if noRoles && !roles.isEmpty { throw ValidationError("--role and --no-roles: give one") }
        }

        func run() async throws {
            let account = try await connection.send("PATCH", "api/v1/users/\(name)", [
                "displayName": displayName.map(JSONValue.string), "email": email.map(JSONValue.string),
                "manager": manager.map { $0.isEmpty ? JSONValue.null : .string($0) },
                "roles": roles.isEmpty && !noRoles ? nil : .array(roles.map(JSONValue.string)),
                "disabled": disable ? true : enable ? false : nil,
            ])
            guard !connection.client.json else { return print(compact(account)) }
            print("updated \(name)")
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-password",
            abstract: "Set a new password (read from standard input), unlock the account and end its sessions.")
        @OptionGroup var connection: APIConnection
        @Argument var name: String

        func run() async throws {
            _ = try await connection.send("PATCH", "api/v1/users/\(name)", ["password": .string(try readPassword())])
            print("password of \(name) reset")
        }
    }
}

/// One line from standard input: asked for without echo on a terminal, read plainly from a pipe.
private func readPassword() throws -> String {
    let line: String?
    if isatty(STDIN_FILENO) == 1 {
        line = getpass("Password: ").map { String(cString: $0) }
    } else {
        line = Swift.readLine(strippingNewline: true)
    }
    guard let line, !line.isEmpty else { throw ValidationError("no password on standard input") }
    return line
}

/// `itsm role ...`: named sets of permissions given to people.
struct RoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "role",
        abstract: "List, define and remove roles.",
        subcommands: [List.self, Set.self, Delete.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List roles and their permissions.")
        @OptionGroup var connection: APIConnection

        func run() async throws {
            let roles = try await connection.send("GET", "api/v1/roles", nil)
            guard !connection.client.json else { return print(compact(roles)) }
            var rows = [["NAME", "PERMISSIONS", "BUILT IN", "DESCRIPTION"]]
            for role in roles.arrayValue ?? [] {
                rows.append([role["name"]?.stringValue ?? "", commaList(role["permissions"]),
                             role["builtin"] == .bool(true) ? "yes" : "no", role["description"]?.stringValue ?? ""])
            }
            print(table(rows))
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Define a role, or change one's permissions.")
        @OptionGroup var connection: APIConnection
        @Argument var name: String
        @Option(name: .customLong("permission"), help: "A permission pattern; repeat for more.") var permissions: [String] = []
        @Option var description: String = ""

        func run() async throws {
            let role = try await connection.send("PUT", "api/v1/roles/\(name)", [
                "permissions": .array(permissions.map(JSONValue.string)), "description": .string(description),
            ])
            guard !connection.client.json else { return print(compact(role)) }
            print("role \(name): \(permissions.joined(separator: ", "))")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a role that is not built in; its holders lose it.")
        @OptionGroup var connection: APIConnection
        @Argument var name: String

        func run() async throws {
            _ = try await connection.send("DELETE", "api/v1/roles/\(name)", nil)
            print("deleted role \(name)")
        }
    }
}

/// `itsm group ...`: assignment groups, their members and leads.
struct GroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group",
        abstract: "List, define and remove assignment groups.",
        discussion: "Once a group is defined, a record assigned to it can only have one of its members as assignee.",
        subcommands: [List.self, Set.self, Delete.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List groups with their members and leads.")
        @OptionGroup var connection: APIConnection

        func run() async throws {
            let groups = try await connection.send("GET", "api/v1/groups", nil)
            guard !connection.client.json else { return print(compact(groups)) }
            var rows = [["NAME", "MEMBERS", "LEADS", "DESCRIPTION"]]
            for group in groups.arrayValue ?? [] {
                rows.append([group["name"]?.stringValue ?? "", commaList(group["members"]),
                             commaList(group["leads"]),
                             group["description"]?.stringValue ?? ""])
            }
            print(table(rows))
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Define a group, or replace its members.")
        @OptionGroup var connection: APIConnection
        @Argument var name: String
        @Option(name: .customLong("member"), help: "An account in the group; repeat for more.") var members: [String] = []
        @Option(name: .customLong("lead"), help: "A member who leads the group; repeat for more.") var leads: [String] = []
        @Option var description: String = ""

        func run() async throws {
            let group = try await connection.send("PUT", "api/v1/groups/\(name)", [
                "members": .array(Array(Swift.Set(members + leads)).sorted().map(JSONValue.string)),
                "leads": .array(leads.map(JSONValue.string)), "description": .string(description),
            ])
            guard !connection.client.json else { return print(compact(group)) }
            print("group \(name): \((group["members"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", "))")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a group; records keep its name as text.")
        @OptionGroup var connection: APIConnection
        @Argument var name: String

        func run() async throws {
            _ = try await connection.send("DELETE", "api/v1/groups/\(name)", nil)
            print("deleted group \(name)")
        }
    }
}

/// `itsm audit ...`: who did what, and whether the record of it is intact.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Read the audit log and verify its hash chain.",
        subcommands: [List.self, Verify.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Entries in order, filtered by period, actor or action.")
        @OptionGroup var connection: APIConnection
        @Option(help: "From this time (ISO 8601), inclusive.") var from: String?
        @Option(help: "Until this time (ISO 8601), exclusive.") var to: String?
        @Option(help: "Only this actor, e.g. user:alice or token:monitoring.") var actor: String?
        @Option(help: "Only this action, e.g. incident.create or session.login.") var action: String?
        @Option(help: "At most this many entries (1 to 1000).") var limit: Int = 100
        @Option(help: "After this sequence number, to page on.") var after: Int64 = 0

        func run() async throws {
            var query = [URLQueryItem(name: "limit", value: String(limit)), URLQueryItem(name: "after", value: String(after))]
            for (name, value) in [("from", from), ("to", to), ("actor", actor), ("action", action)] {
                if let value { query.append(URLQueryItem(name: name, value: value)) }
            }
            let entries = try await connection.send("GET", "api/v1/audit", nil, query: query)
            guard !connection.client.json else { return print(compact(entries)) }
            var rows = [["SEQ", "AT", "ACTOR", "ACTION", "TARGET", "OUTCOME", "CLIENT"]]
            for entry in entries.arrayValue ?? [] {
                rows.append([entry["seq"].map(compact) ?? "", entry["at"]?.stringValue ?? "", entry["actor"]?.stringValue ?? "",
                             entry["action"]?.stringValue ?? "", entry["target"]?.stringValue ?? "-",
                             entry["outcome"]?.stringValue ?? "", entry["clientAddress"]?.stringValue ?? "-"])
            }
            print(table(rows))
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute every entry's hash; exits 1 and names the first entry that does not fit.",
            discussion: """
                Keep the head hash it prints somewhere else (a ticket, the management review's \
                minutes): a later verification that still passes through it shows the log up to \
                then was neither rewritten nor cut.
                """)
        @OptionGroup var connection: APIConnection

        func run() async throws {
            let result = try await connection.send("GET", "api/v1/audit/verify", nil)
            if connection.client.json { print(compact(result)) }
            let count = result["entries"].map(compact) ?? "0"
            if let broken = result["broken"], broken != .null {
                let seq = broken["seq"].map(compact) ?? "?"
                FileHandle.standardError.write(Data("audit log BROKEN at entry \(seq): \(broken["reason"]?.stringValue ?? "")\n".utf8))
                throw ExitCode(1)
            }
            if !connection.client.json {
                print("audit log intact: \(count) entries, head \(result["head"]?.stringValue ?? "(empty)")")
            }
        }
    }
}
