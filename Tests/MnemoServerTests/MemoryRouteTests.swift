// MemoryRouteTests: single memories and batches over real HTTP: upsert (201 then 200), get with
// text, binary content, metadata and both vector forms (vectorBase64 round-trips bit for bit),
// delete, 404s, 400s naming the field, batches that are all-or-nothing (a bad item or an id
// already present changes nothing), upsert batches, and the body limit (413 before reading).
import Foundation
import Testing

@Suite("Memory routes")
struct MemoryRouteTests {
    static func base64(_ values: [Float]) -> String {
        var data = Data()
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data.base64EncodedString()
    }

    @Test("put, get, upsert, delete")
    func single() async throws {
        try await ServerHarness.run { server in
            try await server.createSpace("s", dimension: 3, metric: "l2")
            let first = try await server.call(.put, "/v1/spaces/s/memories/m1",
                                              json: ["vector": [1, 2, 3], "text": "hello",
                                                     "metadata": ["kind": "fact", "n": 3, "tags": ["a", "b"], "ok": true, "d": 2.5]])
            #expect(first.status == .created)
            #expect(first.json["replaced"] as? Bool == false)
            let got = try await server.call(.get, "/v1/spaces/s/memories/m1")
            #expect(got.status == .ok)
            #expect(got.json["text"] as? String == "hello")
            #expect(got.json["vector"] as? [Double] == [1, 2, 3])
            let metadata = got.json["metadata"] as? [String: Any]
            #expect(metadata?["kind"] as? String == "fact")
            #expect(metadata?["n"] as? Int == 3)
            #expect(metadata?["tags"] as? [String] == ["a", "b"])
            #expect(metadata?["ok"] as? Bool == true)
            #expect(metadata?["d"] as? Double == 2.5)
            #expect(got.json["createdAt"] is String)
            let second = try await server.call(.put, "/v1/spaces/s/memories/m1", json: ["vector": [3, 2, 1], "content": "AP8="])
            #expect(second.status == .ok)
            #expect(second.json["replaced"] as? Bool == true)
            let binary = try await server.call(.get, "/v1/spaces/s/memories/m1?include=content")
            #expect(binary.json["content"] as? String == "AP8=")
            #expect(binary.json["vector"] == nil)
            #expect(binary.json["metadata"] == nil)
            let dated = try await server.call(.put, "/v1/spaces/s/memories/m2",
                                              json: ["vector": [1, 1, 1], "createdAt": "2001-09-09T01:46:40Z"])
            #expect(dated.status == .created)
            let read = try await server.call(.get, "/v1/spaces/s/memories/m2")
            #expect((read.json["createdAt"] as? String)?.hasPrefix("2001-09-09T01:46:40") == true)
            let deleted = try await server.call(.delete, "/v1/spaces/s/memories/m1")
            #expect(deleted.status == .noContent)
            let missing = try await server.call(.get, "/v1/spaces/s/memories/m1")
            #expect(missing.status == .notFound)
            #expect(ServerHarness.error(missing.json).code == "notFound")
            let deleteMissing = try await server.call(.delete, "/v1/spaces/s/memories/m1")
            #expect(deleteMissing.status == .notFound)
            let unknownSpace = try await server.call(.put, "/v1/spaces/nope/memories/m1", json: ["vector": [1, 2, 3]])
            #expect(unknownSpace.status == .notFound)
            #expect(ServerHarness.error(unknownSpace.json).code == "unknownSpace")
        }
    }

    @Test("vectorBase64 round-trips bit for bit")
    func vectorBase64() async throws {
        try await ServerHarness.run { server in
            try await server.createSpace("b", dimension: 4, metric: "l2")
            let vector: [Float] = [0.1, -2.5e-7, 3.4028235e38, 1]
            let encoded = Self.base64(vector)
            let put = try await server.call(.put, "/v1/spaces/b/memories/v", json: ["vectorBase64": encoded])
            #expect(put.status == .created)
            let got = try await server.call(.get, "/v1/spaces/b/memories/v?vectorFormat=base64")
            #expect(got.json["vectorBase64"] as? String == encoded)
            let search = try await server.call(.post, "/v1/spaces/b/search",
                                               json: ["vectorBase64": encoded, "k": 1, "include": ["vector"], "vectorFormat": "base64"])
            let hits = search.json["hits"] as? [[String: Any]]
            #expect(hits?.first?["vectorBase64"] as? String == encoded)
            let ragged = try await server.call(.put, "/v1/spaces/b/memories/w", json: ["vectorBase64": "AAAA"])
            #expect(ragged.status == .badRequest)
            #expect(ServerHarness.error(ragged.json).field == "vectorBase64")
            let both = try await server.call(.put, "/v1/spaces/b/memories/w", json: ["vectorBase64": encoded, "vector": [1, 2, 3, 4]])
            #expect(both.status == .badRequest)
        }
    }

    @Test("bad memories are 400 naming the field, and write nothing")
    func badInput() async throws {
        try await ServerHarness.run { server in
            try await server.createSpace("c", dimension: 2)
            let cases: [([String: Any], String)] = [
                (["vector": [1, 2, 3]], "vector"),
                ([:], "vector"),
                (["vector": [0, 0]], "vector"),
                (["vector": ["a", 1]], "vector[0]"),
                (["vector": [1, 0], "text": "t", "content": "AA=="], "text"),
                (["vector": [1, 0], "content": "***"], "content"),
                (["vector": [1, 0], "createdAt": "yesterday"], "createdAt"),
                (["vector": [1, 0], "metadata": ["$bad": 1]], "metadata.$bad"),
                (["vector": [1, 0], "metadata": ["nested": ["a": 1]]], "metadata.nested"),
                (["vector": [1, 0], "metadata": ["mixed": ["a", 1]]], "metadata.mixed"),
            ]
            for (body, field) in cases {
                let response = try await server.call(.put, "/v1/spaces/c/memories/x", json: body)
                #expect(response.status == .badRequest, "\(body): \(response.json)")
                #expect(ServerHarness.error(response.json).field == field, "\(body): \(response.json)")
            }
            let stats = try await server.call(.get, "/v1/spaces/c")
            #expect(stats.json["count"] as? Int == 0)
        }
    }

    @Test("batches are all-or-nothing")
    func batches() async throws {
        try await ServerHarness.run { server in
            try await server.createSpace("d", dimension: 2)
            let good: [[String: Any]] = (0..<10).map { ["id": "m\($0)", "vector": [1, Double($0) + 1], "text": "t\($0)"] }
            var bad = good
            bad[7]["vector"] = [1, 2, 3]
            let refused = try await server.call(.post, "/v1/spaces/d/memories", json: ["memories": bad])
            #expect(refused.status == .badRequest)
            #expect(ServerHarness.error(refused.json).field == "memories[7].vector")
            var badMetadata = good
            badMetadata[4]["metadata"] = ["$x": 1]
            let refusedMetadata = try await server.call(.post, "/v1/spaces/d/memories", json: ["memories": badMetadata])
            #expect(refusedMetadata.status == .badRequest)
            #expect(ServerHarness.error(refusedMetadata.json).field == "memories[4].metadata.$x")
            #expect(try await server.call(.get, "/v1/spaces/d").json["count"] as? Int == 0)

            let accepted = try await server.call(.post, "/v1/spaces/d/memories", json: ["memories": good])
            #expect(accepted.status == .ok)
            #expect(accepted.json["inserted"] as? Int == 10)
            // One id already present: 409 naming the item, and the new ones are not written.
            let overlapping: [[String: Any]] = [["id": "new1", "vector": [1, 1]], ["id": "m3", "vector": [1, 1]]]
            let conflict = try await server.call(.post, "/v1/spaces/d/memories", json: ["memories": overlapping])
            #expect(conflict.status == .conflict)
            #expect(ServerHarness.error(conflict.json).field == "memories[1]")
            #expect(try await server.call(.get, "/v1/spaces/d/memories/new1").status == .notFound)
            let repeated: [[String: Any]] = [["id": "r", "vector": [1, 1]], ["id": "r", "vector": [1, 2]]]
            let twice = try await server.call(.post, "/v1/spaces/d/memories", json: ["memories": repeated])
            #expect(twice.status == .conflict)
            #expect(try await server.call(.get, "/v1/spaces/d").json["count"] as? Int == 10)

            let upserted = try await server.call(.post, "/v1/spaces/d/memories", json: ["memories": overlapping, "upsert": true])
            #expect(upserted.status == .ok)
            #expect(upserted.json["inserted"] as? Int == 1)
            #expect(upserted.json["replaced"] as? Int == 1)
            #expect(try await server.call(.get, "/v1/spaces/d").json["count"] as? Int == 11)
            var badUpsert = overlapping
            badUpsert.append(["id": "z", "vector": [1, 1], "metadata": ["createdAt": 1]])
            let refusedUpsert = try await server.call(.post, "/v1/spaces/d/memories", json: ["memories": badUpsert, "upsert": true])
            #expect(refusedUpsert.status == .badRequest)
            #expect(ServerHarness.error(refusedUpsert.json).field?.hasPrefix("memories[2].metadata") == true)
            #expect(try await server.call(.get, "/v1/spaces/d/memories/z").status == .notFound)
        }
    }

    @Test("an upsert batch larger than its window replaces and inserts every item")
    func largeUpsertBatch() async throws {
        try await ServerHarness.run { server in
            try await server.createSpace("u", dimension: 2, metric: "l2")
            let first: [[String: Any]] = (0..<100).map { ["id": "m\($0)", "vector": [Double($0), 0], "text": "old \($0)"] }
            #expect(try await server.call(.post, "/v1/spaces/u/memories", json: ["memories": first]).status == .ok)
            let second: [[String: Any]] = (50..<200).map { ["id": "m\($0)", "vector": [Double($0), 1], "text": "new \($0)"] }
            let upserted = try await server.call(.post, "/v1/spaces/u/memories", json: ["memories": second, "upsert": true])
            #expect(upserted.status == .ok)
            #expect(upserted.json["replaced"] as? Int == 50)
            #expect(upserted.json["inserted"] as? Int == 100)
            #expect(try await server.call(.get, "/v1/spaces/u").json["count"] as? Int == 200)
            for i in [0, 49, 50, 99, 100, 199] {
                let got = try await server.call(.get, "/v1/spaces/u/memories/m\(i)?include=content")
                #expect(got.json["text"] as? String == (i < 50 ? "old \(i)" : "new \(i)"))
            }
        }
    }

    @Test("bodies over the limit are 413")
    func bodyLimit() async throws {
        try await ServerHarness.run(configure: { $0.maxBodyBytes = 1024 }) { server in
            try await server.createSpace("e", dimension: 2)
            let big = String(repeating: "x", count: 4096)
            let response = try await server.call(.put, "/v1/spaces/e/memories/m", json: ["vector": [1, 0], "text": big])
            #expect(response.status == .contentTooLarge)
            #expect(ServerHarness.error(response.json).code == "payloadTooLarge")
            #expect(try await server.call(.get, "/v1/spaces/e").json["count"] as? Int == 0)
        }
    }

    @Test("content over the engine's limit is 413 naming the field")
    func contentLimit() async throws {
        try await ServerHarness.run(configure: { $0.databaseOptions.maxContentBytes = 16 }) { server in
            try await server.createSpace("f", dimension: 2)
            let response = try await server.call(.put, "/v1/spaces/f/memories/m", json: ["vector": [1, 0], "text": String(repeating: "y", count: 17)])
            #expect(response.status == .contentTooLarge)
            #expect(ServerHarness.error(response.json).field == "text")
        }
    }
}
