import Foundation
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
        return true
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
