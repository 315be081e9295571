@testable import ITSMCoordinator
import ITSMProtocol
import Testing

@Suite struct ConsoleTests {
    @Test func aSnippetMarksOnlyTheSearchsHighlightsAndEscapesTheRecordsText() {
        let snippet = #"<script>x()</script> printer <b>jams</b> & "paper" it's"#
        #expect(HTTPAPI.markedSnippet(snippet)
                == "&lt;script&gt;x()&lt;/script&gt; printer <mark>jams</mark> &amp; &quot;paper&quot; it&#39;s")
    }

    @Test func aFormSentWithGetReadsAPlusAsASpaceAndAnEncodedPlusAsAPlus() {
        let fields = HTTPAPI.formDecoded("q=printer+jams&notice=P1%2B+done&empty=&tag=a&tag=b%0Ac%00")
        #expect(fields["q"] == ["printer jams"])
        #expect(fields["notice"] == ["P1+ done"])
        #expect(fields["empty"] == [""])
        #expect(fields["tag"] == ["a", "b\nc"])
    }

    @Test func theMatrixFormReadsNineChoicesAndNamesAMissingOrOddOne() throws {
        var form: [String: String] = [:]
        for (i, impact) in HTTPAPI.levels.enumerated() {
            for (j, urgency) in HTTPAPI.levels.enumerated() { form["\(impact)-\(urgency)"] = "P\(i + j + 1)" }
        }
        #expect(try HTTPAPI.matrix(from: form).get() == [[1, 2, 3], [2, 3, 4], [3, 4, 5]])
        form["medium-high"] = "P6"
        #expect(throws: ResponseError.self) { try HTTPAPI.matrix(from: form).get() }
        if case .failure(let error) = HTTPAPI.matrix(from: form) { #expect(error.message.hasPrefix("priorityMatrix.medium-high:")) }
        form["medium-high"] = nil
        if case .failure(let error) = HTTPAPI.matrix(from: form) { #expect(error.message.hasPrefix("priorityMatrix.medium-high:")) }
    }

    @Test func aDrawnRecordShowsAGroupOfPlainValuesByItsMembersNames() {
        let record: [String: JSONValue] = ["title": "Relay crashes", "rootCause": ["method": "5-whys", "findings": "Log rotation"],
                                           "services": ["mail", "web"], "links": [["number": "INC-1"]]]
        #expect(HTTPAPI.scalarFields(record, groups: true).map { "\($0["name"]!)=\($0["value"]!)" }
                == ["Root cause: findings=Log rotation", "Root cause: method=5-whys", "Services=mail, web", "Title=Relay crashes"])
        #expect(HTTPAPI.scalarFields(record).map { $0["name"]! } == ["Services", "Title"])
        #expect(HTTPAPI.label("configurationItems") == "Configuration items" && HTTPAPI.label("p50") == "P50")
        #expect(HTTPAPI.shown("2026-12-02T13:32:58.586Z") == "2026-12-02 13:32" && HTTPAPI.shown("2026-12-02") == "2026-12-02"
                && HTTPAPI.shown("PRB-000001") == "PRB-000001")
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
    @Test func aStatsResultIsDrawnFromItsShape() {
        let figures: JSONValue = .object([
            "from": "2026-11-01T00:00:00Z", "openBreached": 2, "meanHoursToResolve": .double(3.5), "items": .array([1, 2, 3]),
            "openByPriority": .object(["P2": 3, "P1": 1]),
            "byPriority": .object(["P1": .object(["resolved": 4, "meanMinutesToResolve": .null])]),
        ])
        let card = HTTPAPI.dashboardCard(figures, periodic: true)
        #expect(card["tiles"] as? [[String: String]] == [["label": "Items", "value": "3"], ["label": "Mean hours to resolve", "value": "3.5"],
                                                         ["label": "Open breached", "value": "2"]])
        let charts = card["charts"] as? [[String: String]] ?? []
        #expect(charts.map { $0["title"] } == ["Open by priority"])
        let svg = charts.first?["svg"] ?? ""
        #expect(svg.contains("<title>Open by priority</title>") && svg.range(of: ">P1<")!.lowerBound < svg.range(of: ">P2<")!.lowerBound)
        let tables = card["tables"] as? [[String: Any]] ?? []
        #expect(tables.first?["columns"] as? [String] == ["Mean minutes to resolve", "Resolved"])
        #expect((tables.first?["rows"] as? [[String: Any]])?.first?["cells"] as? [String] == ["—", "4"])
    }

    @Test func aChartsLabelsCannotAddMarkup() {
        let svg = HTTPAPI.barChart(title: "by \"kind\"", bars: [(label: "<script>", value: 2), (label: "none", value: 0)])
        #expect(!svg.contains("<script>") && svg.contains("&lt;script&gt;") && svg.contains(#"aria-label="by &quot;kind&quot;""#))
        #expect(svg.contains(#"width="220""#) && svg.contains(#"width="0""#))
    }

    @Test func aServiceLevelFormBecomesTheDefinitionsParams() {
        let params = HTTPAPI.serviceLevel(from: [
            "service": " ", "priority": "P2", "responseMinutes": "30", "resolutionMinutes": "soon", "warningPercent": "",
            "monday": "08:00-12:00, 13:00-17:00", "tuesday": "", "holidays": "2026-12-25 2026-12-26",
        ])
        #expect(params == ["priority": "P2", "responseMinutes": 30, "resolutionMinutes": "soon", "calendar": [
            "timeZone": "UTC", "hours": ["monday": ["08:00-12:00", "13:00-17:00"]], "holidays": ["2026-12-25", "2026-12-26"],
        ]])
        #expect(HTTPAPI.businessHours([["08:00-18:00"], ["08:00-18:00"], ["08:00-18:00"], [], ["08:00-12:00", "13:00-18:00"], ["09:00-12:00"], []])
                == ["Mon–Wed 08:00-18:00", "Fri 08:00-12:00, 13:00-18:00", "Sat 09:00-12:00"])
        #expect(HTTPAPI.duration(minutes: 270) == "4 h 30 min" && HTTPAPI.duration(minutes: 120) == "2 h" && HTTPAPI.duration(minutes: 0) == "0 min")
    }
    @Test func aTrendChartsColumnsSayMetOrMissedAgainstTheTarget() {
        let svg = HTTPAPI.trendChart(title: "OBJ-0001: <P1>", points: [
            (label: "2026-10-01", value: 80, met: false), (label: "2026-11-01", value: nil, met: nil), (label: "2026-12-01", value: 100, met: true),
        ], target: 95)
        #expect(svg.contains("<title>OBJ-0001: &lt;P1&gt;</title>") && svg.contains(#"class="column missed""#) && svg.contains(#"class="column met""#))
        #expect(svg.contains(">n/a</text>") && svg.contains(#"class="target""#) && svg.components(separatedBy: "<rect ").count == 3)
        // The tallest column is the plot's full height; the target line sits 95 % of the way up.
        #expect(svg.contains(#"y="16" width="48" height="140""#) && svg.contains(#"y1="23" y2="23""#) && svg.contains(">target 95</text>"), "\(svg)")
        #expect(HTTPAPI.periodLabel("2026-10-01T00:00:00.000Z", period: "quarter") == "2026 Q4"
                && HTTPAPI.periodLabel("2026-11-01T00:00:00.000Z", period: "month") == "2026-11"
                && HTTPAPI.periodLabel("2026-11-23T00:00:00.000Z", period: "week") == "11-23")
    }
}
