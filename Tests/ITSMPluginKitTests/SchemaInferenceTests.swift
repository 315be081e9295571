import Foundation
import ITSMPluginKit
import ITSMProtocol
import Testing

/// A Swift plugin's params schemas come from its Codable types.
@Suite struct SchemaInferenceTests {
    enum Colour: String, Codable, CaseIterable { case red, green }

    struct Window: Codable {
        var from: Date
        var to: Date?
    }

    struct Params: Codable {
        var title: String
        var count: Int
        var ratio: Double?
        var urgent: Bool?
        var id: UUID?
        var colour: Colour
        var tags: [String]?
        var labels: [String: String]?
        var window: Window?
        var windows: [Window]?
        var anything: JSONValue?
    }

    @Test func membersTypesAndWhatIsRequiredFollowTheType() throws {
        let schema = try #require(SchemaInference.schema(of: Params.self))
        #expect(schema.type == .object && schema.additionalProperties == .allowed(false))
        #expect(schema.required == ["colour", "count", "title"])
        let members = try #require(schema.properties)
        #expect(members["title"]?.type == .string && members["count"]?.type == .integer && members["ratio"]?.type == .number)
        #expect(members["urgent"]?.type == .boolean && members["id"]?.format == "uuid")
        #expect(members["colour"]?.enum == ["red", "green"])
        #expect(members["tags"]?.items?.schema.type == .string)
        #expect(members["labels"]?.additionalProperties == .schema(.string()))
        #expect(members["window"]?.properties?["from"]?.format == "date-time" && members["window"]?.required == ["from"])
        #expect(members["windows"]?.items?.schema.properties?["to"] != nil)
        #expect(members["anything"] == .any)
    }

    struct EncodeOnly: Encodable { var figure = 1 }

    @Test func aResultIsDescribedFromItsDecodableSideAndWhatItEncodesMatches() throws {
        let schema = try #require(SchemaInference.resultSchema(of: Params.self))
        let encoded = try JSONValue(encoding: Params(title: "Printer", count: 2, ratio: 0.5, colour: .green,
                                                     window: Window(from: Date(timeIntervalSince1970: 0))))
        #expect(schema.problem(with: encoded, at: "result") == nil)
        #expect(schema.problem(with: ["title": "Printer", "count": 2, "colour": "green", "extra": 1], at: "result")?
            .hasPrefix("result.extra: unknown member") == true)
        // Nothing is claimed where nothing is known.
        #expect(SchemaInference.resultSchema(of: EncodeOnly.self) == nil)
        #expect(SchemaInference.resultSchema(of: JSONValue.self) == nil)
        var plugin = Plugin(name: "demo", version: "1")
        plugin.method("demo.get", permission: "demo.read") { (_: Window, _) in Params(title: "x", count: 1, colour: .red) }
        #expect(plugin.manifest.methods.first?.result == schema)
    }

    @Test func paramsAreCheckedWithTheirPath() throws {
        let schema = try #require(SchemaInference.schema(of: Params.self))
        func problem(_ json: String) throws -> String? { schema.problem(with: try JSONValue.parse(Array(json.utf8))) }
        #expect(try problem(#"{"title": "x", "count": 1, "colour": "red"}"#) == nil)
        #expect(try problem(#"{"title": "x", "count": 1, "colour": "red", "labels": {"a": "b"}}"#) == nil)
        #expect(try problem(#"{"title": "x", "count": 1, "colour": "red", "ratio": null}"#)?.hasPrefix("params.ratio: must not be null") == true)
        #expect(try problem(#"{"title": "x", "count": 1, "colour": "red", "attachments": []}"#)?
            .hasPrefix("params.attachments: unknown member; known: anything, colour, count") == true)
        #expect(try problem(#"{"count": 1, "colour": "red"}"#) == "params.title: required but missing")
        #expect(try problem(#"{"title": 3, "count": 1, "colour": "red"}"#) == "params.title: expected a string")
        #expect(try problem(#"{"title": "x", "count": 1.5, "colour": "red"}"#) == "params.count: expected a whole number")
        #expect(try problem(#"{"title": "x", "count": 1, "colour": "blue"}"#) == "params.colour: 'blue' is not one of red, green")
        #expect(try problem(#"{"title": "x", "count": 1, "colour": "red", "windows": [{"from": "2026-02-30T00:00:00Z"}]}"#)?
            .hasPrefix("params.windows[0].from: expected an ISO 8601 date") == true)
        #expect(try problem(#"{"title": "x", "count": 1, "colour": "red", "labels": {"a": 1}}"#) == "params.labels.a: expected a string")
        #expect(try problem(#"[1]"#) == "params: expected an object")
    }
}
