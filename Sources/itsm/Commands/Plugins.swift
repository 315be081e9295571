import ArgumentParser
import Foundation
import ITSMCoordinator
import ITSMProtocol

struct Plugins: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the enabled plugins: state, pid, restarts, methods.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let configuration = try global.loadConfiguration()
        let api = try APIClient(options: client, configuration: configuration)
        let result: JSONValue
        do {
            result = try await api.send("GET", path: "api/v1/plugins")
        } catch let error as ResponseError {
            throw report(error)
        }
        if client.json {
            print(compact(result))
            return
        }
        let statuses = try result.decode([PluginStatus].self)
        var rows = [["NAME", "STATE", "PID", "RESTARTS", "VERSION", "METHODS", "LAST ERROR"]]
        for status in statuses {
            rows.append([status.name, status.state.rawValue, status.pid.map(String.init) ?? "-", String(status.restarts),
                         status.version ?? "-", String(status.methods.count), status.lastError ?? ""])
        }
        print(table(rows))
    }
}

/// Left-aligned columns separated by two spaces.
func table(_ rows: [[String]]) -> String {
    let widths = rows.reduce(into: [Int]()) { widths, row in
        for (index, cell) in row.enumerated() {
            if index >= widths.count { widths.append(cell.count) } else { widths[index] = max(widths[index], cell.count) }
        }
    }
    return rows.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}
