/// Reads CSV as RFC 4180 has it: comma-separated fields, fields in double quotes may hold
/// commas, doubled quotes and line breaks; lines end with LF or CRLF; a UTF-8 BOM is skipped.
struct CSVReader {
    struct Failure: Error, CustomStringConvertible {
        var line: Int
        var message: String
        var description: String { "line \(line): \(message)" }
    }

    /// Every record, the header included; blank lines are skipped.
    static func records(_ bytes: [UInt8]) throws(Failure) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field: [UInt8] = []
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var line = 1
        var quoted = false
        var fieldStarted = false

        func endField() {
            record.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            fieldStarted = false
        }
        func endRecord() {
            endField()
            if !(record.count == 1 && record[0].isEmpty) { records.append(record) }
            record.removeAll(keepingCapacity: true)
        }

        while index < bytes.count {
            let byte = bytes[index]
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""):
                    guard !fieldStarted && field.isEmpty else {
                        throw Failure(line: line, message: "a quote inside an unquoted field; quote the whole field")
                    }
                    quoted = true
                    fieldStarted = true
                case UInt8(ascii: ","):
                    endField()
                case UInt8(ascii: "\r") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "\n"):
                    break
                case UInt8(ascii: "\n"):
                    endRecord()
                    line += 1
                default:
                    if fieldStarted && field.isEmpty == false && bytes[index - 1] == UInt8(ascii: "\"") {
                        throw Failure(line: line, message: "text after a closing quote")
                    }
                    field.append(byte)
                }
            }
            index += 1
        }
        if quoted { throw Failure(line: line, message: "a quoted field is never closed") }
        if !field.isEmpty || !record.isEmpty { endRecord() }
        return records
    }
}
