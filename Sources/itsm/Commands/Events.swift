import ArgumentParser
import Foundation
import ITSMCoordinator
import ITSMProtocol

/// `itsm events`: the event types the running processes publish and subscribe to.
struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The event types the running processes publish and subscribe to, with their payloads.",
        discussion: "--markdown prints the catalog with each payload's members; docs/events.md is that, with every built-in process enabled.")

    @OptionGroup var api: APIConnection

    @Flag(help: "Print the catalog as Markdown, each payload's members included.")
    var markdown = false

    func run() async throws {
        if markdown {
            let result = try await api.send("GET", "api/v1/events", nil, query: [URLQueryItem(name: "format", value: "markdown")])
            print(result["document"]?.stringValue ?? "", terminator: "")
            return
        }
        let result = try await api.send("GET", "api/v1/events", nil)
        if api.client.json {
            print(compact(result))
            return
        }
        let events = try result.decode([MethodRouter.EventDescription].self)
        var rows = [["EVENT", "PUBLISHED BY", "SUBSCRIBED BY", "PAYLOAD"]]
        for event in events {
            rows.append([event.type, event.publishers.joined(separator: ", "), event.subscribers.joined(separator: ", "),
                         event.schema.map { "\($0.properties?.count ?? 0) members" } ?? "not described"])
        }
        print(table(rows))
    }
}
