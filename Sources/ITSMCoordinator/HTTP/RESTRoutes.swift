import Foundation
import ITSMProtocol

/// Finds the method a REST request calls among the routes the running plugins declare
/// (`MethodDescriptor.routes`), and builds its params from the path, the query and the body.
/// The coordinator knows no process by name: a custom plugin's routes are served like the
/// built-in ones.
enum RESTRoutes {
    struct Match {
        var route: MethodRouter.Route
        var binding: HTTPRoute
        /// Path params by name, percent-decoded.
        var pathValues: [String: String]
    }

    enum Outcome {
        case found(Match)
        /// The path exists for other verbs.
        case wrongVerb(allowed: [String])
        /// The path and verb exist, but not for this body's media type.
        case unsupportedMediaType(accepted: [String])
        case notFound
    }

    /// The route for `verb` on `segments` (the path after `/api/v1/`, decoded). Fixed segments
    /// win over params (`incidents/stats` over `incidents/{number}`); a route declaring the
    /// request's body type wins over the one that takes JSON.
    static func match(verb: String, segments: [String], contentType: String?, in routes: [MethodRouter.Route]) -> Outcome {
        var allowed = Set<String>()
        var candidates: [(match: Match, fixed: Int)] = []
        for route in routes {
            for binding in route.descriptor.routes ?? [] {
                guard let values = bind(binding.segments, to: segments) else { continue }
                allowed.insert(binding.verb)
                guard binding.verb == verb else { continue }
                let fixed = binding.segments.filter { if case .fixed = $0 { true } else { false } }.count
                candidates.append((Match(route: route, binding: binding, pathValues: values), fixed))
            }
        }
        guard let mostFixed = candidates.map(\.fixed).max() else {
            return allowed.isEmpty ? .notFound : .wrongVerb(allowed: allowed.sorted())
        }
        let specific = candidates.filter { $0.fixed == mostFixed }.map(\.match)
        let mediaType = contentType.map { $0.split(separator: ";").first.map(String.init) ?? $0 }?
            .trimmingCharacters(in: .whitespaces).lowercased()
        if let typed = specific.first(where: { $0.binding.bodyType.map { $0.lowercased() == mediaType } ?? false }) {
            return .found(typed)
        }
        if let json = specific.first(where: { $0.binding.bodyType == nil }) { return .found(json) }
        return .unsupportedMediaType(accepted: specific.compactMap(\.binding.bodyType).sorted())
    }

    private static func bind(_ pattern: [HTTPRoute.Segment], to segments: [String]) -> [String: String]? {
        guard pattern.count == segments.count else { return nil }
        var values: [String: String] = [:]
        for (expected, given) in zip(pattern, segments) {
            switch expected {
            case .fixed(let name): guard name == given else { return nil }
            case .param(let name): values[name] = given
            }
        }
        return values
    }

    /// The params: `defaults`, then the query, then `body`, then the path. A route with a
    /// JSON body takes no query; a member given in the path cannot be given in the body too.
    /// Query and path values take the type the params schema gives their member.
    static func params(for match: Match, query: [(key: String, value: String)], body: [String: JSONValue]) -> Result<JSONValue, ResponseError> {
        let binding = match.binding
        var params = binding.defaults ?? [:]
        let properties = match.route.descriptor.params?.properties ?? [:]
        if binding.takesJSONBody, let first = query.first {
            return .failure(.invalidParams("params.\(first.key): \(binding.verb) /api/v1/\(binding.path) takes its params in the JSON body, not the query"))
        }
        if let repeated = binding.pathParams.sorted().first(where: { body[$0] != nil }) {
            return .failure(.invalidParams("params.\(repeated): given in the path already; leave it out of the body"))
        }
        var fromQuery: [String: [String]] = [:]
        var order: [String] = []
        for (key, value) in query {
            let name = binding.queryAliases?[key] ?? key
            if fromQuery[name] == nil { order.append(name) }
            fromQuery[name, default: []].append(value)
        }
        for name in order {
            let values = fromQuery[name] ?? []
            let schema = properties[name]
            if schema?.type == .array {
                let itemSchema = schema?.items?.schema
                params[name] = .array(values.map { typed($0, as: itemSchema) })
            } else if values.count > 1 {
                return .failure(.invalidParams("params.\(name): given \(values.count) times in the query; it takes one value"))
            } else {
                params[name] = typed(values[0], as: schema)
            }
        }
        params.merge(body) { _, fromBody in fromBody }
        for (name, value) in match.pathValues {
            if let other = binding.uuidFills?[name], UUID(uuidString: value) != nil {
                params[other] = .string(value)
            } else {
                params[name] = typed(value, as: properties[name])
            }
        }
        return .success(.object(params))
    }

    /// A query value as the member's schema types it; without a type, whole numbers are
    /// numbers and `true`/`false` booleans. A value that does not parse stays a string, which
    /// the params check then refuses with its path.
    static func typed(_ value: String, as schema: JSONSchema?) -> JSONValue {
        guard let kind = schema?.type else {
            // No schema to go by: what the value looks like.
            return JSONSchema.Kind.integer.value(fromText: value) ?? JSONSchema.Kind.boolean.value(fromText: value) ?? .string(value)
        }
        return kind.value(fromText: value) ?? .string(value)
    }
}
