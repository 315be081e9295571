import Foundation
import ITSMProtocol
import Yams

/// Switches a process on or off in `itsm.yaml` by editing only the lines that say so, keeping
/// the operator's comments, order and layout, and checking that the result still loads.
///
/// - A listed built-in written as `- problem` becomes `- {name: problem, enabled: false}` when
///   disabled, and an `enabled:` key of a mapping entry is set or added; a custom entry keeps
///   its command and config while disabled.
/// - Enabling a built-in that is not listed adds `- <name>` to the list.
public enum ConfigurationEditor {
    public struct Edit: Sendable, Equatable {
        public var text: String
        /// `false` when the file already said so.
        public var changed: Bool
    }

    /// The file's text with `plugin` enabled or disabled.
    public static func setEnabled(_ enabled: Bool, plugin name: String, in text: String) throws -> Edit {
        let current = try Configuration.parse(yaml: text)
        if let spec = current.plugins.first(where: { $0.name == name }), spec.enabled == enabled {
            return Edit(text: text, changed: false)
        }
        if !current.plugins.contains(where: { $0.name == name }) {
            guard enabled else { return Edit(text: text, changed: false) } // not listed: already off
            guard PluginSpec.builtInNames.contains(name) else {
                throw CoordinatorError("'\(name)' is not a built-in process (\(PluginSpec.builtInNames.sorted().joined(separator: ", "))); add it under plugins: with its command first (see docs/plugin-authoring.md)")
            }
        }

        var lines = text.components(separatedBy: "\n")
        guard let root = try compose(yaml: text)?.mapping,
              let plugins = root.first(where: { $0.key.string == "plugins" })?.value else {
            // No list yet: the default is the incident process alone.
            let entries = (enabled ? ["incident", name].uniqued() : ["{name: \(name), enabled: false}"]).map { "  - \($0)" }
            if lines.last == "" { lines.removeLast() }
            lines += ["plugins:"] + entries + [""]
            return try checked(lines.joined(separator: "\n"), plugin: name, enabled: enabled)
        }
        guard let sequence = plugins.sequence, sequence.style != .flow, let first = sequence.first?.mark else {
            throw CoordinatorError("plugins: is written in flow style or empty; list the processes one per line (- incident) to let itsm edit it")
        }

        guard let entry = sequence.first(where: { $0.string == name || $0.mapping?["name"]?.string == name }),
              let mark = entry.mark else {
            // Enabling an unlisted built-in: a new first item, in the list's own style.
            let before = lines[first.line - 1].unicodeScalars.prefix(first.column - 1).reversed().first { $0 != " " }
            if before == "[" || before == "," {
                insert("\(name), ", in: &lines, at: first)   // `plugins: [incident]`
                return try checked(lines.joined(separator: "\n"), plugin: name, enabled: enabled)
            }
            let indentation = String(lines[first.line - 1].prefix { $0 == " " })
            lines.insert("\(indentation)- \(name)", at: first.line - 1)
            return try checked(lines.joined(separator: "\n"), plugin: name, enabled: enabled)
        }

        if entry.scalar != nil {
            // `- problem` (enabled by being listed): only disabling changes it.
            try replace(in: &lines, at: mark, tokenOf: entry, with: "{name: \(name), enabled: false}")
        } else if let mapping = entry.mapping {
            if let flag = mapping.first(where: { $0.key.string == "enabled" })?.value, let flagMark = flag.mark {
                try replace(in: &lines, at: flagMark, tokenOf: flag, with: enabled ? "true" : "false")
            } else if let nameKey = mapping.first(where: { $0.key.string == "name" })?.key, let keyMark = nameKey.mark {
                if mapping.style == .flow {
                    insert("enabled: \(enabled), ", in: &lines, at: keyMark)
                } else {
                    let indentation = String(repeating: " ", count: keyMark.column - 1)
                    lines.insert("\(indentation)enabled: \(enabled)", at: keyMark.line)
                }
            }
        }
        return try checked(lines.joined(separator: "\n"), plugin: name, enabled: enabled)
    }

    /// Applies `setEnabled` to a file, creating it when missing, and replaces it atomically.
    @discardableResult
    public static func setEnabled(_ enabled: Bool, plugin name: String, file path: String) throws -> Bool {
        let text = FileManager.default.fileExists(atPath: path)
            ? try String(contentsOfFile: path, encoding: .utf8)
            : "# Written by itsm plugins enable|disable; see deploy/local/itsm.yaml for every setting.\n"
        let edit: Edit
        do {
            edit = try setEnabled(enabled, plugin: name, in: text)
        } catch let error as CoordinatorError {
            throw CoordinatorError("\(path): \(error.description)")
        }
        guard edit.changed else { return false }
        try write(edit, to: path)
        return true
    }

    /// The file's text with `key` of `plugin`'s `config:` set to `value`, written as YAML in flow
    /// style on one line (`[[1, 2, 3], [2, 3, 4], [3, 4, 5]]`). The entry's other settings and
    /// the file's comments and layout stay; a value written over several lines becomes one line.
    public static func setConfig(_ key: String, to value: JSONValue, plugin name: String, in text: String) throws -> Edit {
        let current = try Configuration.parse(yaml: text)
        guard let spec = current.plugins.first(where: { $0.name == name }) else {
            throw CoordinatorError("'\(name)' is not listed under plugins:; enable it first")
        }
        if spec.config?[key] == value { return Edit(text: text, changed: false) }
        let written = flowYAML(value)
        var lines = text.components(separatedBy: "\n")
        guard let sequence = try compose(yaml: text)?.mapping?.first(where: { $0.key.string == "plugins" })?.value.sequence,
              let entry = sequence.first(where: { $0.string == name || $0.mapping?["name"]?.string == name }), let mark = entry.mark else {
            throw CoordinatorError("could not find the entry for '\(name)' under plugins:; change it by hand")
        }
        if entry.scalar != nil {
            // `- incident` becomes a mapping with its config.
            try replace(in: &lines, at: mark, tokenOf: entry, with: "{name: \(name), config: {\(key): \(written)}}")
        } else if let mapping = entry.mapping, let nameKey = mapping.first(where: { $0.key.string == "name" })?.key,
                  let nameMark = nameKey.mark, !inFlow(at: nameMark, lines) {
            let siblingIndentation = String(repeating: " ", count: nameMark.column - 1)
            if let config = mapping.first(where: { $0.key.string == "config" }) {
                guard let settings = config.value.mapping, let first = settings.first?.key.mark else {
                    throw CoordinatorError("config: of '\(name)' is empty or not a mapping; change it by hand")
                }
                let indentation = String(repeating: " ", count: first.column - 1)
                let old = settings.first(where: { $0.key.string == key })
                if inFlow(at: first, lines) {
                    // `config: {approvers: [cab]}`: a new setting goes first; one that is there is left to a person.
                    guard old == nil else { throw CoordinatorError("config: of '\(name)' is written as {…}; change \(key) there by hand") }
                    insert("\(key): \(written), ", in: &lines, at: first)
                } else if let old, let keyMark = old.key.mark {
                    // The key's line holds the new value; the lines its old value spanned go.
                    lines[keyMark.line - 1] = "\(indentation)\(key): \(written)"
                    let following = settings.compactMap(\.key.mark?.line).filter { $0 > keyMark.line }.min() ?? Int.max
                    let end = min(following - 1, lastLine(after: keyMark.line, keyColumn: keyMark.column, in: lines))
                    if end > keyMark.line { lines.removeSubrange(keyMark.line..<end) }
                } else {
                    lines.insert("\(indentation)\(key): \(written)", at: first.line - 1)
                }
            } else {
                lines.insert("\(siblingIndentation)config: {\(key): \(written)}", at: nameMark.line)
            }
        } else {
            throw CoordinatorError("the entry for '\(name)' is written in flow style ({name: …}); write it one setting per line to let itsm edit it")
        }
        let edited = lines.joined(separator: "\n")
        guard try Configuration.parse(yaml: edited).plugins.first(where: { $0.name == name })?.config?[key] == value else {
            throw CoordinatorError("could not set config.\(key) of '\(name)'; change it by hand")
        }
        return Edit(text: edited, changed: true)
    }

    /// The last line of the value of the key at `keyLine`, when no sibling follows it: the lines
    /// after it indented deeper than the key (or `-` items at its indentation), blank ones within.
    private static func lastLine(after keyLine: Int, keyColumn: Int, in lines: [String]) -> Int {
        var last = keyLine
        var number = keyLine + 1
        while number <= lines.count {
            let text = lines[number - 1]
            let indentation = text.prefix { $0 == " " }.count
            let blank = text.allSatisfy { $0 == " " }
            let item = indentation == keyColumn - 1 && text.dropFirst(indentation).hasPrefix("-")
            guard blank || indentation >= keyColumn || item else { break }
            if !blank { last = number }
            number += 1
        }
        return last
    }

    /// Whether the node written at `mark` is inside `{…}` or `[…]`: what comes before it on its
    /// line is an opening bracket or a comma.
    private static func inFlow(at mark: Mark, _ lines: [String]) -> Bool {
        let before = lines[mark.line - 1].unicodeScalars.prefix(mark.column - 1).reversed().first { $0 != " " }
        return before == "{" || before == "[" || before == ","
    }

    /// A JSON value as YAML flow text on one line, spaced as people write it (JSON is YAML).
    private static func flowYAML(_ value: JSONValue) -> String {
        switch value {
        case .array(let items):
            "[" + items.map(flowYAML).joined(separator: ", ") + "]"
        case .object(let members):
            "{" + members.sorted { $0.key < $1.key }.map { flowYAML(.string($0.key)) + ": " + flowYAML($0.value) }.joined(separator: ", ") + "}"
        default:
            String(decoding: value.serialized(), as: UTF8.self)
        }
    }

    /// Applies an edit to a file and replaces it atomically, keeping its permissions.
    public static func write(_ edit: Edit, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        do {
            try edit.text.write(toFile: temporary, atomically: false, encoding: .utf8)
            if let mode = try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] {
                try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: temporary)
            }
            guard rename(temporary, path) == 0 else { throw CoordinatorError("cannot replace \(path): \(String(cString: strerror(errno)))") }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }

    /// The edited text, if it loads and says what was asked.
    private static func checked(_ text: String, plugin name: String, enabled: Bool) throws -> Edit {
        let edited = try Configuration.parse(yaml: text)
        guard edited.enabledPlugins.contains(where: { $0.name == name }) == enabled else {
            throw CoordinatorError("could not edit the entry for '\(name)'; change it by hand")
        }
        return Edit(text: text, changed: true)
    }

    /// Replaces the scalar written at `mark` (plain or quoted) with `replacement`.
    private static func replace(in lines: inout [String], at mark: Mark, tokenOf node: Node, with replacement: String) throws {
        var scalars = Array(lines[mark.line - 1].unicodeScalars)
        let start = mark.column - 1
        guard start < scalars.count, let value = node.string else { throw CoordinatorError("unexpected layout at line \(mark.line)") }
        var end = start + value.unicodeScalars.count
        if scalars[start] == "\"" || scalars[start] == "'" {
            let quote = scalars[start]
            end = (scalars[(start + 1)...].firstIndex(of: quote) ?? scalars.count - 1) + 1
        }
        scalars.replaceSubrange(start..<min(end, scalars.count), with: replacement.unicodeScalars)
        lines[mark.line - 1] = String(String.UnicodeScalarView(scalars))
    }

    private static func insert(_ text: String, in lines: inout [String], at mark: Mark) {
        var scalars = Array(lines[mark.line - 1].unicodeScalars)
        scalars.insert(contentsOf: text.unicodeScalars, at: min(mark.column - 1, scalars.count))
        lines[mark.line - 1] = String(String.UnicodeScalarView(scalars))
    }
}

extension Array where Element: Hashable {
    fileprivate func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
