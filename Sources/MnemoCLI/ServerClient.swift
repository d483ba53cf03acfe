// ServerClient: the CLI's connection to a running `mnemo serve` (async-http-client): one pooled
// HTTP/1.1 client with keep-alive, up to `connections` sockets to the server, a bearer token on
// every request, and the routes of the server's OpenAPI document (Sources/MnemoServer/
// openapi.json) as small helpers. Space names are percent-encoded into paths (they may hold
// '/'), vectors travel as vectorBase64 (little-endian float32).
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A client of one Mnemo server.
final class ServerClient: Sendable {
    /// A response: its status and body bytes.
    struct Reply: Sendable {
        let status: Int
        let body: [UInt8]
        /// The `Mnemo-Assignment-Version` a cluster node served the request under.
        var assignmentVersion: UInt64? = nil
        /// The body as text (for messages).
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// A non-2xx answer: the status and the server's message.
    struct Failure: Error, CustomStringConvertible {
        let status: Int
        let message: String
        var description: String { "HTTP \(status): \(message)" }
    }

    let base: String
    let token: String?
    let http: HTTPClient
    /// Largest response body read (a search page, a space listing).
    static let responseBytesMax = 64 << 20

    /// A client of the server at `url` (e.g. http://127.0.0.1:7600) with at most `connections`
    /// keep-alive connections.
    init(url: String, token: String?, connections: Int) {
        var trimmed = url
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        base = trimmed
        self.token = token
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60),
                                             concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connections))
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(120))
        configuration.decompression = .disabled
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes every connection (call once, before exit).
    func shutdown() async {
        try? await http.shutdown()
    }

    /// Sends one request; `body` is JSON when given.
    func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer " + token) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await http.execute(request, timeout: .seconds(120))
        let buffer = try await response.body.collect(upTo: Self.responseBytesMax)
        return Reply(status: Int(response.status.code), body: Array(buffer.readableBytesView),
                     assignmentVersion: response.headers.first(name: "Mnemo-Assignment-Version").flatMap { UInt64($0) })
    }

    /// Sends and decodes a 2xx JSON answer, or throws the server's error.
    func json<T: Decodable>(_ type: T.Type, _ method: HTTPMethod, _ path: String,
                            body: [UInt8]? = nil) async throws -> T {
        let reply = try await send(method, path, body: body)
        guard (200..<300).contains(reply.status) else { throw Self.failure(reply) }
        return try JSONDecoder().decode(T.self, from: Data(reply.body))
    }

    /// The error of a non-2xx reply: the message of `{error: {code, message}}` when present.
    static func failure(_ reply: Reply) -> Failure {
        struct Body: Decodable {
            struct Inner: Decodable {
                var code: String?
                var message: String?
                var field: String?
            }
            var error: Inner
        }
        if let body = try? JSONDecoder().decode(Body.self, from: Data(reply.body)) {
            let field = body.error.field.map { " (field \($0))" } ?? ""
            return Failure(status: reply.status,
                           message: "\(body.error.code ?? "error"): \(body.error.message ?? "")\(field)")
        }
        return Failure(status: reply.status, message: String(reply.text.prefix(500)))
    }

    /// `/v1/spaces/<name>` with the name percent-encoded (a '/' in it included).
    static func spacePath(_ name: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return "/v1/spaces/" + (name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name)
    }

    /// Percent-encodes a query value or an id for a path.
    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// A vector as vectorBase64: little-endian float32.
    static func base64(_ vector: some Collection<Float>) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(vector.count * 4)
        for value in vector {
            let bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        return Data(bytes).base64EncodedString()
    }

    /// JSON bytes of an encodable value.
    static func encodeJSON(_ value: some Encodable) throws -> [UInt8] {
        Array(try JSONEncoder().encode(value))
    }
}

extension ServerClient {
    /// The methods the load generator sends (a Sendable name for NIO's method).
    enum HTTPMethodName: Sendable {
        case post, put

        var nio: HTTPMethod { self == .post ? .POST : .PUT }
    }
}
