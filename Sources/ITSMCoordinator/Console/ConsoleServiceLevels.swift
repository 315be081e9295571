import Foundation
import Hummingbird
import ITSMProtocol

/// Service levels for the process owner: each priority's response and resolution targets with
/// the business hours they count in, a form to set one (`incident.sla.define`, refused by the
/// process naming the field), and the priority matrix that decides which target a record gets:
/// an administrator changes it in itsm.yaml from here (`config.priorityMatrix` of the incident
/// process, which restarts with it).
extension HTTPAPI {
    static let weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

    func addServiceLevelRoutes(to routes: Router<APIRequestContext>) {
        routes.get("console/admin/service-levels") { request, _ in
            await console(request) { page in await serviceLevelsPage(page, request) }
        }
        routes.post("console/admin/service-levels") { request, _ in
            await console(request, form: true) { page in
                let back = "/console/admin/service-levels"
                switch await page.call("incident.sla.define", Self.serviceLevel(from: page.form)) {
                case .success(let defined):
                    let scope = defined["service"]?.stringValue ?? ConsoleStrings.english["everyService"]!
                    return Self.redirect(back, notice: "\(defined["priority"]?.stringValue ?? "") · \(scope): \(ConsoleStrings.english["done"]!)")
                case .failure(let error):
                    return Self.redirect(back, error: error.message)
                }
            }
        }
        routes.post("console/admin/service-levels/matrix") { request, _ in
            await console(request, form: true) { page in
                let back = "/console/admin/service-levels"
                guard page.principal.allows("plugins.write") else { return Self.forbidden(page, "plugins.write") }
                let rows: [[Int]]
                switch Self.matrix(from: page.form) {
                case .success(let read): rows = read
                case .failure(let error): return Self.redirect(back, error: error.message)
                }
                let matrix = JSONValue.array(rows.map { .array($0.map { .int(Int64($0)) }) })
                if case .failure(let error) = await configurePlugin("incident", key: "priorityMatrix", value: matrix, by: page.principal) {
                    return Self.redirect(back, error: error.message)
                }
                // The incident process restarts with the new matrix: the page shows it once it answers with it.
                let deadline = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < deadline {
                    if case .success(let cells) = await page.call("incident.priority_matrix", [:]), Self.matrixNumbers(cells.arrayValue ?? []) == rows {
                        return Self.redirect(back, notice: ConsoleStrings.english["matrixSaved"]!)
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                return Self.redirect(back, notice: ConsoleStrings.english["matrixSavedRestarting"]!)
            }
        }
    }

    static let levels = ["high", "medium", "low"]

    /// The matrix form's nine choices (`impact-urgency`, each P1 to P5) as rows of impact high
    /// to low, each of urgency high to low, as itsm.yaml writes it; a missing or odd one named.
    static func matrix(from form: [String: String]) -> Result<[[Int]], ResponseError> {
        var rows: [[Int]] = []
        for impact in levels {
            var row: [Int] = []
            for urgency in levels {
                let field = "\(impact)-\(urgency)"
                guard let text = form[field], text.count == 2, text.first == "P", let value = Int(text.dropFirst()), (1...5).contains(value) else {
                    return .failure(.invalidParams("priorityMatrix.\(field): choose one of P1 to P5"))
                }
                row.append(value)
            }
            rows.append(row)
        }
        return .success(rows)
    }

    /// `incident.priority_matrix`'s cells as rows of numbers, the same shape as `matrix(from:)`.
    static func matrixNumbers(_ cells: [JSONValue]) -> [[Int]] {
        matrixRows(cells).map { ($0["priorities"] as? [String] ?? []).map { Int($0.dropFirst()) ?? 0 } }
    }

    private func serviceLevelsPage(_ page: ConsolePage, _ request: Request) async -> Response {
        var context = page.common
        context["title"] = ConsoleStrings.english["serviceLevels"]!
        context["canWrite"] = page.principal.allows("incident.admin")
        context["canSetMatrix"] = page.principal.allows("plugins.write")
        switch await page.call("incident.sla.list", [:]) {
        case .success(let definitions):
            context["definitions"] = (definitions.arrayValue ?? []).map(Self.serviceLevelRow)
        case .failure(let error):
            context["error"] = error.message
        }
        if case .success(let cells) = await page.call("incident.priority_matrix", [:]) {
            context["matrix"] = Self.matrixRows(cells.arrayValue ?? [])
            context["hasMatrix"] = true
        }
        if case .success(let names) = await page.call("incident.service_names", [:]) {
            context["services"] = (names.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        }
        context["priorities"] = Self.priorities
        context["days"] = Self.weekdays.map { ["day": $0, "label": $0.prefix(1).uppercased() + $0.dropFirst()] }
        Self.addMessages(of: request, to: &context)
        return Self.page("service-levels", context)
    }

    /// A definition as a table row: targets in hours and minutes, each open day's hours.
    static func serviceLevelRow(_ definition: JSONValue) -> [String: Any] {
        let calendar = definition["calendar"] ?? .object([:])
        let hours = calendar["hours"]
        let days = businessHours(weekdays.map { hours?[$0]?.arrayValue?.compactMap(\.stringValue) ?? [] })
        let holidays = calendar["holidays"]?.arrayValue?.compactMap(\.stringValue) ?? []
        return [
            "service": definition["service"]?.stringValue ?? ConsoleStrings.english["everyService"]!,
            "priority": definition["priority"]?.stringValue ?? "",
            "response": duration(minutes: definition["responseMinutes"]?.intValue),
            "resolution": duration(minutes: definition["resolutionMinutes"]?.intValue),
            "warning": "\(definition["warningPercent"]?.intValue ?? 75) %",
            "timeZone": calendar["timeZone"]?.stringValue ?? "",
            "hours": days.isEmpty ? "—" : days.joined(separator: " · "),
            "holidays": holidays.joined(separator: ", "),
        ]
    }

    /// Each week's open days with their hours, Monday first, a run of days with the same hours
    /// said once: `["Mon–Fri 08:00-18:00", "Sat 09:00-12:00"]`.
    static func businessHours(_ week: [[String]]) -> [String] {
        var runs: [(first: Int, last: Int, spans: [String])] = []
        for (day, spans) in week.enumerated() where !spans.isEmpty {
            if let run = runs.last, run.last == day - 1, run.spans == spans { runs[runs.count - 1].last = day } else { runs.append((day, day, spans)) }
        }
        func name(_ day: Int) -> String { weekdays[day].prefix(3).capitalized }
        return runs.map { run in
            (run.first == run.last ? name(run.first) : "\(name(run.first))–\(name(run.last))") + " " + run.spans.joined(separator: ", ")
        }
    }

    /// `90` as "1 h 30 min": targets are set in minutes and read in hours.
    static func duration(minutes: Int64?) -> String {
        guard let minutes else { return "—" }
        let (hours, rest) = minutes.quotientAndRemainder(dividingBy: 60)
        return [hours > 0 ? "\(hours) h" : nil, rest > 0 || hours == 0 ? "\(rest) min" : nil].compactMap { $0 }.joined(separator: " ")
    }

    /// The matrix as rows of impact, each with the priority for urgency high, medium, low.
    static func matrixRows(_ cells: [JSONValue]) -> [[String: Any]] {
        levels.map { impact in
            let row = cells.filter { $0["impact"]?.stringValue == impact }
            let priorities = levels.map { urgency in
                row.first { $0["urgency"]?.stringValue == urgency }?["priority"]?.stringValue ?? "—"
            }
            // For the form: each cell a choice of the five priorities, the current one selected.
            let choices = zip(levels, priorities).map { urgency, current in
                ["field": "\(impact)-\(urgency)", "options": Self.priorities.map { ["value": $0, "selected": $0 == current] }] as [String: Any]
            }
            return ["impact": impact, "priorities": priorities, "choices": choices]
        }
    }

    /// `incident.sla.define`'s params from the form: empty fields left out so the process names
    /// what is missing, hours per day as "08:00-12:00, 13:00-17:00" (empty: closed that day).
    static func serviceLevel(from form: [String: String]) -> [String: JSONValue] {
        func text(_ name: String) -> String? {
            form[name].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        func list(_ name: String) -> [JSONValue] {
            (text(name) ?? "").split(whereSeparator: { $0 == "," || $0.isWhitespace }).map { .string(String($0)) }
        }
        // A number as typed: what is not a whole number goes on as text, refused by the schema with its name.
        func number(_ name: String) -> JSONValue? { text(name).map { Int64($0).map(JSONValue.int) ?? .string($0) } }
        var params: [String: JSONValue] = [:]
        params["service"] = text("service").map(JSONValue.string)
        params["priority"] = text("priority").map(JSONValue.string)
        params["responseMinutes"] = number("responseMinutes")
        params["resolutionMinutes"] = number("resolutionMinutes")
        params["warningPercent"] = number("warningPercent")
        var hours: [String: JSONValue] = [:]
        for day in weekdays where !list(day).isEmpty { hours[day] = .array(list(day)) }
        var calendar: [String: JSONValue] = ["timeZone": .string(text("timeZone") ?? "UTC"), "hours": .object(hours)]
        if !list("holidays").isEmpty { calendar["holidays"] = .array(list("holidays")) }
        params["calendar"] = .object(calendar)
        return params
    }
}
