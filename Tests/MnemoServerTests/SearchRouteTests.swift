// SearchRouteTests: search (hits nearest first, score = 1 − distance under cosine, the include
// options, k and filter checked), recall over links, links created, re-weighted and removed
// (404 for a missing link), against a space built through the HTTP routes.
import Foundation
import Testing

@Suite("Search, recall and link routes")
struct SearchRouteTests {
    @Test("search returns the nearest first with score and include")
    func search() async throws {
        try await ServerHarness.run { server in
            try await server.createSpace("s", dimension: 2)
            let memories: [[String: Any]] = [
                ["id": "east", "vector": [1, 0], "text": "east", "metadata": ["kind": "dir"]],
                ["id": "north", "vector": [0, 1], "text": "north"],
                ["id": "northeast", "vector": [1, 1], "text": "northeast"],
            ]
            #expect(try await server.call(.post, "/v1/spaces/s/memories", json: ["memories": memories]).status == .ok)
            let response = try await server.call(.post, "/v1/spaces/s/search", json: ["vector": [1, 0.1], "k": 2])
            #expect(response.status == .ok)
            let hits = response.json["hits"] as? [[String: Any]] ?? []
            #expect(hits.map { $0["id"] as? String } == ["east", "northeast"])
            for hit in hits {
                let distance = hit["distance"] as? Double ?? .nan
                let score = hit["score"] as? Double ?? .nan
                #expect(abs(score - (1 - distance)) < 1e-6)
            }
            #expect(hits.first?["text"] as? String == "east")
            #expect((hits.first?["metadata"] as? [String: Any])?["kind"] as? String == "dir")
            #expect(hits.first?["vector"] == nil)
            let bare = try await server.call(.post, "/v1/spaces/s/search", json: ["vector": [1, 0], "k": 1, "include": [String]()])
            let bareHit = (bare.json["hits"] as? [[String: Any]])?.first
            #expect(bareHit?["text"] == nil && bareHit?["metadata"] == nil && bareHit?["id"] as? String == "east")
            let withVector = try await server.call(.post, "/v1/spaces/s/search", json: ["vector": [1, 0], "k": 1, "include": ["vector"]])
            #expect(((withVector.json["hits"] as? [[String: Any]])?.first?["vector"] as? [Double])?.count == 2)

            let badK = try await server.call(.post, "/v1/spaces/s/search", json: ["vector": [1, 0], "k": 0])
            #expect(badK.status == .badRequest && ServerHarness.error(badK.json).field == "k")
            let badInclude = try await server.call(.post, "/v1/spaces/s/search", json: ["vector": [1, 0], "include": ["everything"]])
            #expect(ServerHarness.error(badInclude.json).field == "include[0]")
            let badFilter = try await server.call(.post, "/v1/spaces/s/search", json: ["vector": [1, 0], "filter": ["n": ["$between": 1]]])
            #expect(badFilter.status == .badRequest)
            #expect(ServerHarness.error(badFilter.json).code == "invalidFilter")
            let zero = try await server.call(.post, "/v1/spaces/s/search", json: ["vector": [0, 0]])
            #expect(zero.status == .badRequest && ServerHarness.error(zero.json).field == "vector")
            let unknown = try await server.call(.post, "/v1/spaces/none/search", json: ["vector": [1, 0]])
            #expect(unknown.status == .notFound)
        }
    }

    @Test("links feed recall; unlink removes them")
    func linksAndRecall() async throws {
        try await ServerHarness.run { server in
            try await server.createSpace("r", dimension: 2)
            let memories: [[String: Any]] = [
                ["id": "paris", "vector": [1, 0], "text": "Paris"],
                ["id": "tower", "vector": [-1, 0.01], "text": "Eiffel tower"],
            ]
            #expect(try await server.call(.post, "/v1/spaces/r/memories", json: ["memories": memories]).status == .ok)
            let created = try await server.call(.put, "/v1/spaces/r/links", json: ["from": "paris", "to": "tower", "weight": 0.9])
            #expect(created.status == .created)
            let reweighted = try await server.call(.put, "/v1/spaces/r/links", json: ["from": "paris", "to": "tower", "weight": 0.8])
            #expect(reweighted.status == .ok)
            #expect(try await server.call(.get, "/v1/spaces/r").json["linkCount"] as? Int == 1)
            let recall = try await server.call(.post, "/v1/spaces/r/recall",
                                               json: ["vector": [1, 0], "seeds": 1, "hops": 1, "overSimilarity": false, "limit": 5])
            #expect(recall.status == .ok)
            let recalled = recall.json["memories"] as? [[String: Any]] ?? []
            #expect(recalled.map { $0["id"] as? String } == ["paris", "tower"])
            #expect(recalled.last?["hops"] as? Int == 1)
            let missingTarget = try await server.call(.put, "/v1/spaces/r/links", json: ["from": "paris", "to": "ghost"])
            #expect(missingTarget.status == .notFound)
            let badWeight = try await server.call(.put, "/v1/spaces/r/links", json: ["from": "paris", "to": "tower", "weight": 2])
            #expect(ServerHarness.error(badWeight.json).field == "weight")
            let removed = try await server.call(.delete, "/v1/spaces/r/links?from=paris&to=tower")
            #expect(removed.status == .noContent)
            let again = try await server.call(.delete, "/v1/spaces/r/links?from=paris&to=tower")
            #expect(again.status == .notFound)
            let noTo = try await server.call(.delete, "/v1/spaces/r/links?from=paris")
            #expect(ServerHarness.error(noTo.json).field == "to")
            let badHops = try await server.call(.post, "/v1/spaces/r/recall", json: ["vector": [1, 0], "hops": 9])
            #expect(ServerHarness.error(badHops.json).field == "hops")
        }
    }
}
