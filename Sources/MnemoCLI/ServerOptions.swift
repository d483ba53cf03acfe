// ServerOptions: the options every client command of a running server shares (--url, --token)
// and the request bodies they send, as the server's OpenAPI document describes them.
import ArgumentParser
import Foundation
import NIOHTTP1

/// Where the server is and the credential to send.
struct ServerOptions: ParsableArguments {
    @Option(help: "The server's base URL.")
    var url: String = "http://127.0.0.1:7600"

    @Option(help: "A bearer credential (the admin key or a token); also MNEMO_TOKEN. Not needed against `mnemo serve --dev`.")
    var token: String?

    /// The token option, else the MNEMO_TOKEN environment variable.
    var credential: String? { token ?? ProcessInfo.processInfo.environment["MNEMO_TOKEN"] }

    /// A client with `connections` keep-alive connections.
    func client(connections: Int = 1) -> ServerClient {
        ServerClient(url: url, token: credential, connections: connections)
    }

    /// Sends one request on a client of its own, closed before returning.
    func request(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil) async throws -> ServerClient.Reply {
        let client = client()
        do {
            let reply = try await client.send(method, path, body: body)
            await client.shutdown()
            return reply
        } catch {
            await client.shutdown()
            throw error
        }
    }
}

/// `POST /v1/spaces`.
struct CreateSpaceBody: Encodable {
    var name: String
    var dimension: Int
    var metric: String
}

/// One memory of a batch or a PUT.
struct MemoryBody: Encodable {
    var id: String?
    var vectorBase64: String
    var text: String?
    var metadata: [String: String]?
}

/// `POST /v1/spaces/{space}/memories`.
struct BatchBody: Encodable {
    var memories: [MemoryBody]
    var upsert: Bool?
}

/// `POST /v1/spaces/{space}/search`.
struct SearchBody: Encodable {
    var vectorBase64: String
    var k: Int
    var ef: Int?
    var include: [String]?
}

/// Parses a vector written as comma-separated numbers.
func parseVector(_ text: String) throws -> [Float] {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    var vector: [Float] = []
    for part in parts {
        guard let value = Float(part) else { throw ValidationError("not a number in the vector: \(part)") }
        vector.append(value)
    }
    if vector.isEmpty { throw ValidationError("the vector is empty") }
    return vector
}
