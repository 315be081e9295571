import Foundation
import Hummingbird
import ServiceLifecycle
import ITSMPostgres
import ITSMProtocol

/// Live updates: a page that shows a record (or a queue) listens on `/console/live`, a stream
/// of Server-Sent Events fed from the outbox, and says when what it shows has changed since it
/// was opened. Only the record's number and the event's type travel, and only to someone the
/// record's process showed the record to when the stream opened; a queue's stream is for the
/// desk. The page works the same without JavaScript.
extension HTTPAPI {
    /// How often the outbox is looked at for a stream, and how often a quiet stream says it is alive.
    static let livePoll: Duration = .seconds(1)
    static let liveHeartbeat: Duration = .seconds(15)
    /// A stream ends after this; the browser opens the next at once, from where this one was
    /// (`Last-Event-ID`), so no stream outlives a shutdown or a revoked session for long.
    static let liveLifetime: Duration = .seconds(300)

    func addLiveRoutes(to routes: Router<APIRequestContext>) {
        routes.get("console/console.js") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: ConsoleTemplates.script)))
        }
        routes.get("console/live") { request, _ in
            await console(request) { page in
                let query = Self.query(request)
                let filter: LiveFilter
                if let record = query["record"], (1...64).contains(record.count) {
                    // Seen through the record's own process, as the person: someone else's record is as absent as a missing one.
                    let method = record.hasPrefix("REQ-") ? "request.get" : "incident.get"
                    guard case .success = await page.call(method, ["number": .string(record)]) else {
                        return Self.page("message", page.common.merging(["title": "404", "message": ConsoleStrings.english["notFound"]!]) { $1 },
                                         status: .notFound)
                    }
                    filter = .record(record)
                } else if query["queue"] != nil, page.isDesk {
                    filter = .incidents
                } else {
                    return Self.page("message", page.common.merging(["title": "404", "message": ConsoleStrings.english["notFound"]!]) { $1 },
                                     status: .notFound)
                }
                let newest = try await pool.query("SELECT coalesce(max(id), 0) AS id FROM itsm.outbox").single().decode(Int64.self, "id")
                // A browser reconnecting says what it saw last; never further back than a few thousand events.
                let resumed = request.headers[.init("Last-Event-ID")!].flatMap { Int64($0) }.map { min(newest, max($0, newest - 5000)) }
                return liveStream(filter, since: resumed ?? newest)
            }
        }
    }

    enum LiveFilter: Sendable {
        case record(String)
        case incidents
    }

    /// The stream: an event `changed` for each outbox row after `since` that the filter takes.
    private func liveStream(_ filter: LiveFilter, since: Int64) -> Response {
        let pool = self.pool
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
                        body: ResponseBody { writer in
            var last = since
            var quiet = Duration.zero
            let ends = ContinuousClock.now + Self.liveLifetime
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            while !Task.isCancelled, ContinuousClock.now < ends {
                // A shutting-down coordinator ends its streams rather than waiting for them.
                guard (try? await cancelWhenGracefulShutdown({ try await Task.sleep(for: Self.livePoll) })) != nil else { break }
                // What committed up to now, read in one step; the next poll starts after it.
                let newest = try await pool.query("SELECT coalesce(max(id), 0) AS id FROM itsm.outbox").single().decode(Int64.self, "id")
                let query: PostgresQuery = switch filter {
                case .record(let number):
                    """
                    SELECT id, type FROM itsm.outbox
                    WHERE id > \(last) AND id <= \(newest) AND (payload->>'number' = \(number) OR payload->'incident'->>'number' = \(number))
                    ORDER BY id LIMIT 50
                    """
                case .incidents:
                    "SELECT id, type FROM itsm.outbox WHERE id > \(last) AND id <= \(newest) AND source = 'incident' ORDER BY id LIMIT 50"
                }
                let rows = try await pool.query(query)
                last = max(last, newest)
                if rows.isEmpty {
                    quiet += Self.livePoll
                    if quiet >= Self.liveHeartbeat {
                        try await writer.write(ByteBuffer(string: ": still here\n\n"))
                        quiet = .zero
                    }
                    continue
                }
                quiet = .zero
                for row in rows {
                    let type = try row.decode(String.self, "type")
                    try await writer.write(ByteBuffer(string: "id: \(last)\nevent: changed\ndata: \(type)\n\n"))
                }
            }
            try await writer.finish(nil)
        })
    }
}
