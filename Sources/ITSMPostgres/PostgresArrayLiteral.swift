/// Reads and writes one-dimensional array literals (`{a,"b c",NULL}`) in the text format.
enum PostgresArrayLiteral {
    static func format(_ elements: [String?]) -> String {
        // By UTF-8 byte: the two characters escaped are ASCII, and walking Characters (grapheme
        // clusters) cost more than the rest of a statement's parameters.
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (offset, element) in elements.enumerated() {
            if offset > 0 { out.append(UInt8(ascii: ",")) }
            guard let element else { out.append(contentsOf: "NULL".utf8); continue }
            out.append(UInt8(ascii: "\""))
            for byte in element.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses a one-dimensional literal; `nil` when it is not one.
    static func parse(_ text: String) -> [String?]? {
        var scalars = text.unicodeScalars[...]
        guard scalars.popFirst() == "{", scalars.popLast() == "}" else { return nil }
        if scalars.isEmpty { return [] }
        var elements: [String?] = []
        while true {
            if scalars.first == "\"" {
                scalars.removeFirst()
                var value = String.UnicodeScalarView()
                while let scalar = scalars.popFirst() {
                    if scalar == "\\" {
                        guard let escaped = scalars.popFirst() else { return nil }
                        value.append(escaped)
                    } else if scalar == "\"" {
                        break
                    } else {
                        value.append(scalar)
                    }
                }
                elements.append(String(value))
            } else {
                var value = String.UnicodeScalarView()
                while let scalar = scalars.first, scalar != "," {
                    if scalar == "{" { return nil } // nested arrays are not supported
                    value.append(scalar)
                    scalars.removeFirst()
                }
                let raw = String(value)
                elements.append(raw == "NULL" ? nil : raw)
            }
            guard let separator = scalars.popFirst() else { return elements }
            guard separator == "," else { return nil }
        }
    }
}
