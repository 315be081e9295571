/// A method with the Swift types of its params and result, as a process's contract module
/// declares it (`IncidentMethods.get`). The process registers its handler with it, and a process
/// calling it through the coordinator sends those params and reads that result, so both sides
/// agree by construction rather than by key names:
///
/// ```swift
/// public enum IncidentMethods {
///     public static let get = MethodType<GetIncident, IncidentDetail>("incident.get")
/// }
/// let detail = try await context.call(IncidentMethods.get, GetIncident(number: "INC-000001"))
/// ```
public struct MethodType<Params: Codable & Sendable, Result: Codable & Sendable>: Sendable, Hashable {
    public let name: String

    public init(_ name: String) {
        self.name = name
    }
}

/// The params of a method that takes none.
public struct NoParams: Sendable, Hashable, Codable {
    public init() {}
}
