// CrossSpaceSearchTests: `POST /v1/search` on a single node: hits of several spaces merged
// nearest first, each naming its space, at most k; spaces of different metrics or dimensions
// refused (400); a name listed twice, an unknown space and an empty list refused; and the cluster
// routes' single-node answers (status `mode: single`, drain 409 `notClustered`).
import Foundation
import Testing

@Suite("Cross-space search and cluster routes on a single node")
struct CrossSpaceSearchTests {
    @Test("hits of several spaces are merged nearest first, each naming its space")
    func merged() async throws {
        try await ServerHarness.run { server in
            try await server.createSpace("a", dimension: 2, metric: "l2")
            try await server.createSpace("b", dimension: 2, metric: "l2")
            try await server.createSpace("c", dimension: 2, metric: "cosine")
            try await server.createSpace("d", dimension: 3, metric: "l2")
            let a: [[String: Any]] = [["id": "a1", "vector": [1, 0]], ["id": "a4", "vector": [4, 0]]]
            let b: [[String: Any]] = [["id": "b2", "vector": [2, 0]], ["id": "b3", "vector": [3, 0]]]
            #expect(try await server.call(.post, "/v1/spaces/a/memories", json: ["memories": a]).status == .ok)
            #expect(try await server.call(.post, "/v1/spaces/b/memories", json: ["memories": b]).status == .ok)
            let answer = try await server.call(.post, "/v1/search", json: ["spaces": ["a", "b"], "vector": [0, 0], "k": 3])
            #expect(answer.status == .ok)
            let hits = answer.json["hits"] as? [[String: Any]] ?? []
            #expect(hits.map { "\($0["space"] as? String ?? "")/\($0["id"] as? String ?? "")" } == ["a/a1", "b/b2", "b/b3"])
            #expect(hits.map { $0["distance"] as? Double ?? -1 } == [1, 4, 9])

            let mixed = try await server.call(.post, "/v1/search", json: ["spaces": ["a", "c"], "vector": [1, 0]])
            #expect(mixed.status == .badRequest && ServerHarness.error(mixed.json).field == "spaces")
            let dimension = try await server.call(.post, "/v1/search", json: ["spaces": ["a", "d"], "vector": [1, 0]])
            #expect(dimension.status == .badRequest)
            let twice = try await server.call(.post, "/v1/search", json: ["spaces": ["a", "a"], "vector": [1, 0]])
            #expect(twice.status == .badRequest && ServerHarness.error(twice.json).field == "spaces")
            let none = try await server.call(.post, "/v1/search", json: ["spaces": [String](), "vector": [1, 0]])
            #expect(none.status == .badRequest)
            let unknown = try await server.call(.post, "/v1/search", json: ["spaces": ["a", "nope"], "vector": [1, 0]])
            #expect(unknown.status == .notFound)
        }
    }

    @Test("a single node reports itself and refuses to drain")
    func singleNodeCluster() async throws {
        try await ServerHarness.run { server in
            try await server.createSpace("a", dimension: 2)
            let status = try await server.call(.get, "/v1/cluster")
            #expect(status.status == .ok)
            #expect(status.json["mode"] as? String == "single")
            #expect((status.json["members"] as? [[String: Any]])?.first?["spaces"] as? Int == 1)
            let drain = try await server.call(.post, "/v1/cluster/drain")
            #expect(drain.status == .conflict && ServerHarness.error(drain.json).code == "notClustered")
        }
    }
}
