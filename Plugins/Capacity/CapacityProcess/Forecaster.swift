import Foundation

/// Forecasts a metric from evenly spaced points (hourly or daily rollups): a linear trend, and
/// additive Holt-Winters with a season (24 hours, or 7 days). Both are fitted on the first 80 %
/// of the points and scored on the rest (mean absolute error); the better one is refitted on
/// everything. The forecast says when the metric is expected to reach a level, with an
/// interval: the earliest date its upper 95 % bound reaches it, and the latest its lower one does.
public struct Forecast: Sendable {
    public typealias Model = ForecastFit.Model
    public typealias Crossing = ForecastCrossing

    public var model: Model
    public var holdoutError: Double
    public var alternativeHoldoutError: Double?
    public var start: Date
    public var step: TimeInterval
    public var points: Int
    /// Standard deviation of the one-step errors.
    public var residualDeviation: Double
    var linear: (slope: Double, intercept: Double, meanIndex: Double, spread: Double)?
    var holtWinters: HoltWinters?

    /// What the answer says of the fit; the fitted state stays here.
    public var fit: ForecastFit {
        ForecastFit(model: model, holdoutError: holdoutError, alternativeHoldoutError: alternativeHoldoutError, start: start, step: step,
                    points: points, residualDeviation: residualDeviation)
    }

    /// The expected value `h` steps after the last point.
    public func value(ahead h: Int) -> Double {
        switch model {
        case .linear:
            let line = linear!
            return line.intercept + line.slope * Double(points - 1 + h)
        case .holtWinters:
            return holtWinters!.forecast(ahead: h)
        }
    }

    /// The fitted trend: change per step, seasons aside.
    public var trendPerStep: Double {
        switch model {
        case .linear: linear!.slope
        case .holtWinters: holtWinters!.trend
        }
    }

    /// Half the width of the 95 % prediction interval `h` steps ahead.
    public func margin(ahead h: Int) -> Double {
        let z = 1.96
        switch model {
        case .linear:
            let line = linear!
            let x = Double(points - 1 + h)
            let factor = 1 + 1 / Double(points) + (x - line.meanIndex) * (x - line.meanIndex) / max(line.spread, 1e-9)
            return z * residualDeviation * factor.squareRoot()
        case .holtWinters:
            let model = holtWinters!
            let hh = Double(h)
            let factor = 1 + (hh - 1) * model.alpha * model.alpha * (1 + hh * model.beta + hh * (2 * hh - 1) * model.beta * model.beta / 6)
            return z * residualDeviation * max(factor, 1).squareRoot()
        }
    }

    /// When the forecast reaches `level` within `horizon` steps: from below for a rising metric,
    /// from above for a falling one (free space, free memory).
    public func crossing(of level: Double, within horizon: Int, falling: Bool = false) -> Crossing {
        var crossing = Crossing(level: level)
        // For a falling metric, mirror everything: "reaches" means "drops to".
        let sign = falling ? -1.0 : 1.0
        let target = sign * level
        for h in 1...max(1, horizon) {
            let expected = sign * value(ahead: h)
            let margin = margin(ahead: h)
            let date = start.addingTimeInterval(Double(points - 1 + h) * step)
            if crossing.earliest == nil, expected + margin >= target { crossing.earliest = date }
            if crossing.expected == nil, expected >= target { crossing.expected = date }
            if crossing.latest == nil, expected - margin >= target { crossing.latest = date; break }
        }
        return crossing
    }
}

public enum Forecaster {
    /// Fits both models and keeps the one with the smaller holdout error. Needs at least two
    /// seasons of points for Holt-Winters; with fewer, the linear trend is used.
    public static func fit(values: [Double], start: Date, step: TimeInterval, season: Int) -> Forecast? {
        guard values.count >= 4 else { return nil }
        let split = max(2, values.count * 4 / 5)
        let training = Array(values[..<split])
        let holdout = Array(values[split...])
        func error(_ predict: (Int) -> Double) -> Double {
            guard !holdout.isEmpty else { return 0 }
            return holdout.enumerated().map { abs(predict($0.offset + 1) - $0.element) }.reduce(0, +) / Double(holdout.count)
        }
        let trainLine = linearFit(training)
        let lineError = error { h in trainLine.intercept + trainLine.slope * Double(training.count - 1 + h) }
        var seasonalError: Double?
        if season >= 2, training.count >= 2 * season, let trained = HoltWinters.fit(training, season: season) {
            seasonalError = error { h in trained.forecast(ahead: h) }
        }
        if let seasonalError, seasonalError < lineError, let model = HoltWinters.fit(values, season: season) {
            return Forecast(model: .holtWinters, holdoutError: seasonalError, alternativeHoldoutError: lineError, start: start, step: step,
                            points: values.count, residualDeviation: model.residualDeviation, linear: nil, holtWinters: model)
        }
        let line = linearFit(values)
        return Forecast(model: .linear, holdoutError: lineError, alternativeHoldoutError: seasonalError, start: start, step: step,
                        points: values.count, residualDeviation: line.deviation,
                        linear: (line.slope, line.intercept, line.meanIndex, line.spread), holtWinters: nil)
    }

    static func linearFit(_ values: [Double]) -> (slope: Double, intercept: Double, meanIndex: Double, spread: Double, deviation: Double) {
        let n = Double(values.count)
        let meanX = (n - 1) / 2
        let meanY = values.reduce(0, +) / n
        var sxx = 0.0
        var sxy = 0.0
        for (index, y) in values.enumerated() {
            let dx = Double(index) - meanX
            sxx += dx * dx
            sxy += dx * (y - meanY)
        }
        let slope = sxx > 0 ? sxy / sxx : 0
        let intercept = meanY - slope * meanX
        let residuals = values.enumerated().map { $0.element - (intercept + slope * Double($0.offset)) }
        let deviation = (residuals.map { $0 * $0 }.reduce(0, +) / max(n - 2, 1)).squareRoot()
        return (slope, intercept, meanX, sxx, deviation)
    }
}

/// Additive Holt-Winters: level, trend and a repeating season. The smoothing parameters
/// minimise the one-step squared error: a coarse grid finds a start, Nelder-Mead refines it.
struct HoltWinters: Sendable {
    var alpha: Double
    var beta: Double
    var gamma: Double
    var season: Int
    var level: Double
    var trend: Double
    var seasonals: [Double]
    /// Index in `seasonals` of the step after the last point.
    var nextSeasonIndex: Int
    var residualDeviation: Double

    /// `h` steps after the last point; `h = 0` is the fitted last point.
    func forecast(ahead h: Int) -> Double {
        let slot = ((nextSeasonIndex + h - 1) % season + season) % season
        return level + Double(h) * trend + seasonals[slot]
    }

    static func fit(_ values: [Double], season: Int) -> HoltWinters? {
        guard values.count >= 2 * season else { return nil }
        func sse(_ p: [Double]) -> Double {
            guard p.allSatisfy({ (0.001...0.999).contains($0) }) else { return .infinity }
            return run(values, season: season, alpha: p[0], beta: p[1], gamma: p[2]).1
        }
        let grid = stride(from: 0.05, through: 0.95, by: 0.15).map { $0 }
        var start = [0.5, 0.05, 0.5]
        var startError = Double.infinity
        for alpha in grid {
            for beta in [0.01, 0.05, 0.1, 0.2] {
                for gamma in grid {
                    let error = sse([alpha, beta, gamma])
                    if error < startError { startError = error; start = [alpha, beta, gamma] }
                }
            }
        }
        let best = NelderMead.minimize(sse, from: start, step: 0.05)
        return run(values, season: season, alpha: best[0], beta: best[1], gamma: best[2]).0
    }

    static func run(_ values: [Double], season: Int, alpha: Double, beta: Double, gamma: Double) -> (HoltWinters, Double) {
        let first = values[0..<season].reduce(0, +) / Double(season)
        let second = values[season..<(2 * season)].reduce(0, +) / Double(season)
        var level = first
        var trend = (second - first) / Double(season)
        var seasonals = (0..<season).map { values[$0] - first }
        var sse = 0.0
        var count = 0
        for (index, value) in values.enumerated() where index >= season {
            let slot = index % season
            let predicted = level + trend + seasonals[slot]
            let error = value - predicted
            sse += error * error
            count += 1
            let previousLevel = level
            level = alpha * (value - seasonals[slot]) + (1 - alpha) * (level + trend)
            trend = beta * (level - previousLevel) + (1 - beta) * trend
            seasonals[slot] = gamma * (value - level) + (1 - gamma) * seasonals[slot]
        }
        let deviation = (sse / Double(max(count - 3, 1))).squareRoot()
        return (HoltWinters(alpha: alpha, beta: beta, gamma: gamma, season: season, level: level, trend: trend, seasonals: seasonals,
                            nextSeasonIndex: values.count % season, residualDeviation: deviation), sse)
    }
}

/// Nelder-Mead simplex search: minimises a function of a few variables without derivatives.
enum NelderMead {
    static func minimize(_ f: ([Double]) -> Double, from start: [Double], step: Double,
                         iterations: Int = 300, tolerance: Double = 1e-10) -> [Double] {
        let n = start.count
        var simplex = [start] + (0..<n).map { i in
            var point = start
            point[i] += point[i] + step < 1 ? step : -step
            return point
        }
        var values = simplex.map(f)
        for _ in 0..<iterations {
            let order = values.indices.sorted { values[$0] < values[$1] }
            simplex = order.map { simplex[$0] }
            values = order.map { values[$0] }
            guard let best = values.first, let worst = values.last, abs(worst - best) > tolerance * (abs(best) + tolerance) else { break }
            let centroid = (0..<n).map { i in simplex.dropLast().map { $0[i] }.reduce(0, +) / Double(n) }
            func toward(_ factor: Double) -> [Double] { (0..<n).map { centroid[$0] + factor * (simplex[n][$0] - centroid[$0]) } }
            let reflected = toward(-1)
            let reflectedValue = f(reflected)
            if reflectedValue < values[0] {
                let expanded = toward(-2)
                let expandedValue = f(expanded)
                (simplex[n], values[n]) = expandedValue < reflectedValue ? (expanded, expandedValue) : (reflected, reflectedValue)
            } else if reflectedValue < values[n - 1] {
                (simplex[n], values[n]) = (reflected, reflectedValue)
            } else {
                let contracted = toward(reflectedValue < values[n] ? -0.5 : 0.5)
                let contractedValue = f(contracted)
                if contractedValue < min(reflectedValue, values[n]) {
                    (simplex[n], values[n]) = (contracted, contractedValue)
                } else {
                    for i in 1...n {
                        simplex[i] = (0..<n).map { simplex[0][$0] + 0.5 * (simplex[i][$0] - simplex[0][$0]) }
                        values[i] = f(simplex[i])
                    }
                }
            }
        }
        return simplex[values.indices.min { values[$0] < values[$1] }!]
    }
}
