import Foundation
import Hummingbird
import ITSMProtocol
import NIOCore

/// `GET /api/v1/evidence?from=&to=[&clause=]`: the evidence pack for a period as a zip archive,
/// streamed as it is assembled (docs/api.md, "Evidence"). Each export is audited with the
/// SHA-256 of the pack's manifest, so a pack shown later can be matched to the one exported.
extension HTTPAPI {
    func addEvidenceRoutes(to routes: Router<APIRequestContext>) {
        routes.get("api/v1/evidence") { request, _ in
            let principal: Principal
            switch await authenticate(request, permission: "evidence.read") {
            case .success(let found): principal = found
            case .failure(let refusal): return errorResponse(refusal)
            }
            let pack: EvidencePack
            switch Self.evidencePack(request.uri.queryParameters) {
            case .success(let found): pack = found
            case .failure(let refusal): return errorResponse(refusal)
            }
            let source = evidenceSource(for: principal)
            let (requestId, clientAddress) = (CurrentRequest.id, CurrentRequest.clientAddress)
            let name = "evidence-\(EvidencePack.day(pack.from))-to-\(EvidencePack.day(pack.to))"
            let headers: HTTPFields = [.contentType: "application/zip", .contentDisposition: "attachment; filename=\"\(name).zip\""]
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                var zip = ZipWriter(sink: ResponseSink(writer: writer))
                let details: JSONValue = ["from": .string(pack.from.formatted(.iso8601)), "to": .string(pack.to.formatted(.iso8601)),
                                          "clauses": .array(pack.clauses.map(JSONValue.string))]
                do {
                    let files = try await pack.write(into: &zip, from: source)
                    try await zip.finish()
                    try await zip.sink.writer.finish(nil)
                    guard case .object(var members) = details else { return }
                    members["files"] = .int(Int64(files.count))
                    members["manifestSha256"] = .string(files.last?.sha256 ?? "")
                    await CurrentRequest.$id.withValue(requestId) {
                        await CurrentRequest.$clientAddress.withValue(clientAddress) {
                            await record("evidence.export", by: principal, target: name, .success(.null), details: .object(members))
                        }
                    }
                } catch {
                    // The status is sent already: the archive ends unfinished, which any unzip reports.
                    logger.error("the evidence pack could not be written", metadata: ["itsm.error": "\(String(reflecting: error))"])
                    await CurrentRequest.$id.withValue(requestId) {
                        await record("evidence.export", by: principal, target: name,
                                     .failure(.internalError("the pack could not be written: \(error)")), details: details)
                    }
                    throw error
                }
            })
        }
    }

    /// The period and clauses from the query, each refusal naming its parameter.
    static func evidencePack(_ query: Hummingbird.Parameters) -> Result<EvidencePack, ResponseError> {
        let known: Set<String> = ["from", "to", "clause"]
        if let unknown = query.map({ String($0.key) }).first(where: { !known.contains($0) }) {
            return .failure(.invalidParams("\(unknown): unknown; the evidence pack takes from, to and clause"))
        }
        var dates: [String: Date] = [:]
        for member in ["from", "to"] {
            guard let text = query[Substring(member)].map(String.init) else {
                return .failure(.invalidParams("\(member): required, a day (2026-10-01) or an ISO 8601 instant"))
            }
            guard let date = (try? Date(text, strategy: .iso8601)) ?? (try? Date(text + "T00:00:00Z", strategy: .iso8601)) else {
                return .failure(.invalidParams("\(member): a day (2026-10-01) or an ISO 8601 instant, not '\(text.prefix(40))'"))
            }
            dates[member] = date
        }
        guard dates["from"]! < dates["to"]! else { return .failure(.invalidParams("to: after from; the period would be empty")) }
        let clauses = query.getAll("clause").map { String($0) }
        if let unknown = clauses.first(where: { !EvidencePack.allClauses.contains($0) }) {
            return .failure(.invalidParams("clause: '\(unknown.prefix(20))' is not covered; one of \(EvidencePack.allClauses.joined(separator: ", "))"))
        }
        return .success(EvidencePack(from: dates["from"]!, to: dates["to"]!, clauses: clauses))
    }

    /// The processes' methods as `principal` may call them (read-only, as the pack only reads),
    /// and the audit log when they may read it.
    func evidenceSource(for principal: Principal) -> EvidencePack.Source {
        EvidencePack.Source(
            call: { [router] method, params throws(ResponseError) in
                guard let route = router.route(for: method) else { throw await router.unroutedError(method) }
                let permission = route.descriptor.permission
                guard permission.hasSuffix(".read"), principal.allows(permission) else { throw principal.lacking(permission) }
                return try await router.call(method, params: params, meta: RequestMeta(actor: principal.actor, requestId: CurrentRequest.id),
                                             principal: (principal, origin: principal.actor))
            },
            listParams: { [router] method in Set(router.route(for: method)?.descriptor.params?.properties?.keys.map { $0 } ?? []) },
            audit: principal.allows("audit.read") ? audit : nil)
    }
}

/// The zip archive's bytes into the HTTP response, as they are produced.
struct ResponseSink: ByteSink {
    var writer: any ResponseBodyWriter

    mutating func write(_ bytes: [UInt8]) async throws {
        try await writer.write(ByteBuffer(bytes: bytes))
    }
}
