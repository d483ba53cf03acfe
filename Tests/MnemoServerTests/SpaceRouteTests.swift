// SpaceRouteTests: the space collection over real HTTP: create (201, 409 on a duplicate, 400
// naming the field), cursor pagination that visits every name once, describe (404 for an
// unknown space), drop, and names with `/` percent-encoded in paths.
import Foundation
import Testing

@Suite("Space routes")
struct SpaceRouteTests {
    @Test("create, duplicate, describe, drop")
    func lifecycle() async throws {
        try await ServerHarness.run { server in
            try await server.createSpace("alpha", dimension: 3, metric: "l2")
            let again = try await server.call(.post, "/v1/spaces", json: ["name": "alpha", "dimension": 3])
            #expect(again.status == .conflict)
            #expect(ServerHarness.error(again.json).code == "duplicateID")
            let described = try await server.call(.get, "/v1/spaces/alpha")
            #expect(described.status == .ok)
            #expect(described.json["dimension"] as? Int == 3)
            #expect(described.json["metric"] as? String == "l2")
            #expect(described.json["count"] as? Int == 0)
            let dropped = try await server.call(.delete, "/v1/spaces/alpha")
            #expect(dropped.status == .noContent)
            let gone = try await server.call(.get, "/v1/spaces/alpha")
            #expect(gone.status == .notFound)
            #expect(ServerHarness.error(gone.json).code == "unknownSpace")
            let dropAgain = try await server.call(.delete, "/v1/spaces/alpha")
            #expect(dropAgain.status == .notFound)
        }
    }

    @Test("bad input is 400 naming the field, and creates nothing")
    func badInput() async throws {
        try await ServerHarness.run { server in
            let cases: [([String: Any], String)] = [
                (["name": "x", "dimension": 0], "dimension"),
                (["name": "x", "dimension": 5000], "dimension"),
                (["name": "x", "dimension": 3, "metric": "hamming"], "metric"),
                (["name": "x", "dimension": 3, "m": 1], "m"),
                (["name": "", "dimension": 3], "name"),
                (["dimension": 3], "name"),
                (["name": "x", "dimension": "three"], "dimension"),
            ]
            for (body, field) in cases {
                let response = try await server.call(.post, "/v1/spaces", json: body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(ServerHarness.error(response.json).field == field, "\(body): \(response.json)")
            }
            let malformed = try await server.call(.post, "/v1/spaces", raw: Array("{\"name\": ".utf8),
                                                  headers: [.contentType: "application/json"])
            #expect(malformed.status == .badRequest)
            let listed = try await server.call(.get, "/v1/spaces")
            #expect((listed.json["spaces"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("cursor pagination lists every space once, in order")
    func pagination() async throws {
        try await ServerHarness.run { server in
            let names = (0..<23).map { String(format: "s-%02d", $0) } + ["tenant-7/notes", "tenant-7/a b"]
            for name in names { try await server.createSpace(name, dimension: 2) }
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                var uri = "/v1/spaces?limit=5"
                if let cursor { uri += "&cursor=" + ServerHarness.path(cursor) }
                let page = try await server.call(.get, uri)
                #expect(page.status == .ok)
                let entries = (page.json["spaces"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                #expect(entries.count <= 5)
                seen += entries
                cursor = page.json["nextCursor"] as? String
                pages += 1
            } while cursor != nil && pages < 20
            #expect(seen == names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            let bad = try await server.call(.get, "/v1/spaces?limit=0")
            #expect(ServerHarness.error(bad.json).field == "limit")
        }
    }

    @Test("names with / are percent-encoded in paths")
    func percentEncodedNames() async throws {
        try await ServerHarness.run { server in
            let name = "tenant-7/notes"
            try await server.createSpace(name, dimension: 2)
            let path = "/v1/spaces/" + ServerHarness.path(name)
            #expect(path.contains("%2F"))
            let described = try await server.call(.get, path)
            #expect(described.status == .ok)
            #expect(described.json["name"] as? String == name)
            let put = try await server.call(.put, path + "/memories/m%2F1", json: ["vector": [1, 0], "text": "slash id"])
            #expect(put.status == .created)
            let got = try await server.call(.get, path + "/memories/m%2F1")
            #expect(got.json["id"] as? String == "m/1")
            // The unencoded form is another route (no such space "tenant-7"): 404, not a match.
            let plain = try await server.call(.get, "/v1/spaces/tenant-7/notes")
            #expect(plain.status == .notFound)
        }
    }
}
