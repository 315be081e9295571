import ArgumentParser
import AsyncHTTPClient
import Foundation
import ITSMCoordinator
import ITSMProtocol
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Options of the commands that talk to a running coordinator over HTTP.
struct ClientOptions: ParsableArguments {
    @Option(help: "The coordinator's base URL (default: ITSM_URL, else the address the local coordinator wrote, else http in itsm.yaml).")
    var url: String?

    @Option(help: "The API token (default: ITSM_TOKEN, else <data dir>/admin.token).")
    var token: String?

    @Flag(help: "Print compact JSON for scripts instead of a readable rendering.")
    var json = false
}

/// A small HTTP client for the coordinator's API.
struct APIClient {
    let baseURL: URL
    let token: String

    init(options: ClientOptions, configuration: Configuration) throws {
        let environment = ProcessInfo.processInfo.environment
        var base = options.url ?? environment["ITSM_URL"]
        if base == nil, let info = Coordinator.RuntimeInfo.read(dataDirectory: configuration.dataDirectory) {
            base = "http://\(info.http)"
        }
        let address = base ?? "http://\(configuration.http)"
        guard let url = URL(string: address), url.scheme != nil else { throw ValidationError("'\(address)' is not a URL") }
        baseURL = url

        let tokenFile = Coordinator.adminTokenFile(dataDirectory: configuration.dataDirectory)
        guard let token = options.token ?? environment["ITSM_TOKEN"]
            ?? (try? String(contentsOfFile: tokenFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        else {
            throw ValidationError("no API token: pass --token, set ITSM_TOKEN, or run where \(tokenFile) is readable")
        }
        self.token = token
    }

    /// Sends a request; returns the decoded JSON body on success, throws `ResponseError` otherwise.
    /// AsyncHTTPClient waits on the event loop: URLSession on Linux polled in a loop and spent
    /// a core while the coordinator worked. `client`: one with a larger connection pool, for
    /// many requests at once.
    func send(_ method: String, path: String, query: [URLQueryItem] = [], body: JSONValue? = nil,
              headers: [String: String] = [:], using client: HTTPClient = .shared) async throws -> JSONValue {
        var url = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)
        if !query.isEmpty { url?.queryItems = query }
        var request = HTTPClientRequest(url: url?.url?.absoluteString ?? baseURL.appendingPathComponent(path).absoluteString)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.serialized()))
        }
        let status: Int
        let data: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: .seconds(60))
            status = Int(response.status.code)
            data = try await response.body.collect(upTo: Self.maximumResponseBytes)
        } catch {
            throw ResponseError.unavailable("cannot reach the coordinator at \(baseURL): \(error)", kind: "http.unreachable")
        }
        let decoded = try? JSONValue.parse(Data(buffer: data))
        if (200..<300).contains(status), let decoded { return decoded }
        if let error = try? decoded?["error"]?.decode(ResponseError.self) { throw error }
        throw ResponseError(code: .internalError, kind: "http.unexpected", message: "HTTP \(status) from the coordinator")
    }

    /// Streams a GET's body into `file` (created, 0600), calling `progress` with the bytes so
    /// far; a refusal is thrown as the `ResponseError` the API answered.
    func download(path: String, query: [URLQueryItem], to file: URL, progress: (Int) -> Void) async throws {
        var url = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)
        url?.queryItems = query
        var request = HTTPClientRequest(url: url?.url?.absoluteString ?? baseURL.appendingPathComponent(path).absoluteString)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .hours(4))
        } catch {
            throw ResponseError.unavailable("cannot reach the coordinator at \(baseURL): \(error)", kind: "http.unreachable")
        }
        guard response.status == .ok else {
            let data = try await response.body.collect(upTo: 1 << 20)
            if let error = try? JSONValue.parse(Data(buffer: data))["error"]?.decode(ResponseError.self) { throw error }
            throw ResponseError(code: .internalError, kind: "http.unexpected", message: "HTTP \(response.status.code) from the coordinator")
        }
        guard FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot create \(file.path)")
        }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        var received = 0
        for try await chunk in response.body {
            try handle.write(contentsOf: chunk.readableBytesView)
            received += chunk.readableBytes
            progress(received)
        }
    }

    /// A plan with its charts or a review pack is a few MiB at most.
    static let maximumResponseBytes = 256 << 20
}

/// Prints a failed request for people and picks the exit code scripts can act on.
func report(_ error: ResponseError) -> ExitCode {
    var line = "error: \(error.message)"
    if let kind = error.kind { line += " [\(kind)]" }
    if error.isRetryable { line += " (retryable)" }
    FileHandle.standardError.write(Data((line + "\n").utf8))
    switch error.code {
    case .unauthorized, .permissionDenied: return ExitStatus.unauthorized
    case .unavailable, .requestTimedOut, .shuttingDown: return ExitStatus.unavailable
    case .invalidParams, .parseError, .invalidRequest, .methodNotFound: return ExitStatus.usage
    default: return ExitStatus.refused
    }
}

/// Renders JSON for people: indented, keys sorted.
func pretty(_ value: JSONValue) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
}

/// An array of strings as one comma-separated cell (`agent,auditor`); empty for anything else.
func commaList(_ value: JSONValue?) -> String {
    (value?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ",")
}

func compact(_ value: JSONValue) -> String {
    (try? JSONCoding.encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
}
