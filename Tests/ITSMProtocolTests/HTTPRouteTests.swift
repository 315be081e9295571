import ITSMProtocol
import Testing

@Suite struct HTTPRouteTests {
    @Test func aManifestsRoutesAreCheckedBeforeAnyIsServed() {
        func problems(_ routes: [HTTPRoute]) -> [String] {
            InitializeResult(plugin: PeerInfo(name: "change", version: "1"), methods: [
                MethodDescriptor(name: "change.get", permission: "change.read", idempotent: true, routes: routes),
            ]).validationProblems()
        }
        #expect(problems([HTTPRoute("GET", "changes/{number}"), HTTPRoute("POST", "changes/{number}/transition")]).isEmpty)
        #expect(problems([HTTPRoute("FETCH", "changes")]) == ["method 'change.get': route FETCH changes: the verb must be one of GET, POST, PUT, PATCH, DELETE"])
        #expect(problems([HTTPRoute("GET", "tokens/{name}")]) == ["method 'change.get': route GET tokens/{name}: /api/v1/tokens is the coordinator's"])
        #expect(problems([HTTPRoute("GET", "{number}")]) == ["method 'change.get': route GET {number}: the first segment must be a fixed name"])
        #expect(problems([HTTPRoute("GET", "Changes//x")]).count == 2)
        #expect(problems([HTTPRoute("GET", "changes/{a}/{a}")]) == ["method 'change.get': route GET changes/{a}/{a}: a path param appears twice"])
        #expect(problems([HTTPRoute("GET", "changes/{a}"), HTTPRoute("GET", "changes/{b}")]) == ["route GET changes/{b} is declared twice"])
        #expect(problems([HTTPRoute("POST", "changes", bodyType: "text/csv")]) == ["method 'change.get': route POST changes: bodyType and bodyParam go together"])
        #expect(problems([HTTPRoute("GET", "changes", uuidFills: ["number": "id"])])
            == ["method 'change.get': route GET changes: uuidFills names 'number', which is not a path param"])
    }
}
