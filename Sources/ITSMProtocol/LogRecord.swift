import Foundation

/// One line a plugin writes to stderr: `{"ts": ..., "level": ..., "msg": ..., ...}`. Other
/// members are metadata. Lines that are not such objects are forwarded as plain text.
public struct LogRecord: Sendable, Hashable {
    public var timestamp: String?
    public var level: String
    public var message: String
    public var metadata: [String: JSONValue]

    public init(timestamp: String?, level: String, message: String, metadata: [String: JSONValue] = [:]) {
        self.timestamp = timestamp
        self.level = level
        self.message = message
        self.metadata = metadata
    }

    /// Reads a stderr line; `nil` when it is not a JSON log object.
    public init?(line: some DataProtocol) {
        guard let object = (try? JSONValue.parse(line))?.objectValue,
              let message = object["msg"]?.stringValue
        else { return nil }
        timestamp = object["ts"]?.stringValue
        level = object["level"]?.stringValue ?? "info"
        self.message = message
        metadata = object.filter { !["ts", "level", "msg"].contains($0.key) }
    }

    public var json: JSONValue {
        var object = metadata
        object["msg"] = .string(message)
        object["level"] = .string(level)
        if let timestamp { object["ts"] = .string(timestamp) }
        return .object(object)
    }
}
