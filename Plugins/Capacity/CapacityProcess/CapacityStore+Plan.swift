import CapacityProtocol
import Foundation
import ITSMPluginKit
import ITSMPostgres
import ITSMProtocol

/// One metric in the capacity plan.
public struct PlanItem: Sendable, Encodable {
    public var metric: Metric
    public var utilizationPercent: Double?
    public var peak: Double?
    /// Change per day of the fitted trend.
    public var trendPerDay: Double?
    public var headroom: Double?
    public var forecast: MetricForecast
    public var recommendation: String
    /// An SVG chart: daily averages, the forecast, and the thresholds.
    public var chart: String
}

public struct CapacityPlan: Sendable, Encodable {
    public var service: String?
    public var generatedAt: Date
    public var horizonDays: Int
    public var items: [PlanItem]
}

extension CapacityStore {
    /// Fits a metric on its daily rollups, or hourly ones while there are fewer than 14 days,
    /// taking the figure of each its thresholds are about (the daily peak, unless set).
    public func forecast(resource: String, metric: String, now: Date = Date()) async throws -> MetricForecast {
        try await fitted(resource: resource, metric: metric, now: now).forecast
    }

    /// The forecast, and the model fitted for it (nil with too little data) for the plan's trend and chart.
    func fitted(resource: String, metric: String, now: Date = Date()) async throws -> (forecast: MetricForecast, model: Forecast?) {
        guard let row = try await database.query("""
            SELECT m.id, \(unsafeSQL: Metric.columns) FROM capacity.metric m JOIN capacity.resource r ON r.id = m.resource_id
            WHERE r.name = \(resource) AND m.name = \(metric)
            """).first else {
            throw ResponseError.business(kind: "capacity.not_found", message: "no metric '\(metric)' on resource '\(resource)'")
        }
        let id = try row.decode(UUID.self, "id")
        let defined = try Metric(row: row)
        let figure = defined.forecastOn
        // The plan's peak and chart read the same rollups after this.
        try await refreshRollups(metric: id)
        let days = try await series(id, granularity: "day", figure: figure)
        let (granularity, points) = days.count >= 14 ? ("day", days) : ("hour", try await series(id, granularity: "hour", figure: figure))
        let lastSampleAt = defined.lastAt
        let stale = lastSampleAt.map { now.timeIntervalSince($0) > settings.staleAfterHours * 3600 } ?? false
        var result = MetricForecast(resource: resource, metric: metric, unit: defined.unit, granularity: granularity,
                                    series: figure, direction: defined.direction, lastSampleAt: lastSampleAt, stale: stale)
        let step: TimeInterval = granularity == "day" ? 86_400 : 3600
        guard let first = points.first,
              let forecast = Forecaster.fit(values: points.map(\.1), start: first.0, step: step, season: granularity == "day" ? 7 : 24) else {
            result.note = "not enough data to forecast: \(points.count) \(granularity)ly points, 4 or more needed"
            return (result, nil)
        }
        if stale {
            result.note = "no sample since \(lastSampleAt?.formatted(.iso8601) ?? "-"): the forecast describes the past"
        }
        let horizon = Int(Double(settings.horizonDays) * 86_400 / step)
        let falling = defined.direction == .below
        result.forecast = forecast.fit
        result.warning = forecast.crossing(of: defined.warning, within: horizon, falling: falling)
        result.critical = forecast.crossing(of: defined.critical, within: horizon, falling: falling)
        result.limit = forecast.crossing(of: defined.limit, within: horizon, falling: falling)
        return (result, forecast)
    }

    /// One rollup figure in time order, regularly spaced: a missing bucket takes the previous value.
    func series(_ metric: UUID, granularity: String, figure: ForecastSeries) async throws -> [(Date, Double)] {
        let rows = try await database.query("""
            SELECT bucket, \(unsafeSQL: figure.rawValue) AS value FROM capacity.rollup
            WHERE metric_id = \(metric) AND granularity = \(granularity) ORDER BY bucket
            """).map { (try $0.decode(Date.self, "bucket"), try $0.decode(Double.self, "value")) }
        guard let first = rows.first, let last = rows.last else { return [] }
        let step: TimeInterval = granularity == "day" ? 86_400 : 3600
        var byTime = Dictionary(rows.map { ($0.0.timeIntervalSince1970, $0.1) }) { $1 }
        var filled: [(Date, Double)] = []
        var previous = first.1
        var time = first.0
        while time <= last.0 {
            let value = byTime.removeValue(forKey: time.timeIntervalSince1970) ?? previous
            filled.append((time, value))
            previous = value
            time = time.addingTimeInterval(step)
        }
        return filled
    }

    /// Forecasts every metric and announces `capacity.exhaustion_forecast` for those expected to
    /// reach their limit within the horizon, once per expected date. A stale metric, or a date
    /// already past, is never announced.
    @discardableResult
    public func announceExhaustion(now: Date = Date()) async throws -> [String] {
        var announced: [String] = []
        for metric in try await metrics() {
            let result = try await forecast(resource: metric.resource, metric: metric.name, now: now)
            guard !result.stale, let crossing = result.limit, let expected = crossing.expected, expected > now else { continue }
            let day = expected.formatted(Date.ISO8601FormatStyle().year().month().day())
            let published = try await database.withTransaction { tx in
                let claimed = try await tx.query("""
                    INSERT INTO capacity.forecast_notice (metric_id, expected)
                    SELECT m.id, \(day)::date FROM capacity.metric m JOIN capacity.resource r ON r.id = m.resource_id
                    WHERE r.name = \(metric.resource) AND m.name = \(metric.name)
                    ON CONFLICT (metric_id) DO UPDATE SET expected = excluded.expected, announced_at = now()
                        WHERE capacity.forecast_notice.expected <> excluded.expected
                    RETURNING metric_id
                    """)
                guard !claimed.isEmpty else { return false }
                let payload = ExhaustionForecast(
                    resource: metric.resource, metric: metric.name, service: metric.service, unit: metric.unit, limit: metric.limit,
                    exhaustionDate: day, earliest: crossing.earliest, latest: crossing.latest,
                    model: result.forecast?.model.rawValue ?? "", follows: result.follows)
                try await tx.publish(CapacityEvents.exhaustionForecast, subject: "\(metric.resource)/\(metric.name)", data: payload)
                return true
            }
            if published { announced.append("\(metric.resource)/\(metric.name) \(day)") }
        }
        return announced
    }

    /// The capacity plan for a service (or everything): utilization, peak, trend, forecast
    /// dates, headroom and what to do, with a chart per metric.
    public func plan(service: String?) async throws -> CapacityPlan {
        var items: [PlanItem] = []
        for metric in try await metrics(service: service) {
            let (forecast, model) = try await fitted(resource: metric.resource, metric: metric.name)
            // The peak is the highest day for a rising metric, the lowest for a falling one.
            let below = metric.direction == .below
            let peak = try await database.query("""
                SELECT max(r.max) AS highest, min(r.min) AS lowest FROM capacity.rollup r JOIN capacity.metric m ON m.id = r.metric_id
                JOIN capacity.resource res ON res.id = m.resource_id
                WHERE res.name = \(metric.resource) AND m.name = \(metric.name) AND r.granularity = 'day'
                  AND r.bucket >= now() - interval '30 days'
                """).single().decode(Double?.self, below ? "lowest" : "highest")
            let perDay = model.map { $0.trendPerStep * 86_400 / $0.step }
            items.append(PlanItem(
                metric: metric,
                utilizationPercent: below ? nil : metric.lastValue.map { (($0 / metric.limit) * 1000).rounded() / 10 }, peak: peak,
                trendPerDay: perDay.map { ($0 * 100).rounded() / 100 }, headroom: peak.map { abs(metric.limit - $0) }, forecast: forecast,
                recommendation: recommendation(metric, forecast), chart: try await chart(metric, forecast, model)))
        }
        return CapacityPlan(service: service, generatedAt: Date(), horizonDays: settings.horizonDays, items: items)
    }

    func recommendation(_ metric: Metric, _ forecast: MetricForecast) -> String {
        let day = Date.ISO8601FormatStyle().year().month().day()
        if forecast.stale {
            return "Check collection: no sample since \(forecast.lastSampleAt?.formatted(day) ?? "-"), so nothing can be forecast."
        }
        if metric.state == "critical" { return "Act now: \(metric.direction == .below ? "below" : "above") the critical threshold." }
        if let expected = forecast.limit?.expected {
            let days = Int(expected.timeIntervalSinceNow / 86_400)
            if days <= 30 { return "Add capacity now: the limit is expected within \(max(days, 0)) days (\(expected.formatted(day)))." }
            return "Plan an upgrade before \((forecast.limit?.earliest ?? expected).formatted(day)); the limit is expected on \(expected.formatted(day))."
        }
        if let expected = forecast.critical?.expected { return "Watch: critical expected on \(expected.formatted(day)); the limit is beyond the horizon." }
        if metric.direction == .above, let last = metric.lastValue, last / metric.limit < 0.3 {
            return "Headroom is large: consider reclaiming capacity."
        }
        return forecast.forecast == nil ? "Collect more data to forecast." : "No action: within limits over the horizon."
    }

    /// The last 60 rollups of the forecast's figure, the forecast for the next 60, and the thresholds.
    func chart(_ metric: Metric, _ forecast: MetricForecast, _ model: Forecast?) async throws -> String {
        let history = try await database.query("""
            SELECT r.bucket, r.\(unsafeSQL: forecast.series.rawValue) AS value FROM capacity.rollup r
            JOIN capacity.metric m ON m.id = r.metric_id JOIN capacity.resource res ON res.id = m.resource_id
            WHERE res.name = \(metric.resource) AND m.name = \(metric.name) AND r.granularity = \(forecast.granularity)
            ORDER BY r.bucket DESC LIMIT 60
            """).map { (try $0.decode(Date.self, "bucket"), try $0.decode(Double.self, "value")) }.reversed()
        let ahead: [(Date, Double)] = model.map { model in
            (1...60).map { h in (model.start.addingTimeInterval(Double(model.points - 1 + h) * model.step), model.value(ahead: h)) }
        } ?? []
        let points = Array(history) + ahead
        guard let first = points.first?.0, let last = points.last?.0, last > first else {
            return #"<svg xmlns="http://www.w3.org/2000/svg" width="640" height="80"><text x="10" y="40">Not enough data for a chart</text></svg>"#
        }
        let (width, height, pad) = (640.0, 240.0, 30.0)
        let top = max(metric.limit, points.map(\.1).max() ?? 0) * 1.05
        func x(_ date: Date) -> Double { pad + (date.timeIntervalSince(first) / last.timeIntervalSince(first)) * (width - 2 * pad) }
        func y(_ value: Double) -> Double { height - pad - max(0, value) / top * (height - 2 * pad) }
        func line(_ series: [(Date, Double)]) -> String { series.map { String(format: "%.1f,%.1f", x($0.0), y($0.1)) }.joined(separator: " ") }
        func level(_ value: Double, _ color: String, _ label: String) -> String {
            String(format: #"<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="%@" stroke-dasharray="4 3"/><text x="%.0f" y="%.1f" font-size="10" fill="%@">%@</text>"#,
                   pad, width - pad, y(value), y(value), color, width - pad - 60, y(value) - 3, color, label)
        }
        let title = "\(metric.resource) \(metric.name) (\(metric.unit))".replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif">
            <text x="\(Int(pad))" y="18" font-size="12">\(title)</text>
            <line x1="\(Int(pad))" x2="\(Int(pad))" y1="\(Int(pad))" y2="\(Int(height - pad))" stroke="#999"/>
            <line x1="\(Int(pad))" x2="\(Int(width - pad))" y1="\(Int(height - pad))" y2="\(Int(height - pad))" stroke="#999"/>
            \(level(metric.limit, "#b00", "limit"))\(level(metric.critical, "#e60", "critical"))\(level(metric.warning, "#cc0", "warning"))
            <polyline fill="none" stroke="#06c" stroke-width="2" points="\(line(Array(history)))"/>
            <polyline fill="none" stroke="#06c" stroke-width="2" stroke-dasharray="6 4" points="\(line(ahead))"/>
            </svg>
            """
    }
}

extension CapacityPlan {
    /// The plan as Markdown for a capacity manager's report.
    public var markdown: String {
        let day = Date.ISO8601FormatStyle().year().month().day()
        var lines = ["# Capacity plan\(service.map { ": \($0)" } ?? "")", "", "Generated \(generatedAt.formatted(.iso8601)); horizon \(horizonDays) days.", "",
                     "| Resource | Metric | Now | Utilization | Peak (30 d) | Trend / day | Forecast on | Limit expected | Recommendation |",
                     "|---|---|---|---|---|---|---|---|---|"]
        for item in items {
            let limit = item.forecast.limit?.expected.map { date in
                "\(date.formatted(day)) (\(item.forecast.limit?.earliest?.formatted(day) ?? "?") – \(item.forecast.limit?.latest?.formatted(day) ?? "beyond"))"
            } ?? "not within horizon"
            lines.append("| \(item.metric.resource) | \(item.metric.name) (\(item.metric.unit)) | \(item.metric.lastValue.map(CapacityStore.format) ?? "-") | "
                         + "\(item.utilizationPercent.map { "\($0) %" } ?? "-") | \(item.peak.map(CapacityStore.format) ?? "-") | "
                         + "\(item.trendPerDay.map(CapacityStore.format) ?? "-") | \(item.forecast.follows)"
                         + "\(item.forecast.stale ? " (stale)" : "") | \(limit) | \(item.recommendation) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
