// CopyTarget: the routes of a node that receives a copy of a space over HTTP: the import of an
// export, log record frames, the copy's sequence (an empty log POST) and the copy's deletion.
// Every request carries the header that says whose copy it is, so the receiving node handles it
// locally although it does not own the space: `Mnemo-Move: <move id>` (a move's incoming copy,
// SpaceMover) or `Mnemo-Replica: <assignment version>` (a replica kept by the primary's
// Replicator, refused once the replica knows a newer version). A 429 or 503 answer is a Backoff
// (wait its Retry-After); any other unexpected status is a CopyRefusal with the server's error
// code, so callers can tell "no copy here" (404) from a log gap or a fenced sender (409).
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Mnemo
import NIOCore
import NIOHTTP1

/// The target answered 429 or 503: wait and start again.
struct Backoff: Error {
    let seconds: Double
    let reason: String
}

/// The target refused a copy request (a status other than the expected one, 429 and 503 aside).
struct CopyRefusal: Error, CustomStringConvertible {
    /// The HTTP status.
    let status: Int
    /// The server's error code (`unknownSpace`, `logGap`, `replicaFenced`, ...), empty if none.
    let code: String
    /// What was asked and what came back.
    let description: String
}

/// One node's copy routes for one space (see the file comment).
struct CopyTarget: Sendable {
    let http: HTTPClient
    let base: String
    let name: String
    /// The headers naming whose copy this is (and, for a replica, the primary's sequence).
    let headers: [(name: HTTPField.Name, value: String)]
    /// What errors call the copy ("move <id>", "replica").
    let purpose: String
    let authorization: String?

    var spaceURL: String { "\(base)/v1/spaces/\(SpaceRoutes.encode(name))" }

    func request(_ url: String, _ method: HTTPMethod, contentType: String? = nil) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        for header in headers { request.headers.add(name: header.name.rawName, value: header.value) }
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        return request
    }

    /// Throws Backoff for 429/503, CopyRefusal for any other status but `expected`.
    func check(_ response: HTTPClientResponse, _ what: String, expected: HTTPResponseStatus) async throws -> ByteBuffer {
        let body = try await response.body.collect(upTo: 1 << 20)
        if response.status == expected { return body }
        let text = String(buffer: body)
        if response.status == .tooManyRequests || response.status == .serviceUnavailable {
            let seconds = response.headers.first(name: "Retry-After").flatMap(Double.init) ?? 1
            throw Backoff(seconds: min(max(seconds, 0.05), 10), reason: "\(what): \(response.status.code) \(text)")
        }
        struct Answer: Decodable {
            struct Detail: Decodable { let code: String }
            let error: Detail
        }
        let code = (try? JSONDecoder().decode(Answer.self, from: Data(body.readableBytesView)))?.error.code ?? ""
        throw CopyRefusal(status: Int(response.status.code), code: code,
                          description: "\(purpose) of \(name): \(what) answered \(response.status.code) \(text)")
    }

    func importCopy<Chunks: AsyncSequence & Sendable>(_ chunks: Chunks) async throws where Chunks.Element == ByteBuffer {
        var request = request("\(spaceURL)/import", .PUT, contentType: "application/octet-stream")
        request.body = .stream(chunks, length: .unknown)
        let response = try await http.execute(request, timeout: .seconds(600))
        _ = try await check(response, "import", expected: .created)
    }

    /// POSTs frames; the target's sequence after them. Waits out 429/503 answers.
    func apply(_ batch: LogRecordBatch) async throws -> UInt64 {
        while true {
            var request = request("\(spaceURL)/log", .POST, contentType: LogRoutes.mediaType)
            request.body = .bytes(ByteBuffer(bytes: batch.bytes))
            let response = try await http.execute(request, timeout: .seconds(120))
            do {
                return try Self.sequence(try await check(response, "log", expected: .ok))
            } catch let error as Backoff {
                try await Task.sleep(for: .seconds(error.seconds))
            }
        }
    }

    /// The copy's sequence (an empty POST to its log).
    func sequence(timeout: TimeAmount = .seconds(60)) async throws -> UInt64 {
        var request = request("\(spaceURL)/log", .POST, contentType: LogRoutes.mediaType)
        request.body = .bytes(ByteBuffer())
        let response = try await http.execute(request, timeout: timeout)
        return try Self.sequence(try await check(response, "log sequence", expected: .ok))
    }

    /// Deletes the copy (absent is fine).
    func deleteCopy() async throws {
        let response = try await http.execute(request(spaceURL, .DELETE), timeout: .seconds(60))
        if response.status == .notFound { return }
        _ = try await check(response, "delete the copy", expected: .noContent)
    }

    static func sequence(_ body: ByteBuffer) throws -> UInt64 {
        struct Answer: Decodable { let sequence: UInt64 }
        return try JSONDecoder().decode(Answer.self, from: Data(body.readableBytesView)).sequence
    }
}
