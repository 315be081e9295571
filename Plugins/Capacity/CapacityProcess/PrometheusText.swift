import Foundation

/// A series: a metric name and its labels, as Prometheus writes them.
public struct SeriesSelector: Sendable, Hashable {
    public var name: String
    public var labels: [String: String]

    /// Reads `name` or `name{label="value",...}`; `nil` when it is neither. A defined metric
    /// named this way selects every series of that name carrying at least these labels.
    public init?(_ text: String) {
        var reader = PrometheusText.LineReader(Substring(text))
        guard let series = reader.series(), reader.atEnd else { return nil }
        self = series
    }

    init(name: String, labels: [String: String]) {
        self.name = name
        self.labels = labels
    }

    /// Whether `series` has this name and at least these labels, in any order.
    public func selects(_ series: SeriesSelector) -> Bool {
        name == series.name && labels.allSatisfy { series.labels[$0.key] == $0.value }
    }
}

/// The Prometheus text exposition format (version 0.0.4), line by line:
/// `name{label="value",...} value [timestamp_ms]`, blanks and tabs between tokens, `#` comments,
/// label values with `\\`, `\"` and `\n` escapes, values in decimal or `NaN`, `+Inf`, `-Inf`.
/// A series feeds the defined metric whose selector it matches (see `SeriesSelector`); series
/// nobody defined are counted and skipped, as an exporter exposes far more than a plan needs.
public enum PrometheusText {
    public struct Parsed: Sendable {
        public struct Line: Sendable, Hashable {
            /// From 1.
            public var number: Int
            public var reason: String
        }

        public var samples: [Sample]
        /// The line each sample came from.
        public var lines: [Int]
        /// Well-formed series no defined metric selects.
        public var skipped: Int
        /// Lines that are not samples, and samples that cannot be kept (not a number to store,
        /// or one metric selected by several series), each with its line number.
        public var rejected: [Line]
    }

    public static func parse(_ body: String, resource: String, metrics: Set<String>, now: Date = Date()) -> Parsed {
        let selectors = metrics.compactMap { name in SeriesSelector(name).map { (name, $0) } }
        var parsed = Parsed(samples: [], lines: [], skipped: 0, rejected: [])
        var matchedBy: [String: Int] = [:] // metric -> the line of the series that fed it
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        for (offset, raw) in body.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            var reader = LineReader(raw.hasSuffix("\r") ? raw.dropLast() : raw)
            reader.skipBlanks()
            if reader.atEnd || reader.peek == UInt8(ascii: "#") { continue }
            guard let series = reader.series(), reader.skipBlanks() > 0, let value = reader.value() else {
                parsed.rejected.append(.init(number: number, reason: "not a sample line: \(raw.prefix(120))"))
                continue
            }
            var timestamp: Int64?
            if reader.skipBlanks() > 0, !reader.atEnd {
                guard let milliseconds = reader.integer() else {
                    parsed.rejected.append(.init(number: number, reason: "timestamp: not whole milliseconds: \(raw.prefix(120))"))
                    continue
                }
                timestamp = milliseconds
                reader.skipBlanks()
            }
            guard reader.atEnd else {
                parsed.rejected.append(.init(number: number, reason: "not a sample line (more after the timestamp): \(raw.prefix(120))"))
                continue
            }
            let selecting = selectors.filter { $0.1.selects(series) }
            guard !selecting.isEmpty else {
                parsed.skipped += 1
                continue
            }
            guard value.isFinite else {
                parsed.rejected.append(.init(number: number, reason: "value \(value): not a measurement to store"))
                continue
            }
            let at = timestamp.map { Date(timeIntervalSince1970: Double($0) / 1000) } ?? now
            for (name, _) in selecting {
                if let first = matchedBy[name] {
                    parsed.rejected.append(.init(number: number, reason: "'\(name)' is already fed by the series on line \(first): "
                                                 + "name more labels to tell them apart"))
                    continue
                }
                matchedBy[name] = number
                parsed.samples.append(Sample(resource: resource, metric: name, at: at.formatted(style), value: value))
                parsed.lines.append(number)
            }
        }
        return parsed
    }

    /// Reads the tokens of one line, by the exposition format's grammar.
    struct LineReader {
        private let bytes: [UInt8]
        private var index = 0

        init(_ line: Substring) { bytes = Array(line.utf8) }

        var atEnd: Bool { index == bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[index] }

        /// Skips spaces and tabs; returns how many.
        @discardableResult
        mutating func skipBlanks() -> Int {
            let start = index
            while let byte = peek, byte == 0x20 || byte == 0x09 { index += 1 }
            return index - start
        }

        private static func isNameStart(_ byte: UInt8, colon: Bool) -> Bool {
            (65...90).contains(byte) || (97...122).contains(byte) || byte == 95 || (colon && byte == 58)
        }

        private mutating func name(colon: Bool) -> String? {
            guard let first = peek, Self.isNameStart(first, colon: colon) else { return nil }
            let start = index
            while let byte = peek, Self.isNameStart(byte, colon: colon) || (48...57).contains(byte) { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        /// `name` or `name{label="value",...}` (a trailing comma is allowed).
        mutating func series() -> SeriesSelector? {
            guard let metric = name(colon: true) else { return nil }
            var labels: [String: String] = [:]
            guard peek == UInt8(ascii: "{") else { return SeriesSelector(name: metric, labels: labels) }
            index += 1
            while true {
                skipBlanks()
                if peek == UInt8(ascii: "}") { index += 1; break }
                guard let label = name(colon: false), labels[label] == nil else { return nil }
                skipBlanks()
                guard peek == UInt8(ascii: "=") else { return nil }
                index += 1
                skipBlanks()
                guard let value = quoted() else { return nil }
                labels[label] = value
                skipBlanks()
                if peek == UInt8(ascii: ",") { index += 1; continue }
                guard peek == UInt8(ascii: "}") else { return nil }
                index += 1
                break
            }
            return SeriesSelector(name: metric, labels: labels)
        }

        private mutating func quoted() -> String? {
            guard peek == UInt8(ascii: "\"") else { return nil }
            index += 1
            var value: [UInt8] = []
            while let byte = peek {
                index += 1
                switch byte {
                case UInt8(ascii: "\""): return String(decoding: value, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = peek else { return nil }
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "n"): value.append(0x0A)
                    case UInt8(ascii: "\\"), UInt8(ascii: "\""): value.append(escaped)
                    default: return nil
                    }
                default: value.append(byte)
                }
            }
            return nil
        }

        private mutating func token() -> String {
            let start = index
            while let byte = peek, byte != 0x20, byte != 0x09 { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        /// A decimal float, `NaN`, `+Inf` or `-Inf` (no hexadecimal, no `_`).
        mutating func value() -> Double? {
            let text = token()
            switch text.lowercased() {
            case "nan": return .nan
            case "+inf", "inf": return .infinity
            case "-inf": return -.infinity
            default: break
            }
            var rest = Substring(text)
            if rest.first == "+" || rest.first == "-" { rest = rest.dropFirst() }
            let mantissa = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard mantissa.contains(where: \.isNumber), mantissa.filter({ $0 == "." }).count <= 1 else { return nil }
            rest = rest.dropFirst(mantissa.count)
            if let e = rest.first, e == "e" || e == "E" {
                rest = rest.dropFirst()
                if rest.first == "+" || rest.first == "-" { rest = rest.dropFirst() }
                guard !rest.isEmpty, rest.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
                rest = ""
            }
            guard rest.isEmpty else { return nil }
            return Double(text)
        }

        /// A whole number of milliseconds, optionally negative.
        mutating func integer() -> Int64? {
            let text = token()
            let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int64(text)
        }
    }
}
