// BatchLoader: sends memories to a running server in batches (POST /v1/spaces/{space}/memories
// with vectorBase64), a fixed number of batches in flight on keep-alive connections, creating
// the space first when it is absent. Used by `mnemo load` and by `mnemo load-test`'s ingest
// phase, so both measure the same path.
import Foundation
import Mnemo

/// Batched ingest into one space of a running server.
struct BatchLoader: Sendable {
    let client: ServerClient
    let space: String
    let batchSize: Int
    let inFlight: Int
    /// A batch answered 429 (back-pressure) is sent again after this pause, at most this often.
    static let retryPause: Duration = .milliseconds(20)
    static let retriesMax = 500

    /// Creates the space (`dimension`, `metric`) unless it exists (409 is fine).
    func ensureSpace(dimension: Int, metric: String) async throws {
        let body = try ServerClient.encodeJSON(CreateSpaceBody(name: space, dimension: dimension, metric: metric))
        let reply = try await client.send(.POST, "/v1/spaces", body: body)
        guard (200..<300).contains(reply.status) || reply.status == 409 else { throw ServerClient.failure(reply) }
    }

    /// Sends rows `rows` of `vectors` as memories with `id(row)` and `text(row)`; reports progress
    /// after each batch. Returns the number sent. Throws the first failed batch's error.
    func load(vectors: VectorRows, rows: Range<Int>, id: @escaping @Sendable (Int) -> String,
              text: @escaping @Sendable (Int) -> String?, upsert: Bool = false,
              progress: (@Sendable (Int) -> Void)? = nil) async throws -> Int {
        let batches = stride(from: rows.lowerBound, to: rows.upperBound, by: batchSize).map {
            $0..<min($0 + batchSize, rows.upperBound)
        }
        var sent = 0
        try await withThrowingTaskGroup(of: Int.self) { group in
            var next = 0
            func submit() {
                guard next < batches.count else { return }
                let range = batches[next]
                next += 1
                group.addTask {
                    let body = try ServerClient.encodeJSON(BatchBody(
                        memories: range.map { row in
                            MemoryBody(id: id(row), vectorBase64: ServerClient.base64(vectors[row]), text: text(row))
                        },
                        upsert: upsert ? true : nil))
                    try await send(body)
                    return range.count
                }
            }
            for _ in 0..<max(1, inFlight) { submit() }
            while let done = try await group.next() {
                sent += done
                progress?(sent)
                submit()
            }
        }
        return sent
    }

    private func send(_ body: [UInt8]) async throws {
        let path = ServerClient.spacePath(space) + "/memories"
        for _ in 0..<Self.retriesMax {
            let reply = try await client.send(.POST, path, body: body)
            if (200..<300).contains(reply.status) { return }
            if reply.status != 429 { throw ServerClient.failure(reply) }
            try await Task.sleep(for: Self.retryPause)
        }
        throw ServerClient.Failure(status: 429, message: "the server stayed busy (429) for \(Self.retriesMax) tries")
    }
}
