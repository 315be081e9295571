import Foundation
import ITSMProtocol

/// The console's charts, drawn on the server as SVG from numbers, with every label escaped:
/// nothing a plugin sends becomes markup in the page, and no script draws them.
extension HTTPAPI {
    /// A number as a chart coordinate: at most one decimal, no grouping.
    static func coordinate(_ value: Double) -> String {
        value.formatted(.number.precision(.fractionLength(0...1)).grouping(.never).locale(Locale(identifier: "en_US_POSIX")))
    }

    /// Horizontal bars, one per key, scaled to the largest, with their values: drawn here from
    /// numbers and escaped labels, so nothing from a plugin is markup in the page.
    static func barChart(title: String, bars: [(label: String, value: Double)]) -> String {
        let (labelWidth, barSpace, valueWidth, rowHeight) = (120.0, 220.0, 60.0, 24.0)
        let largest = max(bars.map(\.value).max() ?? 0, 1)
        let height = Double(bars.count) * rowHeight
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 \(Int(labelWidth + barSpace + valueWidth)) \(Int(height))" \
            width="\(Int(labelWidth + barSpace + valueWidth))" height="\(Int(height))" role="img" aria-label="\(HTMLText.escaped(title))"><title>\(HTMLText.escaped(title))</title>
            """
        for (index, bar) in bars.enumerated() {
            let y = Double(index) * rowHeight
            let width = max(bar.value / largest * barSpace, bar.value > 0 ? 2 : 0)
            svg += "<text x=\"\(Int(labelWidth - 6))\" y=\"\(Int(y + 16))\" text-anchor=\"end\" class=\"chart-label\">\(HTMLText.escaped(bar.label))</text>"
            svg += "<rect x=\"\(Int(labelWidth))\" y=\"\(Int(y + 4))\" width=\"\(coordinate(width))\" height=\"16\" class=\"bar\"/>"
            svg += "<text x=\"\(Int(labelWidth + width + 4))\" y=\"\(Int(y + 16))\" class=\"chart-value\">\(figure(.double(bar.value)))</text>"
        }
        return svg + "</svg>"
    }

    /// One column per period, oldest first, scaled to the largest value or the target, with the
    /// target as a line across: a column that met it is drawn `met`, one that missed it
    /// `missed`, and a period with no figure is a gap labelled "n/a".
    static func trendChart(title: String, points: [(label: String, value: Double?, met: Bool?)], target: Double) -> String {
        let (columnWidth, plotHeight, top, bottom, left, right) = (64.0, 140.0, 16.0, 34.0, 8.0, 72.0)
        let width = left + right + Double(points.count) * columnWidth
        let largest = max(points.compactMap(\.value).max() ?? 0, target, 1)
        func y(_ value: Double) -> Double { top + plotHeight - value / largest * plotHeight }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 \(coordinate(width)) \(coordinate(top + plotHeight + bottom))" \
            width="\(coordinate(width))" height="\(coordinate(top + plotHeight + bottom))" role="img" aria-label="\(HTMLText.escaped(title))"><title>\(HTMLText.escaped(title))</title>
            """
        for (index, point) in points.enumerated() {
            let x = left + Double(index) * columnWidth
            let middle = coordinate(x + columnWidth / 2)
            if let value = point.value {
                let state = point.met.map { $0 ? "met" : "missed" } ?? "unjudged"
                svg += "<rect x=\"\(coordinate(x + 8))\" y=\"\(coordinate(y(value)))\" width=\"\(coordinate(columnWidth - 16))\" "
                    + "height=\"\(coordinate(top + plotHeight - y(value)))\" class=\"column \(state)\"/>"
                svg += "<text x=\"\(middle)\" y=\"\(coordinate(y(value) - 3))\" text-anchor=\"middle\" class=\"chart-value\">\(figure(.double(value)))</text>"
            } else {
                svg += "<text x=\"\(middle)\" y=\"\(coordinate(top + plotHeight - 3))\" text-anchor=\"middle\" class=\"chart-value\">n/a</text>"
            }
            svg += "<text x=\"\(middle)\" y=\"\(coordinate(top + plotHeight + 16))\" text-anchor=\"middle\" class=\"chart-label\">\(HTMLText.escaped(point.label))</text>"
        }
        svg += "<line x1=\"\(coordinate(left))\" x2=\"\(coordinate(width - right))\" y1=\"\(coordinate(y(target)))\" y2=\"\(coordinate(y(target)))\" class=\"target\"/>"
        svg += "<text x=\"\(coordinate(width - right + 4))\" y=\"\(coordinate(y(target) + 4))\" class=\"chart-label\">target \(figure(.double(target)))</text>"
        return svg + "</svg>"
    }
}
