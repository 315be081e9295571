import ArgumentParser
import Foundation
import ITSMProtocol

// Option values read as a process's contract types them, so a wrong one is refused before any call.

/// A value of one of a contract's enumerations, or an error naming the option and the values it takes.
func choice<Value: RawRepresentable & CaseIterable>(_ type: Value.Type, _ text: String, _ option: String) throws -> Value
    where Value.RawValue == String
{
    guard let value = Value(rawValue: text) else {
        throw ValidationError("\(option): '\(text)' is not one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return value
}

/// An ISO 8601 instant given as an option, or an error naming the option.
func instant(_ text: String?, _ option: String) throws -> Date? {
    guard let text else { return nil }
    guard let date = JSONCoding.date(from: text) else { throw ValidationError("\(option): '\(text)' is not an ISO 8601 date and time") }
    return date
}

/// A value the contract decodes from text itself (a priority `P2`, a level `high`), or an error
/// naming the option with the contract's own words.
func decoded<Value: Decodable>(_ type: Value.Type, _ text: String, _ option: String) throws -> Value {
    do {
        return try JSONValue.string(text).decode(Value.self)
    } catch DecodingError.dataCorrupted(let context) {
        throw ValidationError("\(option): \(context.debugDescription)")
    } catch {
        throw ValidationError("\(option): '\(text)' is not a valid value")
    }
}
