import ArgumentParser
import Foundation
import ITSMCoordinator
import ITSMProtocol

/// `itsm plugins ...`: which processes run, and switching them on and off.
struct Plugins: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, enable and disable processes, and apply itsm.yaml to a running coordinator.",
        subcommands: [List.self, Enable.self, Disable.self, Reload.self, Restart.self, Upgrade.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each process: state, pid, restarts, methods (disabled ones too).")

        @OptionGroup var api: APIConnection

        func run() async throws {
            let result = try await api.send("GET", "api/v1/plugins", nil)
            if api.client.json {
                print(compact(result))
                return
            }
            let statuses = try result.decode([PluginStatus].self)
            var rows = [["NAME", "INSTANCE", "STATE", "PID", "RESTARTS", "VERSION", "METHODS", "LAST ERROR"]]
            for status in statuses {
                let instance = status.remoteAddress.map { "\(status.instance ?? "") from \($0)" } ?? status.instance ?? "-"
                rows.append([status.name, instance, status.state.rawValue, status.pid.map(String.init) ?? "-", String(status.restarts),
                             status.version ?? "-", String(status.methods.count), status.lastError ?? ""])
            }
            print(table(rows))
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enable a process in itsm.yaml (a built-in is added to the list if missing).",
            discussion: "Only the plugins: list is edited; comments and the rest stay as they are. Apply with --reload or 'itsm plugins reload'.")

        @Argument(help: "The process: incident, problem, capacity, supplier, improvement, or a listed custom plugin.") var name: String
        @Flag(help: "Apply the change to the running coordinator right away.") var reload = false
        @OptionGroup var api: APIConnection

        func run() async throws {
            try await switchProcess(name, enabled: true, reload: reload, api: api)
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a process in itsm.yaml; its data stays in its schema untouched.",
            discussion: "A custom plugin's entry keeps its command and config (enabled: false). Apply with --reload or 'itsm plugins reload'.")

        @Argument(help: "The process to disable.") var name: String
        @Flag(help: "Apply the change to the running coordinator right away.") var reload = false
        @OptionGroup var api: APIConnection

        func run() async throws {
            try await switchProcess(name, enabled: false, reload: reload, api: api)
        }
    }

    struct Restart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a plugin's local instances and start fresh ones, e.g. one that failed after crashing too often.")

        @Argument(help: "The plugin's name.") var name: String
        @OptionGroup var api: APIConnection

        func run() async throws {
            let result = try await api.send("POST", "api/v1/plugins/\(name)/restart", nil)
            api.client.json ? print(compact(result)) : print("\(name): \(result["instances"].map(compact) ?? "0") instances restarted")
        }
    }

    struct Upgrade: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Switch a process to another version: its instances of that version get requests and events from now on.",
            discussion: """
                During a rolling upgrade the new version's instances stand by next to the old ones. Once \
                they run (itsm plugins shows them standby), switch; the old version's instances then \
                get no new work and can be stopped. The new version's subscriptions are recorded. \
                Every coordinator follows within seconds.
                """)

        @Argument(help: "The plugin's name.") var name: String
        @Argument(help: "The version to switch to; default: the one other version connected.") var version: String?
        @OptionGroup var api: APIConnection

        func run() async throws {
            let result = try await api.send("POST", "api/v1/plugins/\(name)/upgrade", ["version": version.map(JSONValue.string)])
            if api.client.json { return print(compact(result)) }
            let previous = result["previous"]?.stringValue.map { " (was \($0))" } ?? ""
            print("\(name): version \(result["version"]?.stringValue ?? "?") is active\(previous)")
        }
    }

    struct Reload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the running coordinator start, stop and restart plugins to match itsm.yaml.",
            discussion: "The same as sending the coordinator SIGHUP. Plugins whose entry did not change keep serving.")

        @OptionGroup var api: APIConnection

        func run() async throws {
            try await reloadCoordinator(api: api)
        }
    }
}

private func switchProcess(_ name: String, enabled: Bool, reload: Bool, api: APIConnection) async throws {
    let file = api.global.configurationFile
    let changed: Bool
    do {
        changed = try ConfigurationEditor.setEnabled(enabled, plugin: name, file: file)
    } catch let error as CoordinatorError {
        throw ValidationError(error.description)
    }
    let verb = enabled ? "enabled" : "disabled"
    print(changed ? "\(name): \(verb) in \(file)" : "\(name): already \(verb) in \(file)")
    if reload {
        try await reloadCoordinator(api: api)
    } else if changed {
        print("apply it with: itsm plugins reload")
    }
}

private func reloadCoordinator(api: APIConnection) async throws {
    let result = try await api.send("POST", "api/v1/plugins/reload", nil)
    if api.client.json {
        print(compact(result))
        return
    }
    let changes = try result.decode(PluginFleet.Changes.self)
    for (label, names) in [("started", changes.started), ("stopped", changes.stopped), ("restarted", changes.restarted),
                           ("unchanged", changes.unchanged)] where !names.isEmpty {
        print("\(label): \(names.joined(separator: ", "))")
    }
    if !changes.restartRequired.isEmpty {
        print("note: \(changes.restartRequired.joined(separator: ", ")) changed too; those apply when the coordinator restarts")
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

/// A page of a list that pages by cursor: the table, then how many of how many (`about` when the
/// total is an estimate) and the option that gives the next page.
func pageTable(_ header: [String], _ rows: [[String]], total: Int, estimated: Bool?, nextCursor: String?) -> String {
    table([header] + rows) + "\n\(rows.count) of \(estimated == true ? "about " : "")\(total)"
        + (nextCursor.map { "; next page: --after \($0)" } ?? "")
}
