import Foundation
import Hummingbird
import ITSMProtocol

/// Dashboards for process owners: every `<process>.stats` the person may call, built-in or
/// custom, for the last 7, 30 or 90 days where the method takes a period. Figures are drawn
/// from the result's shape, not from a page per process: a number is a tile, counts by a key
/// (`openByPriority`) a bar chart drawn here as SVG, figures by a key (`byPriority`) a table.
extension HTTPAPI {
    static let dashboardPeriods = [7, 30, 90]

    func addDashboardRoutes(to routes: Router<APIRequestContext>) {
        routes.get("console/dashboard") { request, _ in
            await console(request) { page in await dashboardPage(page, request) }
        }
    }

    /// The stats methods the person may call and that need nothing but a period.
    func statsMethods(for principal: Principal) -> [MethodDescriptor] {
        router.routes.map(\.descriptor).filter { Self.isDashboardStats($0, for: principal) }.sorted { $0.name < $1.name }
    }

    /// Whether the dashboards have a card for the person: asked on every page, so it stops at the first.
    func hasStatsMethods(for principal: Principal) -> Bool {
        router.routes.contains { Self.isDashboardStats($0.descriptor, for: principal) }
    }

    private static func isDashboardStats(_ method: MethodDescriptor, for principal: Principal) -> Bool {
        method.name.hasSuffix(".stats") && principal.allows(method.permission) && Set(method.params?.required ?? []).isSubset(of: ["from", "to"])
    }

    /// The period a page shows: `?days=` when it is one of `choices`, else `fallback`; and the
    /// `from` and `to` params of the days up to `now`.
    static func chosenDays(_ request: Request, among choices: [Int], fallback: Int) -> Int {
        Self.query(request)["days"].flatMap { Int($0) }.flatMap { choices.contains($0) ? $0 : nil } ?? fallback
    }

    static func lastDays(_ days: Int, until now: Date) -> (from: String, to: String) {
        (JSONCoding.string(from: now.addingTimeInterval(-Double(days) * 86_400)), JSONCoding.string(from: now))
    }

    private func dashboardPage(_ page: ConsolePage, _ request: Request) async -> Response {
        let strings = ConsoleStrings.english
        let days = Self.chosenDays(request, among: Self.dashboardPeriods, fallback: 30)
        let period = Self.lastDays(days, until: Date())
        var context = page.common
        context["title"] = strings["dashboards"]!
        context["periods"] = Self.dashboardPeriods.map { ["days": $0, "chosen": $0 == days] }
        var cards: [[String: Any]] = []
        for method in statsMethods(for: page.principal) {
            let properties = method.params?.properties ?? [:]
            var params: [String: JSONValue] = [:]
            if properties["from"] != nil, properties["to"] != nil {
                params = ["from": .string(period.from), "to": .string(period.to)]
            }
            var card: [String: Any] = ["process": String(method.name.dropLast(".stats".count)), "description": method.description ?? ""]
            switch await page.call(method.name, params) {
            case .failure(let error) where error.code == .permissionDenied:
                continue   // e.g. the desk's figures, to a requester
            case .failure(let error):
                card["error"] = error.message
            case .success(let figures):
                card.merge(Self.dashboardCard(figures, periodic: !params.isEmpty)) { $1 }
            }
            cards.append(card)
        }
        context["cards"] = cards
        context["days"] = days
        return Self.page("dashboard", context)
    }

    /// A stats result as tiles, charts and tables, in the order its members are named.
    static func dashboardCard(_ figures: JSONValue, periodic: Bool) -> [String: Any] {
        var tiles: [[String: String]] = []
        var charts: [[String: String]] = []
        var tables: [[String: Any]] = []
        for (name, value) in (figures.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            let label = humanized(name)
            switch value {
            case .int, .double:
                tiles.append(["label": label, "value": figure(value)])
            case .object(let members) where !members.isEmpty && members.values.allSatisfy(isNumber):
                let bars = members.sorted { $0.key < $1.key }.map { (label: $0.key, value: $0.value.doubleValue ?? 0) }
                charts.append(["title": label, "svg": barChart(title: label, bars: bars)])
            case .object(let members) where !members.isEmpty && members.values.allSatisfy({ $0.objectValue != nil }):
                let columns = Array(Set(members.values.flatMap { ($0.objectValue ?? [:]).keys })).sorted()
                tables.append(["title": label, "columns": columns.map(humanized),
                               "rows": members.sorted { $0.key < $1.key }.map { key, row in
                                   ["key": key, "cells": columns.map { row[$0].map(figure) ?? "—" }]
                               }])
            case .array(let items):
                tiles.append(["label": label, "value": items.count.formatted()])
            default:
                continue   // the period's bounds, said once above the cards
            }
        }
        return ["tiles": tiles, "charts": charts, "tables": tables, "periodic": periodic]
    }

    /// `openByPriority` as "Open by priority".
    static func humanized(_ name: String) -> String {
        var words = ""
        for character in name {
            if character.isUppercase, !words.isEmpty { words += " " + character.lowercased() } else { words.append(character) }
        }
        return words.prefix(1).uppercased() + words.dropFirst()
    }

    static func isNumber(_ value: JSONValue) -> Bool {
        switch value { case .int, .double: true; default: false }
    }

    static func figure(_ value: JSONValue) -> String {
        switch value {
        case .int(let number): number.formatted()
        case .double(let number): number.formatted(.number.precision(.fractionLength(0...1)))
        case .null: "—"
        default: value.stringValue ?? "—"
        }
    }
}
