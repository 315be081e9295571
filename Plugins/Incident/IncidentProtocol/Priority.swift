import ITSMProtocol

/// How widely a disruption is felt, or how soon it must be dealt with.
public enum Level: Int, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case high = 1
    case medium = 2
    case low = 3

    public var description: String {
        switch self {
        case .high: return "high"
        case .medium: return "medium"
        case .low: return "low"
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let level = Self.allCases.first(where: { $0.description == text.lowercased() }) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not one of high, medium, low")
        }
        self = level
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A priority, P1 (most urgent) to P5.
public struct Priority: RawRepresentable, Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: Int

    public init?(rawValue: Int) {
        guard (1...5).contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard text.count == 2, text.first == "P", let value = Int(text.dropFirst()).flatMap(Priority.init(rawValue:)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not one of P1...P5")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public var description: String { "P\(rawValue)" }
    public static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension Level: JSONSchemaProviding {
    public static var jsonSchema: JSONSchema { .string(oneOf: allCases.map(\.description)) }
}

extension Priority: JSONSchemaProviding {
    public static var jsonSchema: JSONSchema { .string(oneOf: (1...5).map { "P\($0)" }) }
}

/// One cell of the priority matrix: the priority a record of this impact and urgency gets.
public struct PriorityCell: Sendable, Hashable, Codable {
    public var impact: Level
    public var urgency: Level
    public var priority: Priority

    public init(impact: Level, urgency: Level, priority: Priority) {
        self.impact = impact
        self.urgency = urgency
        self.priority = priority
    }
}
