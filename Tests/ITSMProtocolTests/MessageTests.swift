import Foundation
import ITSMProtocol
import Testing

@Suite struct MessageTests {
    private func decode(_ line: String) throws(Message.DecodingFailure) -> Message {
        try Message.decode(Data(line.utf8))
    }

    @Test func decodesRequestNotificationAndResponse() throws {
        #expect(try decode(#"{"jsonrpc":"2.0","id":7,"method":"incident.get","params":{"id":"x"},"meta":{"actor":"token:admin"}}"#)
            == .request(JSONRPCRequest(id: .number(7), method: "incident.get", params: ["id": "x"], meta: RequestMeta(actor: "token:admin"))))
        #expect(try decode(#"{"jsonrpc":"2.0","id":"a-1","method":"$/ping"}"#)
            == .request(JSONRPCRequest(id: .string("a-1"), method: "$/ping")))
        #expect(try decode(#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#)
            == .notification(JSONRPCNotification(method: "initialized", params: [:])))
        #expect(try decode(#"{"jsonrpc":"2.0","id":7,"result":null}"#)
            == .response(JSONRPCResponse(id: .number(7), result: .success(.null))))
        let error = try decode(#"{"jsonrpc":"2.0","id":7,"error":{"code":-32803,"message":"no","data":{"kind":"incident.not_found","retryable":false}}}"#)
        guard case .response(let response) = error, case .failure(let failure) = response.result else {
            Issue.record("expected an error response")
            return
        }
        #expect(failure.code == .requestFailed)
        #expect(failure.kind == "incident.not_found")
        #expect(!failure.isRetryable)
    }

    @Test func ignoresUnknownMembers() throws {
        #expect(try decode(#"{"jsonrpc":"2.0","id":1,"method":"x.y","future":{"a":1}}"#)
            == .request(JSONRPCRequest(id: .number(1), method: "x.y")))
    }

    @Test(arguments: [
        ("not json", ErrorCode.parseError),
        (#"{"jsonrpc":"2.0","id":1,"method":"x.y""#, .parseError),
        ("[1,2]", .invalidRequest),
        (#"{"id":1,"method":"x.y"}"#, .invalidRequest),
        (#"{"jsonrpc":"1.0","id":1,"method":"x.y"}"#, .invalidRequest),
        (#"{"jsonrpc":"2.0","id":null,"method":"x.y"}"#, .invalidRequest),
        (#"{"jsonrpc":"2.0","id":1,"method":"x.y","params":3}"#, .invalidRequest),
        (#"{"jsonrpc":"2.0","id":1,"method":42}"#, .invalidRequest),
        (#"{"jsonrpc":"2.0","id":1}"#, .invalidRequest),
        (#"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"m"}}"#, .invalidRequest),
    ])
    func rejectsWhatIsNotAMessage(line: String, code: ErrorCode) {
        #expect {
            _ = try decode(line)
        } throws: { error in
            (error as? Message.DecodingFailure)?.error.code == code
        }
    }

    @Test func invalidRequestKeepsItsIDForTheResponse() {
        do {
            _ = try decode(#"{"jsonrpc":"2.0","id":9,"method":"x.y","params":"s"}"#)
            Issue.record("expected a failure")
        } catch {
            #expect(error.id == .number(9))
        }
    }

    @Test func encodesCompactSingleLines() throws {
        let request = Message.request(JSONRPCRequest(id: .number(1), method: "incident.create",
                                                      params: ["title": "Mail down\nagain"]))
        let line = try request.encodedLine()
        #expect(String(decoding: line, as: UTF8.self)
            == #"{"id":1,"jsonrpc":"2.0","method":"incident.create","params":{"title":"Mail down\nagain"}}"# + "\n")
        #expect(line.dropLast().contains(UInt8(ascii: "\n")) == false)
        #expect(try Message.decode(line.dropLast()) == request)

        let nullResult = Message.response(JSONRPCResponse(id: .number(1), result: .success(.null)))
        #expect(String(decoding: try nullResult.encodedLine(), as: UTF8.self) == #"{"id":1,"jsonrpc":"2.0","result":null}"# + "\n")
        let parseError = Message.response(JSONRPCResponse(id: nil, result: .failure(ResponseError(code: .parseError, message: "bad"))))
        #expect(String(decoding: try parseError.encodedLine(), as: UTF8.self)
            == #"{"error":{"code":-32700,"message":"bad"},"id":null,"jsonrpc":"2.0"}"# + "\n")
        let withMeta = Message.request(JSONRPCRequest(id: .string("r"), method: "a.b", params: [:], meta: RequestMeta(actor: "token:x")))
        #expect(String(decoding: try withMeta.encodedLine(), as: UTF8.self)
            == #"{"id":"r","jsonrpc":"2.0","meta":{"actor":"token:x"},"method":"a.b","params":{}}"# + "\n")
        let notification = Message.notification(JSONRPCNotification(method: "exit", params: nil))
        #expect(String(decoding: try notification.encodedLine(), as: UTF8.self) == #"{"jsonrpc":"2.0","method":"exit"}"# + "\n")
    }

    @Test func jsonValueConvertsTypedValues() throws {
        struct Params: Codable, Equatable { var title: String; var impact: Int; var tags: [String]; var at: Date }
        let params = Params(title: "t", impact: 2, tags: ["a"], at: Date(timeIntervalSince1970: 1_795_454_529.25))
        let value = try JSONValue(encoding: params)
        #expect(value["title"] == "t")
        #expect(value["impact"]?.intValue == 2)
        #expect(value["at"]?.stringValue == "2026-11-23T17:22:09.250Z")
        #expect(try value.decode(Params.self) == params)
        #expect(JSONValue.double(3.0).intValue == 3)
    }
}

@Suite struct ManifestTests {
    @Test func acceptsAWellFormedManifest() {
        let manifest = InitializeResult(plugin: PeerInfo(name: "incident", version: "1.0.0"), methods: [
            MethodDescriptor(name: "incident.create", permission: "incident.write", idempotent: false),
            MethodDescriptor(name: "incident.get", permission: "incident.read", idempotent: true),
        ], subscribes: ["problem.known_error_published"], publishes: ["incident.created"], schema: "incident")
        #expect(manifest.validationProblems().isEmpty)
    }

    @Test func namesEachProblem() {
        let manifest = InitializeResult(plugin: PeerInfo(name: "Bad Name", version: "1"), methods: [
            MethodDescriptor(name: "$/ping", permission: "x", idempotent: true),
            MethodDescriptor(name: "create", permission: "x", idempotent: true),
            MethodDescriptor(name: "a.b", permission: "", idempotent: true),
            MethodDescriptor(name: "a.b", permission: "x", idempotent: true),
        ], subscribes: ["nodot"])
        let problems = manifest.validationProblems()
        #expect(problems.count == 6)
        #expect(problems.contains { $0.contains("reserved") })
        #expect(problems.contains { $0.contains("declared twice") })
    }
}
