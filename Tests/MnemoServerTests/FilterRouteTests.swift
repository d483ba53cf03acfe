// FilterRouteTests: the filter in search and recall bodies, and the filtered list (cursor pages
// that visit every match exactly once), count and delete-by-filter routes, against memories
// whose metadata the test controls; a bad filter is 400 `invalidFilter` and a bad cursor 400.
import Foundation
import Testing

@Suite("Filter routes")
struct FilterRouteTests {
    /// 60 memories; `kind` is "even" or "odd" by index, `n` the index.
    static func seed(_ server: ServerHarness) async throws {
        try await server.createSpace("f", dimension: 2, metric: "l2")
        let memories: [[String: Any]] = (0..<60).map { i in
            ["id": "m\(i)", "vector": [Double(i), 1], "text": "memory \(i)",
             "metadata": ["kind": i % 2 == 0 ? "even" : "odd", "n": i]]
        }
        #expect(try await server.call(.post, "/v1/spaces/f/memories", json: ["memories": memories]).status == .ok)
    }

    @Test("search and recall return only matches")
    func searchAndRecall() async throws {
        try await ServerHarness.run { server in
            try await Self.seed(server)
            let search = try await server.call(.post, "/v1/spaces/f/search",
                                               json: ["vector": [10.1, 1], "k": 5, "filter": ["kind": "odd"]])
            #expect(search.status == .ok)
            let ids = (search.json["hits"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(ids.count == 5)
            #expect(Set(ids) == ["m11", "m9", "m13", "m7", "m15"])
            let recall = try await server.call(.post, "/v1/spaces/f/recall",
                                               json: ["vector": [10, 1], "limit": 10, "filter": ["n": ["$lt": 20]],
                                                      "include": ["metadata"]])
            #expect(recall.status == .ok)
            let recalled = recall.json["memories"] as? [[String: Any]] ?? []
            #expect(!recalled.isEmpty)
            for memory in recalled {
                let n = (memory["metadata"] as? [String: Any])?["n"] as? Int ?? 99
                #expect(n < 20)
            }
            let bad = try await server.call(.post, "/v1/spaces/f/search", json: ["vector": [1, 1], "filter": ["n": ["$gt": "x", "$oops": 1]]])
            #expect(bad.status == .badRequest)
            #expect(ServerHarness.error(bad.json).code == "invalidFilter")
            #expect(ServerHarness.error(bad.json).field?.hasPrefix("filter") == true)
        }
    }

    @Test("list pages visit every match once; count and delete by filter")
    func listCountDelete() async throws {
        try await ServerHarness.run { server in
            try await Self.seed(server)
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                var body: [String: Any] = ["filter": ["kind": "even"], "limit": 7, "include": ["metadata"]]
                if let cursor { body["cursor"] = cursor }
                let page = try await server.call(.post, "/v1/spaces/f/list", json: body)
                #expect(page.status == .ok)
                let memories = page.json["memories"] as? [[String: Any]] ?? []
                #expect(memories.count <= 7)
                for memory in memories {
                    #expect((memory["metadata"] as? [String: Any])?["kind"] as? String == "even")
                }
                seen += memories.compactMap { $0["id"] as? String }
                cursor = page.json["nextCursor"] as? String
                pages += 1
            } while cursor != nil && pages < 50
            #expect(seen.count == 30)
            #expect(Set(seen) == Set((0..<30).map { "m\($0 * 2)" }))
            let count = try await server.call(.post, "/v1/spaces/f/count", json: ["filter": ["n": ["$gte": 50]]])
            #expect(count.json["count"] as? Int == 10)
            let all = try await server.call(.post, "/v1/spaces/f/count", json: [:])
            #expect(all.json["count"] as? Int == 60)
            let deleted = try await server.call(.post, "/v1/spaces/f/delete", json: ["filter": ["kind": "odd"]])
            #expect(deleted.status == .ok)
            #expect(deleted.json["deleted"] as? Int == 30)
            #expect(try await server.call(.post, "/v1/spaces/f/count", json: [:]).json["count"] as? Int == 30)
            #expect(try await server.call(.get, "/v1/spaces/f/memories/m1").status == .notFound)
            let badCursor = try await server.call(.post, "/v1/spaces/f/list", json: ["cursor": "not-a-cursor"])
            #expect(badCursor.status == .badRequest)
            #expect(ServerHarness.error(badCursor.json).field == "cursor")
            let noFilter = try await server.call(.post, "/v1/spaces/f/delete", json: [:])
            #expect(ServerHarness.error(noFilter.json).field == "filter")
        }
    }
}
