import ArgumentParser
import Foundation
import ITSMProtocol

/// `itsm token ...`: API tokens for people and integrations, each with only the permissions it needs.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Issue, list and revoke API tokens.",
        discussion: """
            Permissions are * (everything), <process>.* or exact names such as incident.read; \
            'itsm call' on GET /api/v1/methods lists what each method needs. A token can only \
            grant permissions it holds itself.
            """,
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a token; it is shown once and stored only as a hash.")
        @OptionGroup var connection: APIConnection
        @Argument(help: "A name for whom or what uses it, e.g. alice or monitoring.") var name: String
        @Option(name: .customLong("permission"), help: "A permission to grant; repeat for more.") var permissions: [String] = []

        func run() async throws {
            let result = try await connection.send("POST", "api/v1/tokens", [
                "name": .string(name), "permissions": .array(permissions.map(JSONValue.string)),
            ])
            guard !connection.client.json else { return print(compact(result)) }
            print(result["token"]?.stringValue ?? "")
            FileHandle.standardError.write(Data("token '\(name)' issued with \(permissions.joined(separator: ", ")); it is not shown again\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens: names, permissions, last use; never the tokens.")
        @OptionGroup var connection: APIConnection

        func run() async throws {
            let tokens = try await connection.send("GET", "api/v1/tokens", nil)
            guard !connection.client.json else { return print(compact(tokens)) }
            var rows = [["NAME", "PERMISSIONS", "CREATED", "LAST USED", "REVOKED"]]
            for token in tokens.arrayValue ?? [] {
                rows.append([token["name"]?.stringValue ?? "",
                             commaList(token["permissions"]),
                             token["createdAt"]?.stringValue ?? "", token["lastUsedAt"]?.stringValue ?? "-",
                             token["revokedAt"]?.stringValue ?? "-"])
            }
            print(table(rows))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token at once.")
        @OptionGroup var connection: APIConnection
        @Argument var name: String

        func run() async throws {
            _ = try await connection.send("DELETE", "api/v1/tokens/\(name)", nil)
            print("revoked \(name)")
        }
    }
}
