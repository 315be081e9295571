@testable import ITSMCoordinator
import ITSMProtocol
import Testing

@Suite struct ConsoleTests {
    @Test func aSnippetMarksOnlyTheSearchsHighlightsAndEscapesTheRecordsText() {
        let snippet = #"<script>x()</script> printer <b>jams</b> & "paper" it's"#
        #expect(HTTPAPI.markedSnippet(snippet)
                == "&lt;script&gt;x()&lt;/script&gt; printer <mark>jams</mark> &amp; &quot;paper&quot; it&#39;s")
    }

    @Test func everyPageRendersWithItsWordsEscaped() {
        let html = ConsoleTemplates.library.render(["title": "<b>bold</b>", "message": "a & b", "t": ConsoleStrings.english],
                                                   withTemplate: "message") ?? ""
        #expect(html.contains("&lt;b&gt;bold&lt;/b&gt;") && html.contains("a &amp; b") && html.contains("Back to the queues"))
        let page = HTTPAPI.page("message", ["title": "t", "message": "m"])
        #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true && page.headers[.cacheControl] == "no-store")
        for template in ConsoleTemplates.templates.keys {
            #expect(ConsoleTemplates.library.render(["t": ConsoleStrings.english], withTemplate: template) != nil, "\(template)")
        }
    }

    @Test func everyWordATemplateNamesIsInTheCatalogue() {
        for (name, template) in ConsoleTemplates.templates {
            for match in template.matches(of: /\{\{t\.([A-Za-z]+)\}\}/) {
                #expect(ConsoleStrings.english[String(match.output.1)] != nil, "\(name) names t.\(match.output.1)")
            }
        }
    }

    @Test func aRequestFormsFieldsAreTypedAsItsSchemaSays() throws {
        let form = JSONSchema(type: .object, properties: [
            "model": .string(), "monitors": JSONSchema(type: .integer), "dock": JSONSchema(type: .boolean),
            "neededBy": .string(format: "date-time"), "note": .string(), "tags": JSONSchema(type: .array, items: .string()),
            "extra": JSONSchema(type: .object),
        ])
        let answers = try HTTPAPI.typedFields(["model": ["developer"], "monitors": ["2"], "neededBy": ["2026-12-01T09:30"], "note": [""],
                                               "tags": ["vip, laptop"], "extra": [#"{"a": 1}"#]], schema: form, at: "answers")
        #expect(answers == ["model": "developer", "monitors": 2, "dock": false, "neededBy": "2026-12-01T09:30:00Z", "tags": ["vip", "laptop"],
                            "extra": ["a": 1]])
        #expect(throws: ResponseError.invalidParams("answers.monitors: 'two' is not a whole number")) {
            try HTTPAPI.typedFields(["monitors": ["two"]], schema: form, at: "answers")
        }
        #expect(throws: ResponseError.invalidParams("params.extra: not valid JSON")) {
            try HTTPAPI.typedFields(["extra": ["{"]], schema: form, at: "params")
        }
    }

    @Test func redirectsCarryTheirMessageEncoded() {
        let response = HTTPAPI.redirect("/console/incidents/INC-1", error: "resolutionCode: required & more")
        #expect(response.headers[.location] == "/console/incidents/INC-1?error=resolutionCode%3A%20required%20%26%20more")
    }
}
