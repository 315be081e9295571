import ArgumentParser
import Foundation
import ITSMProtocol

/// Options and API calls every client command shares: where the coordinator is, the token,
/// `--json`, and turning failures into messages and exit codes.
struct APIConnection: ParsableArguments {
    @OptionGroup var global: GlobalOptions
    @OptionGroup var client: ClientOptions

    /// Calls a method of a process's contract (`SupplierMethods.list`) through
    /// `POST /api/v1/rpc/<method>`: the params as the contract types them, the answer read as its result type. `json` is the answer as it came,
    /// for `--json`.
    func call<Params, Result>(_ method: MethodType<Params, Result>, _ params: Params) async throws -> (value: Result, json: JSONValue) {
        guard case .object(let members) = try JSONValue(encoding: params) else { throw ValidationError("\(method.name): params are not an object") }
        let answer = try await send("POST", "api/v1/rpc/\(method.name)", members)
        do {
            return (try answer.decode(Result.self), answer)
        } catch {
            throw report(ResponseError(code: .internalError, message: "\(method.name) answered what its contract does not declare: \(error)"))
        }
    }

    /// Prints the answer as JSON under `--json`, and as `text` makes it otherwise.
    func show<Result>(_ answer: (value: Result, json: JSONValue), _ text: (Result) -> String) {
        print(client.json ? compact(answer.json) : text(answer.value))
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
