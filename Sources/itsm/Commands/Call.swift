import ArgumentParser
import Foundation
import ITSMProtocol

struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call any plugin method through the coordinator's HTTP API.",
        discussion: """
            Example: itsm call incident.create --params '{"title": "Mail is down", "impact": "high"}'
            Exit codes: 0 ok, 1 refused, 2 bad request, 3 unavailable (retry), 4 not authorized.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var client: ClientOptions

    @Argument(help: "The method, e.g. incident.get.")
    var method: String

    @Option(help: "The params as a JSON object (default {}); '-' reads them from standard input.")
    var params: String?

    @Option(help: "Makes a retried create return the first result instead of creating twice.")
    var idempotencyKey: String?

    func run() async throws {
        let configuration = try global.loadConfiguration()
        var body: JSONValue = .object([:])
        if let params {
            let text = params == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : params
            guard let value = try? JSONValue.parse(text.utf8), value.objectValue != nil else {
                throw ValidationError("--params must be a JSON object, e.g. '{\"title\": \"Mail is down\"}'")
            }
            body = value
        }
        let api = try APIClient(options: client, configuration: configuration)
        do {
            let result = try await api.send("POST", path: "api/v1/rpc/\(method)", body: body,
                                            headers: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:])
            print(client.json ? compact(result) : pretty(result))
        } catch let error as ResponseError {
            throw report(error)
        }
    }
}
