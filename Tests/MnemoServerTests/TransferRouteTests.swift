// TransferRouteTests: a space exported through the streamed GET route and imported through the
// PUT route under another name answers the same get and search, also when the export spans many
// 64 KiB chunks (its bytes equal the engine's whole export); importing over an existing name is
// 409, truncated, damaged and trailing-byte streams are 400, an upload over --max-import-bytes
// is 413, and none creates a space.
import Foundation
@testable import MnemoServer
import Testing

@Suite("Export and import routes")
struct TransferRouteTests {
    @Test("export then import round-trips through the streamed routes")
    func roundTrip() async throws {
        try await ServerHarness.run { server in
            try await server.createSpace("tenant/src", dimension: 4, metric: "l2")
            var memories: [[String: Any]] = []
            for i in 0..<300 {
                let x = Double(i)
                memories.append(["id": "m\(i)", "vector": [x, x.squareRoot(), sin(x), cos(x)],
                                 "text": "memory \(i)", "metadata": ["i": i, "even": i % 2 == 0]])
            }
            #expect(try await server.call(.post, "/v1/spaces/tenant%2Fsrc/memories", json: ["memories": memories]).status == .ok)
            #expect(try await server.call(.put, "/v1/spaces/tenant%2Fsrc/links", json: ["from": "m1", "to": "m2"]).status == .created)
            let export = try await server.call(.get, "/v1/spaces/tenant%2Fsrc/export")
            #expect(export.status == .ok)
            #expect(export.headers[.contentType] == "application/octet-stream")
            #expect(export.body.count > 300 * 16)
            let imported = try await server.call(.put, "/v1/spaces/tenant%2Fcopy/import", raw: export.body)
            #expect(imported.status == .created, "\(imported.json)")
            #expect(imported.json["count"] as? Int == 300)
            #expect(imported.json["linkCount"] as? Int == 1)
            let query: [String: Any] = ["vector": [10, 3, 0.5, -0.5], "k": 5]
            let a = try await server.call(.post, "/v1/spaces/tenant%2Fsrc/search", json: query)
            let b = try await server.call(.post, "/v1/spaces/tenant%2Fcopy/search", json: query)
            let idsA = (a.json["hits"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            let idsB = (b.json["hits"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(idsA.count == 5 && idsA == idsB)
            let got = try await server.call(.get, "/v1/spaces/tenant%2Fcopy/memories/m7")
            #expect(got.json["text"] as? String == "memory 7")
            #expect((got.json["metadata"] as? [String: Any])?["i"] as? Int == 7)

            let duplicate = try await server.call(.put, "/v1/spaces/tenant%2Fcopy/import", raw: export.body)
            #expect(duplicate.status == .conflict)
            let truncated = try await server.call(.put, "/v1/spaces/broken/import", raw: Array(export.body.prefix(export.body.count / 2)))
            #expect(truncated.status == .badRequest)
            var flipped = export.body
            flipped[flipped.count / 2] ^= 0x40
            let damaged = try await server.call(.put, "/v1/spaces/broken/import", raw: flipped)
            #expect(damaged.status == .badRequest)
            #expect(try await server.call(.get, "/v1/spaces/broken").status == .notFound)
        }
    }

    @Test("a multi-chunk export streams whole and imports back; bad uploads create nothing")
    func largeRoundTrip() async throws {
        try await ServerHarness.run(configure: { $0.maxImportBytes = 4 << 20 }) { server in
            try await server.createSpace("big", dimension: 16, metric: "l2")
            for start in stride(from: 0, to: 3000, by: 500) {
                var memories: [[String: Any]] = []
                for i in start..<(start + 500) {
                    let vector: [Double] = (0..<16).map { (j: Int) -> Double in Double((j * 31 + i * 7) % 97) / 97 }
                    let text = String(repeating: "memory \(i) ", count: 4)
                    memories.append(["id": "m\(i)", "vector": vector, "text": text])
                }
                #expect(try await server.call(.post, "/v1/spaces/big/memories", json: ["memories": memories]).status == .ok)
            }
            let export = try await server.call(.get, "/v1/spaces/big/export")
            #expect(export.status == .ok)
            #expect(export.body.count > 4 * TransferRoutes.chunkBytes)
            let imported = try await server.call(.put, "/v1/spaces/copy/import", raw: export.body)
            #expect(imported.status == .created, "\(imported.json)")
            #expect(imported.json["count"] as? Int == 3000)
            #expect(try await server.call(.get, "/v1/spaces/copy/export").body == export.body)

            let trailing = try await server.call(.put, "/v1/spaces/broken/import", raw: export.body + [0, 1, 2])
            #expect(trailing.status == .badRequest)
            #expect(ServerHarness.error(trailing.json).code == "corrupt")
            let empty = try await server.call(.put, "/v1/spaces/broken/import", raw: [])
            #expect(empty.status == .badRequest)
            let over = try await server.call(.put, "/v1/spaces/broken/import", raw: export.body + [UInt8](repeating: 0, count: 4 << 20))
            #expect(over.status == .contentTooLarge)
            #expect(ServerHarness.error(over.json).code == "payloadTooLarge")
            #expect(try await server.call(.get, "/v1/spaces/broken").status == .notFound)
        }
    }
}
