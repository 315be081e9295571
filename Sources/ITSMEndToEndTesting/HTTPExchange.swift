import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One HTTP request and its answer, for test harnesses. AsyncHTTPClient waits on its event
/// loop; URLSession on Linux polls in a loop, and a harness that spends a core competes with
/// the very processes a test is waiting for on a two-core machine.
public enum HTTPExchange {
    public static func send(_ method: String, _ url: URL, body: Data? = nil, headers: [String: String] = [:],
                            timeout: Duration = .seconds(60)) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(data: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: TimeAmount(timeout))
        let data = try await response.body.collect(upTo: 256 << 20)
        return (Int(response.status.code), Data(buffer: data))
    }
}
