import Foundation

/// The part of JSON Schema (2020-12) that method params need: types, members (`properties`,
/// `required`, `additionalProperties`), `items`, `enum` and the `date-time` and `uuid` formats.
/// A plugin declares one per method (`MethodDescriptor.params`); the coordinator checks params
/// against it before routing, so a member the method does not know, a wrong type or a missing
/// member is refused at once with its path, for plugins in every language.
public struct JSONSchema: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case object, array, string, integer, number, boolean

        /// A value of this kind given as text (a query parameter, a command-line value): nil
        /// when the text is not one (`ten` as an integer), and for arrays and objects, which
        /// have no plain text form.
        public func value(fromText text: String) -> JSONValue? {
            switch self {
            case .string: .string(text)
            case .integer: Int64(text).map(JSONValue.int)
            case .number: Int64(text).map(JSONValue.int) ?? Double(text).map(JSONValue.double)
            case .boolean: text == "true" ? .bool(true) : text == "false" ? .bool(false) : nil
            case .array, .object: nil
            }
        }
    }

    /// `nil`: any JSON value.
    public var type: Kind?
    public var format: String?
    public var `enum`: [String]?
    public var properties: [String: JSONSchema]?
    public var required: [String]?
    public var additionalProperties: Additional?
    public var items: Items?
    public var description: String?

    public init(type: Kind? = nil, format: String? = nil, enum values: [String]? = nil, properties: [String: JSONSchema]? = nil,
                required: [String]? = nil, additionalProperties: Additional? = nil, items: JSONSchema? = nil, description: String? = nil) {
        self.type = type
        self.format = format
        self.enum = values
        self.properties = properties
        self.required = required
        self.additionalProperties = additionalProperties
        self.items = items.map(Items.schema)
        self.description = description
    }

    /// Any value.
    public static let any = JSONSchema()
    public static func string(format: String? = nil, oneOf values: [String]? = nil) -> JSONSchema {
        JSONSchema(type: .string, format: format, enum: values)
    }

    /// `additionalProperties`: `false` (only the listed members) or a schema every other member matches.
    public indirect enum Additional: Sendable, Hashable, Codable {
        case allowed(Bool)
        case schema(JSONSchema)

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let allowed = try? container.decode(Bool.self) { self = .allowed(allowed) } else { self = .schema(try container.decode(JSONSchema.self)) }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .allowed(let allowed): try container.encode(allowed)
            case .schema(let schema): try container.encode(schema)
            }
        }
    }

    /// `items`: the schema of every element.
    public indirect enum Items: Sendable, Hashable, Codable {
        case schema(JSONSchema)

        public var schema: JSONSchema { switch self { case .schema(let schema): schema } }
        public init(from decoder: any Decoder) throws { self = .schema(try decoder.singleValueContainer().decode(JSONSchema.self)) }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(schema)
        }
    }

    /// What is wrong with `value` (nil: an absent member), with its path: the first problem
    /// found, members in name order; nil when it matches.
    public func problem(with value: JSONValue, at path: String = "params") -> String? {
        if case .null = value { return type == nil ? nil : "\(path): must not be null; leave an optional member out instead" }
        switch (type, value) {
        case (nil, _), (.boolean, .bool), (.number, .int), (.number, .double):
            return nil
        case (.integer, .int):
            return nil
        case (.integer, .double(let number)) where number.rounded() == number:
            return nil
        case (.string, .string(let text)):
            if let values = self.enum, !values.contains(text) {
                return "\(path): '\(text.prefix(64))' is not one of \(values.joined(separator: ", "))"
            }
            switch format {
            case "date-time" where JSONCoding.date(from: text) == nil:
                return "\(path): expected an ISO 8601 date on a real day in the years 0001 to 9999, like 2026-11-23T17:22:09Z"
            case "uuid" where UUID(uuidString: text) == nil:
                return "\(path): expected a UUID"
            default:
                return nil
            }
        case (.array, .array(let elements)):
            guard let items else { return nil }
            for (index, element) in elements.enumerated() {
                if let problem = items.schema.problem(with: element, at: "\(path)[\(index)]") { return problem }
            }
            return nil
        case (.object, .object(let members)):
            // Members first: a misspelt one is why a required one seems missing.
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                if let schema = properties?[name] {
                    if let problem = schema.problem(with: member, at: "\(path).\(name)") { return problem }
                    continue
                }
                switch additionalProperties {
                case .allowed(false)?:
                    let known = (properties ?? [:]).keys.sorted()
                    return "\(path).\(name): unknown member; " + (known.isEmpty ? "this method takes no params" : "known: \(known.joined(separator: ", "))")
                case .schema(let schema)?:
                    if let problem = schema.problem(with: member, at: "\(path).\(name)") { return problem }
                case .allowed(true)?, nil:
                    continue
                }
            }
            for name in required ?? [] where members[name] == nil || members[name] == .null {
                return "\(path).\(name): required but missing"
            }
            return nil
        case (let expected?, _):
            return "\(path): expected \(expected == .integer ? "a whole number" : expected == .object ? "an object" : expected == .array ? "an array" : "a \(expected.rawValue)")"
        }
    }
}

/// A type whose schema is not what its `Decodable` conformance shows, e.g. a level written
/// `high`, `medium` or `low`.
public protocol JSONSchemaProviding {
    static var jsonSchema: JSONSchema { get }
}
