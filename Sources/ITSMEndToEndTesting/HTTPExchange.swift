import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One HTTP request and its answer, for test harnesses. AsyncHTTPClient waits on its event
/// loop; URLSession on Linux polls in a loop, and a harness that spends a core competes with
/// the very processes a test is waiting for on a two-core machine.
public enum HTTPExchange {
    /// Keeps an idle connection for less than the coordinator's `headTimeout` (10 s): the shared
    /// client kept them for 60 s, so under load it could pick a connection for a request just as
    /// the coordinator closed it, and the request failed with `remoteConnectionClosed`.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(4))
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public static func send(_ method: String, _ url: URL, body: Data? = nil, headers: [String: String] = [:],
                            timeout: Duration = .seconds(60)) async throws -> (status: Int, body: Data) {
        let answer = try await exchange(method, url, body: body, headers: headers, timeout: timeout)
        return (answer.status, answer.body)
    }

    /// `send`, with the response's headers (lower-cased names; a repeated header's values joined by ", ").
    public static func exchange(_ method: String, _ url: URL, body: Data? = nil, headers: [String: String] = [:],
                                timeout: Duration = .seconds(60)) async throws -> (status: Int, headers: [String: String], body: Data) {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(data: body)) }
        let response = try await client.execute(request, timeout: TimeAmount(timeout))
        let data = try await response.body.collect(upTo: 256 << 20)
        let received = Dictionary(response.headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { "\($0), \($1)" })
        return (Int(response.status.code), received, Data(buffer: data))
    }
}
