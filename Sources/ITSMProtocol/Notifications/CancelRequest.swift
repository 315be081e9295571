/// `$/cancelRequest` params: the request to stop. The receiver still answers that request,
/// with `-32800` if it stopped before finishing.
public struct CancelRequestParams: Sendable, Hashable, Codable {
    public var id: RequestID
    public init(id: RequestID) { self.id = id }
}
