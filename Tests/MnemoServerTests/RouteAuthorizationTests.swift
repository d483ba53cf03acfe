// RouteAuthorizationTests: every /v1 route of a server with auth on, tried with no credential, a
// token for another space, an expired token, a read-only token on the routes that change
// something, and a tampered token (its payload re-encoded to name the target space, the
// signature kept): none succeeds (each is 401 or 403) and the space is unchanged. The admin key
// and a token for the right space and scope do succeed, so the refusals are not vacuous.
import Foundation
import Hummingbird
import Mnemo
@testable import MnemoServer
import Testing

@Suite("Route authorization")
struct RouteAuthorizationTests {
    struct Route {
        let method: HTTPRequest.Method
        let path: String
        let json: [String: Any]?
        let raw: [UInt8]?
        let scope: Scope
    }

    static func routes(export: [UInt8]) -> [Route] {
        let memory: [String: Any] = ["vector": [1, 0], "text": "x"]
        return [
            Route(method: .get, path: "/v1/spaces/target", json: nil, raw: nil, scope: .read),
            Route(method: .get, path: "/v1/spaces/target/memories/m1", json: nil, raw: nil, scope: .read),
            Route(method: .post, path: "/v1/spaces/target/search", json: ["vector": [1, 0]], raw: nil, scope: .read),
            Route(method: .post, path: "/v1/spaces/target/recall", json: ["vector": [1, 0]], raw: nil, scope: .read),
            Route(method: .post, path: "/v1/spaces/target/count", json: [:], raw: nil, scope: .read),
            Route(method: .post, path: "/v1/spaces/target/list", json: [:], raw: nil, scope: .read),
            Route(method: .get, path: "/v1/spaces/target/export", json: nil, raw: nil, scope: .read),
            Route(method: .put, path: "/v1/spaces/target/memories/m9", json: memory, raw: nil, scope: .write),
            Route(method: .post, path: "/v1/spaces/target/memories",
                  json: ["memories": [["id": "m8", "vector": [1, 0]]]], raw: nil, scope: .write),
            Route(method: .delete, path: "/v1/spaces/target/memories/m1", json: nil, raw: nil, scope: .write),
            Route(method: .put, path: "/v1/spaces/target/links", json: ["from": "m1", "to": "m2"], raw: nil, scope: .write),
            Route(method: .delete, path: "/v1/spaces/target/links?from=m1&to=m2", json: nil, raw: nil, scope: .write),
            Route(method: .post, path: "/v1/spaces/target/delete", json: ["filter": [:]], raw: nil, scope: .write),
            Route(method: .post, path: "/v1/spaces", json: ["name": "target-2", "dimension": 2], raw: nil, scope: .admin),
            Route(method: .put, path: "/v1/spaces/target-3/import", json: nil, raw: export, scope: .admin),
            Route(method: .delete, path: "/v1/spaces/target", json: nil, raw: nil, scope: .admin),
            Route(method: .post, path: "/v1/tokens", json: ["space": "target", "scopes": ["read"]], raw: nil, scope: .admin),
        ]
    }

    @Test("no credential, another space, expired, read-only on writes, tampered: nothing succeeds")
    func everyRouteRefuses() async throws {
        let keys = try AuthFixtures.keySet("k1", fill: 7)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mnemo-keys-\(UUID().uuidString).json")
        try keys.jsonData().write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let admin = AuthFixtures.adminKeyText
        let now = Date()
        let issuer = try await AuthFixtures.authenticator(keys: keys, clock: AuthTestClock(now))
        let past = try await AuthFixtures.authenticator(keys: keys, clock: AuthTestClock(now.addingTimeInterval(-7200)))
        let other = try await AuthFixtures.token(issuer, space: "other", scopes: [.read, .write, .admin]).token
        let expired = try await AuthFixtures.token(past, space: "target", scopes: [.read, .write, .admin], ttl: 60).token
        let readOnly = try await AuthFixtures.token(issuer, space: "target", scopes: [.read]).token
        var parts = AuthFixtures.segments(other)
        var claims = try AuthFixtures.json(parts[1])
        claims["space"] = "target"
        parts[1] = try AuthFixtures.segment(claims)
        let tampered = parts.joined(separator: ".")
        let full = try await AuthFixtures.token(issuer, space: "target", scopes: [.read, .write, .admin]).token

        try await ServerHarness.run(configure: {
            $0.dev = false
            $0.adminKey = admin
            $0.tokenKeysPath = file.path
        }) { server in
            let asAdmin: HTTPFields = [.authorization: "Bearer \(admin)"]
            for name in ["target", "other"] {
                let created = try await server.call(.post, "/v1/spaces", json: ["name": name, "dimension": 2], headers: asAdmin)
                #expect(created.status == .created)
            }
            let seed: [[String: Any]] = [["id": "m1", "vector": [1, 0]], ["id": "m2", "vector": [0, 1]]]
            #expect(try await server.call(.post, "/v1/spaces/target/memories", json: ["memories": seed], headers: asAdmin).status == .ok)
            let export = try await server.call(.get, "/v1/spaces/target/export", headers: asAdmin).body
            let before = try await server.call(.get, "/v1/spaces/target", headers: asAdmin).json["operationsApplied"] as? Int

            let attempts: [(String, String?, (Route) -> Bool)] = [
                ("no credential", nil, { _ in true }),
                ("token for another space", other, { _ in true }),
                ("expired token", expired, { _ in true }),
                ("read token on a write", readOnly, { $0.scope != .read }),
                ("tampered token", tampered, { _ in true }),
            ]
            var tried = 0
            for (label, credential, applies) in attempts {
                for route in Self.routes(export: export) where applies(route) {
                    var headers: HTTPFields = [:]
                    if let credential { headers[.authorization] = "Bearer \(credential)" }
                    let response = try await server.call(route.method, route.path, json: route.json, raw: route.raw, headers: headers)
                    #expect(response.status == .unauthorized || response.status == .forbidden,
                            "\(label): \(route.method) \(route.path) answered \(response.status)")
                    tried += 1
                }
            }
            #expect(tried == 5 * 17 - 7)
            let after = try await server.call(.get, "/v1/spaces/target", headers: asAdmin)
            #expect(after.json["operationsApplied"] as? Int == before)
            #expect(after.json["count"] as? Int == 2)
            for name in ["target-2", "target-3"] {
                #expect(try await server.call(.get, "/v1/spaces/\(name)", headers: asAdmin).status == .notFound)
            }

            // The right token works, and a read token reads.
            let asToken: HTTPFields = [.authorization: "Bearer \(full)"]
            #expect(try await server.call(.put, "/v1/spaces/target/memories/m3", json: ["vector": [1, 1]], headers: asToken).status == .created)
            let asReader: HTTPFields = [.authorization: "Bearer \(readOnly)"]
            #expect(try await server.call(.get, "/v1/spaces/target/memories/m3", headers: asReader).status == .ok)
            let listed = try await server.call(.get, "/v1/spaces", headers: asReader)
            #expect((listed.json["spaces"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["target"])
            let issued = try await server.call(.post, "/v1/tokens", json: ["space": "target", "scopes": ["read"]], headers: asAdmin)
            #expect(issued.status == .created)
            #expect(issued.json["token"] is String)
        }
    }
}
