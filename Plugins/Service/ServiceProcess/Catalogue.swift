import Foundation
import ITSMCalendar
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// An item's form: checked when the item is set, and used to check and complete the answers of
/// each request raised from it.
public struct RequestForm: Sendable {
    public let schema: JSONSchema
    /// Defaults of the fields that have one.
    public let defaults: [String: JSONValue]

    static let fieldTypes: Set<JSONSchema.Kind> = [.string, .integer, .number, .boolean]

    /// Reads `form` (the item's `form` param), naming the first member that is not a field
    /// definition this toolkit can show and check.
    public init(_ form: JSONValue) throws(ResponseError) {
        guard case .object(let members) = form else { throw .invalidParams("form: expected a JSON Schema object") }
        let allowed: Set = ["type", "properties", "required", "additionalProperties", "title", "description"]
        if let unknown = members.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw .invalidParams("form.\(unknown): not supported; a form has type, properties, required, title, description")
        }
        guard members["type"] == nil || members["type"]?.stringValue == "object" else { throw .invalidParams("form.type: must be object") }
        guard case .object(let properties)? = members["properties"] ?? .object([:]) else {
            throw .invalidParams("form.properties: expected an object of fields")
        }
        var defaults: [String: JSONValue] = [:]
        var fields: [String: JSONSchema] = [:]
        for (name, field) in properties.sorted(by: { $0.key < $1.key }) {
            let path = "form.properties.\(name)"
            guard name.range(of: "^[A-Za-z][A-Za-z0-9_]{0,62}$", options: .regularExpression) != nil else {
                throw .invalidParams("\(path): a field name is a letter, then letters, digits or _ (up to 63)")
            }
            guard case .object(let definition) = field else { throw .invalidParams("\(path): expected a field definition") }
            let fieldKeys: Set = ["type", "title", "description", "enum", "default", "format"]
            if let unknown = definition.keys.sorted().first(where: { !fieldKeys.contains($0) }) {
                throw .invalidParams("\(path).\(unknown): not supported; a field has type, title, description, enum, default, format")
            }
            guard let typeName = definition["type"]?.stringValue, let type = JSONSchema.Kind(rawValue: typeName), Self.fieldTypes.contains(type) else {
                throw .invalidParams("\(path).type: one of string, integer, number, boolean")
            }
            var values: [String]?
            if let options = definition["enum"] {
                guard type == .string, case .array(let list) = options, !list.isEmpty, list.allSatisfy({ $0.stringValue != nil }) else {
                    throw .invalidParams("\(path).enum: a non-empty list of strings, for a string field")
                }
                values = list.compactMap(\.stringValue)
            }
            let format = definition["format"]?.stringValue
            if definition["format"] != nil && !(type == .string && format == "date-time") {
                throw .invalidParams("\(path).format: only date-time, for a string field")
            }
            let schema = JSONSchema(type: type, format: format, enum: values, description: definition["description"]?.stringValue)
            if let value = definition["default"] {
                if let problem = schema.problem(with: value, at: "\(path).default") { throw .invalidParams(problem) }
                defaults[name] = value
            }
            fields[name] = schema
        }
        var required: [String] = []
        if let list = members["required"] {
            guard case .array(let names) = list, names.allSatisfy({ $0.stringValue.map { fields[$0] != nil } ?? false }) else {
                throw .invalidParams("form.required: a list of the form's field names")
            }
            required = names.compactMap(\.stringValue)
        }
        schema = JSONSchema(type: .object, properties: fields, required: required, additionalProperties: .allowed(false))
        self.defaults = defaults
    }

    /// The answers with defaults filled in, or the first problem, named by its path
    /// (`answers.model: 'Mac' is not one of …`).
    public func check(_ answers: JSONValue?) throws(ResponseError) -> JSONValue {
        guard case .object(var members) = answers ?? .object([:]) else { throw .invalidParams("answers: expected an object of the form's fields") }
        for (name, value) in defaults where members[name] == nil { members[name] = value }
        let completed = JSONValue.object(members)
        if let problem = schema.problem(with: completed, at: "answers") { throw .invalidParams(problem) }
        for name in schema.required ?? [] where members[name]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty == true {
            throw .invalidParams("answers.\(name): required but empty")
        }
        return completed
    }
}

extension TaskTemplate {
    /// The tasks with what each waits for made explicit: the one before it unless it says,
    /// and only names of tasks listed before it, so they always finish.
    static func resolved(_ tasks: [TaskTemplate]) throws(ResponseError) -> [TaskTemplate] {
        guard !tasks.isEmpty else { throw .invalidParams("tasks: at least one fulfilment task") }
        guard tasks.count <= 50 else { throw .invalidParams("tasks: at most 50") }
        var seen: [String] = []
        var resolved: [TaskTemplate] = []
        for (index, task) in tasks.enumerated() {
            let name = try Validation.text(task.name, "tasks[\(index)].name", max: 100)
            guard !seen.contains(name) else { throw .invalidParams("tasks[\(index)].name: '\(name)' is listed twice") }
            let after = task.after ?? seen.last.map { [$0] } ?? []
            for (position, earlier) in after.enumerated() where !seen.contains(earlier) {
                throw .invalidParams("tasks[\(index)].after[\(position)]: '\(earlier)' is not a task listed before it")
            }
            seen.append(name)
            resolved.append(TaskTemplate(name: name, group: task.group.map { $0.isEmpty ? nil : $0 } ?? nil, after: after))
        }
        return resolved
    }
}
