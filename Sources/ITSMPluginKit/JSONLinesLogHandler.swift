import Foundation
import ITSMProtocol
import Logging

/// Writes each log record to stderr as one JSON line, `{"ts", "level", "msg", ...metadata}`,
/// which the coordinator reads and forwards tagged with the plugin's name.
public struct JSONLinesLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public let label: String

    public init(label: String, level: Logger.Level? = nil) {
        self.label = label
        let configured = ProcessInfo.processInfo.environment["ITSM_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
        self.logLevel = level ?? configured ?? .info
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: JSONValue] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            fields[key] = .string("\(value)")
        }
        let record = LogRecord(timestamp: Date().formatted(.iso8601), level: event.level.rawValue,
                               message: "\(event.message)", metadata: fields)
        guard var line = try? JSONCoding.encoder.encode(record.json) else { return }
        line.append(UInt8(ascii: "\n"))
        line.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }
}
