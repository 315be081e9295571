import AsyncHTTPClient
import Crypto
import Foundation
import ITSMSystem
import NIOCore
import NIOHTTP1

/// A named webhook from the configuration: where to post, how, and the secret it is signed with.
public struct WebhookSettings: Sendable, Hashable {
    /// json (the event and the rendered text), slack, mattermost or teams (their incoming-webhook formats).
    public enum Format: String, Sendable, Hashable, CaseIterable {
        case json, slack, mattermost, teams
    }

    public var name: String
    public var url: String
    public var format: Format
    /// Signs each body: `X-ITSM-Signature: sha256=<hex HMAC-SHA256 of the body>`.
    public var secret: String?

    public init(name: String, url: String, format: Format, secret: String?) {
        self.name = name
        self.url = url
        self.format = format
        self.secret = secret
    }
}

public enum WebhookClient {
    /// The body a webhook of `format` gets for a notification.
    public static func body(format: WebhookSettings.Format, event: String, deliveryID: String, subject: String, text: String,
                            data: [String: Any]) -> Data {
        let object: [String: Any]
        switch format {
        case .json:
            object = ["event": event, "delivery": deliveryID, "subject": subject, "text": text, "data": data]
        case .slack, .mattermost:
            object = ["text": "*\(subject)*\n\(text)"]
        case .teams:
            object = ["@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": subject, "title": subject, "text": text]
        }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    /// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`, as receivers recompute it.
    public static func signature(_ body: Data, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.hex
    }

    /// Posts `body`; a 2xx is delivered, a 4xx other than 408 and 429 is refused for good, the
    /// rest (and no answer) is worth another attempt.
    public static func post(_ body: Data, to webhook: WebhookSettings, event: String, deliveryID: String) async throws {
        var request = HTTPClientRequest(url: webhook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "itsm-notification")
        request.headers.add(name: "X-ITSM-Event", value: event)
        // The same id on every attempt: a receiver drops a repeat it has already seen.
        request.headers.add(name: "X-ITSM-Delivery", value: deliveryID)
        if let secret = webhook.secret { request.headers.add(name: "X-ITSM-Signature", value: signature(body, secret: secret)) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
        } catch {
            throw DeliveryError(description: "\(webhook.name): no answer from \(webhook.url): \(error)", permanent: false)
        }
        let code = Int(response.status.code)
        let answer = String(buffer: try await response.body.collect(upTo: 4096))
        guard (200..<300).contains(code) else {
            let permanent = (400..<500).contains(code) && code != 408 && code != 429
            throw DeliveryError(description: "\(webhook.name): HTTP \(code) \(answer.prefix(200))", permanent: permanent)
        }
    }
}

/// A failed attempt; `permanent` when another would fail the same way.
public struct DeliveryError: Error, CustomStringConvertible {
    public var description: String
    public var permanent: Bool
}

extension Sequence where Element == UInt8 {
    /// Lowercase hex: signatures, and the keys derived from a digest.
    var hex: String { ByteText.hex(self) }
}
