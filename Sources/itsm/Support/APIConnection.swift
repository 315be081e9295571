import ArgumentParser
import Foundation
import ITSMProtocol

/// Options and API calls every client command shares: where the coordinator is, the token,
/// `--json`, and turning failures into messages and exit codes.
struct APIConnection: ParsableArguments {
    @OptionGroup var global: GlobalOptions
    @OptionGroup var client: ClientOptions

    /// Calls a method through `POST /api/v1/rpc/<method>`; `nil` params are left out.
    func call(_ method: String, _ params: [String: JSONValue?]) async throws -> JSONValue {
        try await send("POST", "api/v1/rpc/\(method)", params)
    }

    /// Any API request; a failure is reported and becomes the exit code.
    func send(_ httpMethod: String, _ path: String, _ params: [String: JSONValue?]?, query: [URLQueryItem] = []) async throws -> JSONValue {
        let api = try APIClient(options: client, configuration: try global.loadConfiguration())
        do {
            return try await api.send(httpMethod, path: path, query: query, body: params.map { .object($0.compactMapValues { $0 }) })
        } catch let error as ResponseError {
            throw report(error)
        }
    }
}
