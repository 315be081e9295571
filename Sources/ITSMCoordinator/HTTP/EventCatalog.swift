import ITSMProtocol

/// The event catalog as Markdown, from what the running plugins declare: docs/events.md is
/// this, for every built-in process (`itsm events --markdown`).
enum EventCatalog {
    static func markdown(_ events: [MethodRouter.EventDescription]) -> String {
        // A member holding a whole record that is some event's payload points there instead of
        // listing the record's members again.
        var payloads: [JSONSchema: String] = [:]
        for event in events {
            if let schema = event.schema.map(undescribed), payloads[schema] == nil { payloads[schema] = event.type }
        }
        var lines = [
            "# Events",
            "",
            "Generated from the running processes' manifests by `itsm events --markdown`, with every built-in",
            "process enabled; do not edit by hand. An event reaches each subscriber as `$/event` (docs/protocol.md",
            "§5) with the payload below as `data`. A member not marked required may be left out.",
            "",
            "| event | published by | subscribed by |",
            "|---|---|---|",
        ]
        for event in events {
            lines.append("| [`\(event.type)`](#\(anchor(event.type))) | \(list(event.publishers)) | \(list(event.subscribers)) |")
        }
        for event in events {
            lines += ["", "## \(event.type)", ""]
            if let description = event.schema?.description { lines += [description, ""] }
            guard let schema = event.schema else {
                lines.append(event.publishers.isEmpty ? "No running process publishes it." : "Its publisher does not describe its payload.")
                continue
            }
            lines += ["| member | type | required |", "|---|---|---|"]
            lines += rows(schema, prefix: "", payloads: payloads, own: event.type)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func rows(_ schema: JSONSchema, prefix: String, payloads: [JSONSchema: String], own: String) -> [String] {
        let required = Set(schema.required ?? [])
        var lines: [String] = []
        for (name, member) in (schema.properties ?? [:]).sorted(by: { $0.key < $1.key }) {
            let path = prefix + name
            let mark = required.contains(name) ? "yes" : ""
            if member.type == .object, member.properties != nil {
                if let other = payloads[undescribed(member)], other != own {
                    lines.append("| `\(path)` | object: the payload of [`\(other)`](#\(anchor(other))) | \(mark) |")
                } else {
                    lines.append("| `\(path)` | object | \(mark) |")
                    lines += rows(member, prefix: path + ".", payloads: payloads, own: own)
                }
            } else if member.type == .array, let items = member.items?.schema, items.type == .object, items.properties != nil {
                lines.append("| `\(path)` | array of objects | \(mark) |")
                lines += rows(items, prefix: path + "[].", payloads: payloads, own: own)
            } else {
                lines.append("| `\(path)` | \(describe(member)) | \(mark) |")
            }
        }
        return lines
    }

    /// The schema without its own description, to compare shapes.
    private static func undescribed(_ schema: JSONSchema) -> JSONSchema {
        var plain = schema
        plain.description = nil
        return plain
    }

    private static func describe(_ schema: JSONSchema) -> String {
        switch schema.type {
        case .string?:
            if let values = schema.enum { return "one of " + values.map { "`\($0)`" }.joined(separator: ", ") }
            return schema.format.map { "string (\($0))" } ?? "string"
        case .array?: return "array of " + (schema.items.map { describe($0.schema) } ?? "any")
        case .object?:
            if case .schema(let values)? = schema.additionalProperties { return "object of " + describe(values) }
            return "object"
        case let type?: return type.rawValue
        case nil: return "any"
        }
    }

    private static func list(_ names: [String]) -> String {
        names.isEmpty ? "—" : names.joined(separator: ", ")
    }

    /// GitHub's heading anchor: lowercase, dots and other punctuation dropped.
    private static func anchor(_ type: String) -> String {
        String(type.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
    }
}
