@testable import ITSMCoordinator
import ITSMProtocol
import Testing

@Suite struct RESTRoutesTests {
    static func route(_ name: String, params: JSONSchema? = nil, _ routes: HTTPRoute...) -> MethodRouter.Route {
        MethodRouter.Route(plugin: String(name.prefix { $0 != "." }),
                           descriptor: MethodDescriptor(name: name, permission: "x.read", idempotent: true, params: params, routes: routes))
    }

    static let listSchema = JSONSchema(type: .object, properties: [
        "limit": JSONSchema(type: .integer), "major": JSONSchema(type: .boolean), "text": JSONSchema(type: .string),
        "status": JSONSchema(type: .array, items: JSONSchema(type: .string)), "number": JSONSchema(type: .string),
    ], additionalProperties: .allowed(false))

    static let routes = [
        route("incident.get", params: listSchema, HTTPRoute("GET", "incidents/{number}", uuidFills: ["number": "id"])),
        route("incident.stats", HTTPRoute("GET", "incidents/stats")),
        route("incident.list", params: listSchema, HTTPRoute("GET", "incidents", queryAliases: ["q": "text"], defaults: ["limit": 10])),
        route("incident.create", HTTPRoute("POST", "incidents")),
        route("capacity.ingest", HTTPRoute("POST", "capacity/samples")),
        route("capacity.ingest_prometheus", HTTPRoute("POST", "capacity/samples", bodyType: "text/plain", bodyParam: "body")),
        route("problem.report", HTTPRoute("PUT", "problems/report", bodyType: "text/csv", bodyParam: "rows")),
    ]

    func found(_ verb: String, _ path: String, contentType: String? = nil) -> RESTRoutes.Match? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if case .found(let match) = RESTRoutes.match(verb: verb, segments: segments, contentType: contentType, in: Self.routes) { return match }
        return nil
    }

    @Test func aFixedSegmentWinsOverAParamAndTheBodyTypePicksAmongRoutesOnOnePath() {
        #expect(found("GET", "incidents/stats")?.route.descriptor.name == "incident.stats")
        #expect(found("GET", "incidents/INC-000001")?.pathValues == ["number": "INC-000001"])
        #expect(found("POST", "capacity/samples", contentType: "application/json")?.route.descriptor.name == "capacity.ingest")
        #expect(found("POST", "capacity/samples")?.route.descriptor.name == "capacity.ingest")
        #expect(found("POST", "capacity/samples", contentType: "Text/Plain; version=0.0.4")?.route.descriptor.name == "capacity.ingest_prometheus")
    }

    @Test func otherVerbsUnknownPathsAndOtherBodyTypesAreToldApart() {
        guard case .wrongVerb(let allowed) = RESTRoutes.match(verb: "DELETE", segments: ["incidents"], contentType: nil, in: Self.routes) else {
            Issue.record("DELETE /incidents should be a wrong verb")
            return
        }
        #expect(allowed == ["GET", "POST"])
        guard case .notFound = RESTRoutes.match(verb: "GET", segments: ["incidents", "a", "b"], contentType: nil, in: Self.routes) else {
            Issue.record("a longer path should not match")
            return
        }
        guard case .unsupportedMediaType(let accepted) = RESTRoutes.match(verb: "PUT", segments: ["problems", "report"],
                                                                           contentType: "application/json", in: Self.routes) else {
            Issue.record("a JSON body to a CSV-only route should be refused")
            return
        }
        #expect(accepted == ["text/csv"])
    }

    @Test func queryValuesTakeTheirSchemasTypesAndDefaultsAliasesAndThePathApply() throws {
        let list = try #require(found("GET", "incidents"))
        let params = try RESTRoutes.params(for: list, query: [
            ("q", "printer"), ("major", "true"), ("status", "new"), ("status", "assigned"), ("number", "000123"),
        ], body: [:]).get()
        #expect(params == ["limit": 10, "text": "printer", "major": true, "status": ["new", "assigned"], "number": "000123"])
        // What does not parse stays text, for the params check to refuse with its path.
        #expect(try RESTRoutes.params(for: list, query: [("limit", "ten")], body: [:]).get()["limit"] == "ten")
        #expect(throws: ResponseError.self) { try RESTRoutes.params(for: list, query: [("limit", "1"), ("limit", "2")], body: [:]).get() }

        let get = try #require(found("GET", "incidents/0F4B4A1C-6E0B-4C43-9D5E-6E64D6B0B0A1"))
        #expect(try RESTRoutes.params(for: get, query: [], body: [:]).get() == ["id": "0F4B4A1C-6E0B-4C43-9D5E-6E64D6B0B0A1"])
    }

    @Test func aJSONBodyRouteTakesNoQueryAndNoPathMemberTwice() throws {
        let create = try #require(found("POST", "incidents"))
        #expect(try RESTRoutes.params(for: create, query: [], body: ["title": "Printer"]).get() == ["title": "Printer"])
        #expect(throws: ResponseError.self) { try RESTRoutes.params(for: create, query: [("title", "x")], body: [:]).get() }
        let get = try #require(found("GET", "incidents/INC-1"))
        #expect(throws: ResponseError.self) { try RESTRoutes.params(for: get, query: [], body: ["number": "INC-2"]).get() }
    }
}
