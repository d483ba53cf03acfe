// IndexRouteTests: a space's field indexes over HTTP: created on a field (201 with how many
// memories have it), listed after the built-in createdAt, used by filtered reads (the same
// answers, the index reported in the list's counts), refused when repeated (409), of an unknown
// kind or on a reserved name (400), dropped (204; again: 404; createdAt: 400).
import Foundation
import Testing

@Suite("Index routes")
struct IndexRouteTests {
    @Test("create, list, use and drop a field index")
    func lifecycle() async throws {
        try await ServerHarness.run { server in
            try await FilterRouteTests.seed(server)
            let created = try await server.call(.put, "/v1/spaces/f/indexes/kind", json: ["kind": "keyword"])
            #expect(created.status == .created)
            #expect(created.json["present"] as? Int == 60)
            #expect(created.json["kind"] as? String == "keyword")
            #expect(try await server.call(.put, "/v1/spaces/f/indexes/n", json: ["kind": "numeric"]).status == .created)

            let listed = try await server.call(.get, "/v1/spaces/f/indexes")
            #expect(listed.status == .ok)
            let indexes = listed.json["indexes"] as? [[String: Any]] ?? []
            #expect(indexes.compactMap { $0["field"] as? String } == ["createdAt", "kind", "n"])
            #expect(indexes.first?["builtIn"] as? Bool == true)
            #expect(indexes.last?["present"] as? Int == 60)

            let count = try await server.call(.post, "/v1/spaces/f/count",
                                              json: ["filter": ["kind": "odd", "n": ["$gte": 40]]])
            #expect(count.json["count"] as? Int == 10)

            let again = try await server.call(.put, "/v1/spaces/f/indexes/kind", json: ["kind": "numeric"])
            #expect(again.status == .conflict)
            let badKind = try await server.call(.put, "/v1/spaces/f/indexes/tag", json: ["kind": "fulltext"])
            #expect(badKind.status == .badRequest)
            #expect(ServerHarness.error(badKind.json).field == "kind")
            let reserved = try await server.call(.put, "/v1/spaces/f/indexes/%24x", json: ["kind": "keyword"])
            #expect(reserved.status == .badRequest)
            let unknownSpace = try await server.call(.put, "/v1/spaces/nope/indexes/kind", json: ["kind": "keyword"])
            #expect(unknownSpace.status == .notFound)

            #expect(try await server.call(.delete, "/v1/spaces/f/indexes/kind").status == .noContent)
            #expect(try await server.call(.delete, "/v1/spaces/f/indexes/kind").status == .notFound)
            #expect(try await server.call(.delete, "/v1/spaces/f/indexes/createdAt").status == .badRequest)
            let after = try await server.call(.get, "/v1/spaces/f/indexes")
            #expect((after.json["indexes"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String } == ["createdAt", "n"])
            let same = try await server.call(.post, "/v1/spaces/f/count",
                                             json: ["filter": ["kind": "odd", "n": ["$gte": 40]]])
            #expect(same.json["count"] as? Int == 10)
        }
    }
}
