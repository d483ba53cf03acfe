// ServerHarness: runs a real MnemoHTTPServer on 127.0.0.1:0 (Hummingbird's live test framework)
// for one test, waits until its database is open, and gives the test small JSON helpers.
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Mnemo
import MnemoServer
import NIOCore
import Testing

/// A running test server and helpers to call it.
struct ServerHarness {
    let client: any TestClientProtocol

    /// Runs `body` against a fresh in-memory dev server (or one built from `configure`).
    static func run(configure: (inout ServerConfiguration) -> Void = { _ in },
                    openDatabase: (@Sendable () async throws -> Database)? = nil,
                    waitReady: Bool = true,
                    _ body: @escaping @Sendable (ServerHarness) async throws -> Void) async throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.dev = true
        configuration.databaseOptions.workers = 2
        configuration.databaseOptions.pinWorkers = false
        configure(&configuration)
        var logger = Logger(label: "mnemo.test")
        logger.logLevel = .warning
        let server = MnemoHTTPServer(configuration: configuration, logger: logger, openDatabase: openDatabase)
        let application = try await server.makeApplication()
        try await application.test(.live) { client in
            let harness = ServerHarness(client: client)
            if waitReady { try await harness.waitUntilReady() }
            try await body(harness)
        }
    }

    /// Polls /readyz until it answers 200 (recovery of an empty database is immediate).
    func waitUntilReady() async throws {
        for _ in 0..<2000 {
            let response = try await client.execute(uri: "/readyz", method: .get)
            if response.status == .ok { return }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        Issue.record("the server never became ready")
    }

    /// A request with an optional JSON body; the status and the parsed JSON response.
    @discardableResult
    func call(_ method: HTTPRequest.Method, _ uri: String, json: Any? = nil, raw: [UInt8]? = nil,
              headers: HTTPFields = [:]) async throws -> (status: HTTPResponse.Status, json: [String: Any], body: [UInt8], headers: HTTPFields) {
        var body: ByteBuffer?
        var headers = headers
        if let json {
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
            headers[.contentType] = "application/json"
        } else if let raw {
            body = ByteBuffer(bytes: raw)
            headers[.contentType] = "application/octet-stream"
        }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
        let bytes = Array(response.body.readableBytesView)
        let parsed = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
        return (response.status, parsed, bytes, response.headers)
    }

    /// Creates a space (expecting 201).
    func createSpace(_ name: String, dimension: Int, metric: String = "cosine") async throws {
        let response = try await call(.post, "/v1/spaces", json: ["name": name, "dimension": dimension, "metric": metric])
        #expect(response.status == .created, "create \(name): \(response.json)")
    }

    /// The error object of a response.
    static func error(_ json: [String: Any]) -> (code: String?, field: String?) {
        let error = json["error"] as? [String: Any]
        return (error?["code"] as? String, error?["field"] as? String)
    }

    /// A space name percent-encoded for a path.
    static func path(_ name: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name
    }
}
