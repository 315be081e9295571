import Foundation
import IncidentProtocol
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

extension ServiceReport {
    /// The report as Markdown, for print and for the page.
    public var markdown: String {
        let day = { (date: Date) in date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day()) }
        let percent = { (value: Double?) in value.map { "\(ServiceReport.format($0)) %" } ?? "n/a" }
        var lines = ["# Service report: \(customer)", "",
                     "Period: \(day(from)) to \(day(to)) (end excluded).", ""]
        if let note { lines += ["**Incident data: \(incidentData).** \(note)", ""] }
        if agreements.isEmpty { lines += ["No agreement with \(customer) was in force in the period.", ""] }
        for agreement in agreements {
            lines += ["## \(agreement.reference): \(agreement.service)", "",
                      "In force \(agreement.validFrom) to \(agreement.validTo). Agreed: \(ServiceReport.format(agreement.compliancePercent)) % of incidents within their times"
                      + (agreement.fulfilmentPercent.map { ", \(ServiceReport.format($0)) % of requests within their target" } ?? "")
                      + (agreement.availabilityPercent.map { ", availability \(ServiceReport.format($0)) % (not measured by the toolkit)" } ?? "") + ".", "",
                      "| priority | response | resolution | incidents | responded in time | resolved in time |", "|---|---|---|---|---|---|"]
            for row in agreement.priorities {
                lines.append("| \(row.priority) | \(row.responseMinutes) min | \(row.resolutionMinutes) min | \(row.created) | \(row.responseMet) of \(row.responseMeasured) | \(row.resolutionMet) of \(row.resolutionMeasured) |")
            }
            let verdict = agreement.compliant.map { $0 ? "met" : "**missed**" } ?? "not measured"
            lines += ["", "Incidents: \(agreement.incidentsCreated) raised, \(agreement.incidentsResolved) resolved; within their times: \(percent(agreement.achievedPercent)), target \(verdict).",
                      "Requests: \(agreement.requests.raised) raised, \(agreement.requests.fulfilled) fulfilled, \(agreement.requests.withinTarget) within target (\(percent(agreement.requests.withinTargetPercent)))"
                      + (agreement.fulfilmentCompliant.map { $0 ? ", target met." : ", target **missed**." } ?? "."), ""]
            if !agreement.breaches.isEmpty {
                lines += ["| breach | record | priority | target |", "|---|---|---|---|"]
                for breach in agreement.breaches {
                    lines.append("| \(breach.clock) | \(breach.number) \(MarkdownPage.cell(breach.title)) | \(breach.priority ?? "-") | \(breach.targetMinutes) min |")
                }
                lines.append("")
            }
        }
        lines += ["## Trend", "", "| | previous period | this period |", "|---|---|---|",
                  "| incidents raised | \(previous.incidentsCreated) | \(agreements.map(\.incidentsCreated).reduce(0, +)) |",
                  "| within their times | \(percent(previous.achievedPercent)) | \(percent(ServiceReport.share(agreements.flatMap(\.priorities)))) |",
                  "| requests raised | \(previous.requestsRaised) | \(agreements.map(\.requests.raised).reduce(0, +)) |",
                  "| requests within target | \(percent(previous.requestsWithinTargetPercent)) | \(percent(ServiceReport.share(agreements.map(\.requests)))) |", ""]
        lines += ["## Open actions from service reviews", ""]
        lines += openReviewActions.isEmpty ? ["None."] : openReviewActions.map { "- \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }

    public var html: String { MarkdownPage.html(markdown, title: "Service report: \(customer)") }

    static func format(_ value: Double) -> String { value.figure(fractionDigits: 1) }

    static func percent(_ part: Int, of whole: Int) -> Double? {
        whole == 0 ? nil : (Double(part) * 1000 / Double(whole)).rounded() / 10
    }

    /// Clocks within their times, of those measured.
    static func share(_ rows: [PriorityResult]) -> Double? {
        percent(rows.map { $0.responseMet + $0.resolutionMet }.reduce(0, +), of: rows.map { $0.responseMeasured + $0.resolutionMeasured }.reduce(0, +))
    }

    static func share(_ requests: [Requests]) -> Double? {
        percent(requests.map(\.withinTarget).reduce(0, +), of: requests.map(\.fulfilled).reduce(0, +))
    }
}

extension ServiceStore {
    /// Builds the report. `incidents` asks the incident process for a customer's figures of one
    /// service and period; it throws when that process does not answer.
    public func report(_ params: ServiceReportParams,
                       incidents: @Sendable (_ service: String, _ from: Date, _ to: Date) async throws(ResponseError) -> CustomerFigures) async throws -> ServiceReport {
        let to = params.to ?? now()
        let from = params.from ?? to.addingTimeInterval(-30 * 24 * 3600)
        guard to > from else { throw ResponseError.invalidParams("to: after from") }
        let previousFrom = from.addingTimeInterval(-to.timeIntervalSince(from))
        let (customerName, agreements, actions) = try await database.withTransaction { tx in
            let customer = try await customer(tx, params.customer, lock: false, required: true)!.customer
            let agreements = try await tx.query("""
                SELECT \(unsafeSQL: Agreement.columns) FROM \(unsafeSQL: Agreement.joins)
                WHERE lower(c.name) = lower(\(customer.name)) AND a.status IN ('active', 'terminated')
                  AND a.valid_from < (\(to) AT TIME ZONE 'UTC')::date + 1 AND a.valid_to >= (\(from) AT TIME ZONE 'UTC')::date
                ORDER BY s.name, a.valid_from
                """).map(Agreement.init(row:))
            let actions = try await tx.query("""
                SELECT r.number, a.position, a.description, a.owner, a.due_on::text AS due_on
                FROM service.review_action a JOIN service.review r ON r.id = a.review_id JOIN service.customer c ON c.id = r.customer_id
                WHERE lower(c.name) = lower(\(customer.name)) AND a.done_at IS NULL ORDER BY a.due_on, r.number, a.position
                """).map { row in
                "\(try row.decode(String.self, "number")) action \(try row.decode(Int.self, "position")): \(try row.decode(String.self, "description")) (\(try row.decode(String.self, "owner")), due \(try row.decode(String.self, "due_on")))"
            }
            return (customer.name, agreements, actions)
        }

        var incidentData = "available"
        var note: String?
        func figures(_ service: String, _ from: Date, _ to: Date) async -> CustomerFigures {
            let nothing = CustomerFigures(customer: customerName, service: service, from: from, to: to, created: 0, resolved: 0,
                                          byPriority: [], breaches: [])
            guard note == nil else { return nothing }
            do {
                return try await incidents(service, from, to)
            } catch {
                if error.kind == "plugin.disabled" {
                    incidentData = "none"
                    note = "The incident process is not enabled: incident targets cannot be measured."
                } else {
                    incidentData = "unavailable"
                    note = "The incident process did not answer (\(error.message)); incident figures are missing."
                }
                return nothing
            }
        }

        var results: [ServiceReport.AgreementResult] = []
        var previousIncidents: [ServiceReport.PriorityResult] = []
        var previousCreated = 0
        var previousRequests: [ServiceReport.Requests] = []
        for agreement in agreements {
            let current = await figures(agreement.service, from, to)
            let earlier = await figures(agreement.service, previousFrom, from)
            let priorities = Self.priorities(agreement, current)
            let requests = try await requestFigures(customer: customerName, service: agreement.service, from: from, to: to)
            let achieved = ServiceReport.share(priorities)
            let compliance = agreement.targets.compliancePercent ?? 95
            var breaches = current.breaches.map {
                ServiceReport.Breach(number: $0.number, title: $0.title, priority: $0.priority, clock: $0.clock, targetMinutes: $0.targetMinutes)
            }
            breaches += try await missedRequests(customer: customerName, service: agreement.service, from: from, to: to)
            results.append(ServiceReport.AgreementResult(
                reference: agreement.reference, service: agreement.service, validFrom: agreement.validFrom, validTo: agreement.validTo,
                compliancePercent: compliance, availabilityPercent: agreement.targets.availabilityPercent,
                fulfilmentPercent: agreement.targets.fulfilmentPercent, incidentsCreated: current.created, incidentsResolved: current.resolved,
                priorities: priorities, achievedPercent: achieved, compliant: achieved.map { $0 >= compliance }, requests: requests,
                fulfilmentCompliant: agreement.targets.fulfilmentPercent.flatMap { target in requests.withinTargetPercent.map { $0 >= target } },
                breaches: breaches))
            previousIncidents += Self.priorities(agreement, earlier)
            previousCreated += earlier.created
            previousRequests.append(try await requestFigures(customer: customerName, service: agreement.service, from: previousFrom, to: from))
        }
        return ServiceReport(
            customer: customerName, from: from, to: to, incidentData: incidentData, note: note, agreements: results,
            previous: ServiceReport.Trend(from: previousFrom, to: from, incidentsCreated: previousCreated,
                                          achievedPercent: ServiceReport.share(previousIncidents),
                                          requestsRaised: previousRequests.map(\.raised).reduce(0, +),
                                          requestsWithinTargetPercent: ServiceReport.share(previousRequests)),
            openReviewActions: actions)
    }

    /// Each agreed priority with what the incidents of that priority achieved.
    static func priorities(_ agreement: Agreement, _ figures: CustomerFigures) -> [ServiceReport.PriorityResult] {
        agreement.targets.priorities.sorted { $0.priority < $1.priority }.map { target in
            let found = figures.byPriority.first { $0.priority == target.priority }
            return ServiceReport.PriorityResult(
                priority: target.priority, responseMinutes: target.responseMinutes, resolutionMinutes: target.resolutionMinutes,
                created: found?.created ?? 0, responseMet: found?.responseMet ?? 0, responseMeasured: found?.responseMeasured ?? 0,
                resolutionMet: found?.resolutionMet ?? 0, resolutionMeasured: found?.resolutionMeasured ?? 0)
        }
    }

    /// The customer's requests for one service raised in `[from, to)`.
    func requestFigures(customer: String, service: String, from: Date, to: Date) async throws -> ServiceReport.Requests {
        let row = try await database.query("""
            SELECT count(*) AS raised, count(*) FILTER (WHERE r.status = 'fulfilled') AS fulfilled,
                   count(*) FILTER (WHERE r.status = 'fulfilled' AND r.met) AS within
            FROM service.request r JOIN service.customer c ON c.id = r.customer_id
            WHERE lower(c.name) = lower(\(customer)) AND lower(r.item->>'service') = lower(\(service))
              AND r.created_at >= \(from) AND r.created_at < \(to)
            """).single()
        let fulfilled = try row.decode(Int.self, "fulfilled")
        let within = try row.decode(Int.self, "within")
        return ServiceReport.Requests(raised: try row.decode(Int.self, "raised"), fulfilled: fulfilled, withinTarget: within,
                                      withinTargetPercent: ServiceReport.percent(within, of: fulfilled))
    }

    func missedRequests(customer: String, service: String, from: Date, to: Date) async throws -> [ServiceReport.Breach] {
        try await database.query("""
            SELECT r.number, r.item->>'title' AS title, (r.item->>'targetMinutes')::int AS target
            FROM service.request r JOIN service.customer c ON c.id = r.customer_id
            WHERE lower(c.name) = lower(\(customer)) AND lower(r.item->>'service') = lower(\(service))
              AND r.created_at >= \(from) AND r.created_at < \(to) AND r.met = false
            ORDER BY r.number
            """).map { row in
            ServiceReport.Breach(number: try row.decode(String.self, "number"), title: try row.decode(String.self, "title"), priority: nil,
                                 clock: "fulfilment", targetMinutes: try row.decode(Int.self, "target"))
        }
    }
}
