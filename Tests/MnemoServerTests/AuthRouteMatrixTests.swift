// Proves the matrix over EVERY route the server's router has, enumerated from the router
// itself (and checked against the OpenAPI document both ways), so a route added later without a
// request in the table below, or without an entry in the contract, fails this test instead of
// escaping it. Each non-public route is tried with no credential, tokens for other spaces (the
// prefix look-alike `tenant-70/` and the sibling `tenant-7/b`, all scopes), an expired token, a
// read token on every route that changes something, and tampered tokens (payload re-encoded to
// name the target by prefix or by space, signature flipped, kid swapped for an unknown one,
// `alg: none`): none succeeds
// (each is 401 or 403; the listing may answer, but shows none of the target's names), and the
// space is unchanged afterwards. Then the admin key succeeds (2xx) on every route and a read token
// on every read route, so the refusals are not vacuous; a token for the target's prefix writes,
// a read token lists exactly the names it covers, and an issued token comes back. `/metrics` is
// database-wide: it needs `read` with no space, which today only the admin key has (tokens are
// bound to a space or a prefix), so it is probed as an admin route. The target's name has a `/`
// in it and travels percent-encoded.

import Foundation
import Hummingbird
import Mnemo
import Testing
@testable import MnemoServer

@Suite struct AuthRouteMatrixTests {
    static let publicRoutes: Set<String> = ["GET /healthz", "GET /readyz", "GET /openapi.json"]
    static let target = "tenant-7/a"
    static let encodedTarget = "tenant-7%2Fa"

    /// One concrete, valid request per route, in an order where each succeeds for the admin.
    struct Probe {
        let route: String
        let uri: String
        var json: [String: Any]?
        var raw: [UInt8]?
        /// What the route needs; nil for the listing (any read token may list, filtered).
        let scope: Scope?
    }

    static func probes(export: [UInt8]) -> [Probe] {
        let space = "/v1/spaces/\(encodedTarget)"
        return [
            Probe(route: "GET /v1/spaces", uri: "/v1/spaces", scope: nil),
            Probe(route: "GET /v1/spaces/{space}", uri: space, scope: .read),
            Probe(route: "GET /v1/spaces/{space}/memories/{id}", uri: "\(space)/memories/m1", scope: .read),
            Probe(route: "POST /v1/spaces/{space}/search", uri: "\(space)/search", json: ["vector": [1, 0], "k": 2], scope: .read),
            Probe(route: "POST /v1/spaces/{space}/recall", uri: "\(space)/recall", json: ["vector": [1, 0]], scope: .read),
            Probe(route: "POST /v1/spaces/{space}/list", uri: "\(space)/list", json: [:], scope: .read),
            Probe(route: "POST /v1/spaces/{space}/count", uri: "\(space)/count", json: [:], scope: .read),
            Probe(route: "GET /v1/spaces/{space}/export", uri: "\(space)/export", scope: .read),
            Probe(route: "GET /v1/spaces/{space}/indexes", uri: "\(space)/indexes", scope: .read),
            Probe(route: "POST /v1/search", uri: "/v1/search", json: ["spaces": [target], "vector": [1, 0], "k": 2],
                  scope: .read),
            Probe(route: "GET /v1/cluster", uri: "/v1/cluster", scope: nil),
            Probe(route: "PUT /v1/spaces/{space}/memories/{id}", uri: "\(space)/memories/m9",
                  json: ["vector": [1, 1], "text": "x"], scope: .write),
            Probe(route: "POST /v1/spaces/{space}/memories", uri: "\(space)/memories",
                  json: ["memories": [["id": "m8", "vector": [0.5, 1]]]], scope: .write),
            Probe(route: "DELETE /v1/spaces/{space}/memories/{id}", uri: "\(space)/memories/m3", scope: .write),
            Probe(route: "PUT /v1/spaces/{space}/links", uri: "\(space)/links", json: ["from": "m1", "to": "m2"], scope: .write),
            Probe(route: "DELETE /v1/spaces/{space}/links", uri: "\(space)/links?from=m1&to=m2", scope: .write),
            Probe(route: "POST /v1/spaces/{space}/delete", uri: "\(space)/delete", json: ["filter": [:]], scope: .write),
            Probe(route: "PUT /v1/spaces/{space}/indexes/{field}", uri: "\(space)/indexes/rank",
                  json: ["kind": "numeric"], scope: .admin),
            Probe(route: "DELETE /v1/spaces/{space}/indexes/{field}", uri: "\(space)/indexes/rank", scope: .admin),
            Probe(route: "POST /v1/spaces", uri: "/v1/spaces", json: ["name": "tenant-7/d", "dimension": 2], scope: .admin),
            Probe(route: "PUT /v1/spaces/{space}/import", uri: "/v1/spaces/tenant-7%2Fc/import", raw: export, scope: .admin),
            Probe(route: "GET /v1/spaces/{space}/log", uri: "\(space)/log?after=0", scope: .admin),
            Probe(route: "POST /v1/spaces/{space}/log", uri: "\(space)/log", raw: [], scope: .admin),
            Probe(route: "POST /v1/tokens", uri: "/v1/tokens", json: ["space": target, "scopes": ["read"]], scope: .admin),
            Probe(route: "GET /metrics", uri: "/metrics", scope: .admin),
            Probe(route: "POST /v1/cluster/drain", uri: "/v1/cluster/drain", scope: .admin),
            Probe(route: "POST /v1/cluster/sequences", uri: "/v1/cluster/sequences", scope: .admin),
            Probe(route: "POST /v1/cluster/checksums", uri: "/v1/cluster/checksums", scope: .admin),
            Probe(route: "POST /v1/cluster/discard", uri: "/v1/cluster/discard", scope: .admin),
            Probe(route: "POST /v1/cluster/heartbeat", uri: "/v1/cluster/heartbeat", scope: .admin),
            Probe(route: "DELETE /v1/spaces/{space}", uri: space, scope: .admin),
        ]
    }

    static func method(of route: String) -> HTTPRequest.Method {
        HTTPRequest.Method(String(route.prefix(while: { $0 != " " }))) ?? .get
    }

    /// "METHOD /path" for every operation of the committed OpenAPI document.
    static func documentedRoutes() throws -> Set<String> {
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.bytes)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var routes: Set<String> = []
        for (path, operations) in paths {
            for method in operations.keys where ["get", "put", "post", "delete", "patch", "head"].contains(method) {
                routes.insert("\(method.uppercased()) \(path)")
            }
        }
        return routes
    }

    static func routerRoutes() async throws -> Set<String> {
        let server = MnemoHTTPServer(configuration: ServerConfiguration())
        let router = server.buildRouter(authenticator: try await Authenticator.development())
        return Set(router.routes.map { "\($0.method) \($0.path)" })
    }

    @Test func everyRouteHasAProbeAndIsInTheContract() async throws {
        let routes = try await Self.routerRoutes()
        #expect(routes.count >= 20)
        let probed = Set(Self.probes(export: []).map(\.route))
        let served = routes
        #expect(served.subtracting(Self.publicRoutes) == probed, "routes without a probe: \(served.subtracting(Self.publicRoutes).subtracting(probed)); probes without a route: \(probed.subtracting(served))")
        let documented = try Self.documentedRoutes()
        #expect(served == documented, "undocumented: \(served.subtracting(documented)); not served: \(documented.subtracting(served))")
    }

    @Test func noBadCredentialSucceedsOnAnyRoute() async throws {
        let keys = try AuthFixtures.keySet("k1", fill: 9)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mnemo-matrix-\(UUID().uuidString).json")
        try keys.jsonData().write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let admin = AuthFixtures.adminKeyText
        let now = Date()
        let issuer = try await AuthFixtures.authenticator(keys: keys, clock: AuthTestClock(now))
        let past = try await AuthFixtures.authenticator(keys: keys, clock: AuthTestClock(now.addingTimeInterval(-7200)))
        let all: [Scope] = [.read, .write, .admin]
        let lookAlike = try await AuthFixtures.token(issuer, prefix: "tenant-70/", scopes: all).token
        let sibling = try await AuthFixtures.token(issuer, space: "tenant-7/b", scopes: all).token
        let expired = try await AuthFixtures.token(past, prefix: "tenant-7/", scopes: all, ttl: 60).token
        let reader = try await AuthFixtures.token(issuer, prefix: "tenant-7/", scopes: [.read]).token
        let full = try await AuthFixtures.token(issuer, prefix: "tenant-7/", scopes: all).token
        let rewritten = try AuthFixtures.editingPayload(lookAlike) { $0["prefix"] = "tenant-7/" }
        let respaced = try AuthFixtures.editingPayload(sibling) { $0["space"] = Self.target }
        let flipped = try AuthFixtures.flippingSignature(full)
        let unknownKey = try AuthFixtures.editingHeader(full) { $0["kid"] = "k2" }
        let unsigned = try AuthFixtures.segment(["alg": "none", "kid": "k1", "typ": "JWT"]) + "."
            + AuthFixtures.segments(full)[1] + "."
        let routes = try await Self.routerRoutes()

        try await ServerHarness.run(configure: {
            $0.dev = false
            $0.adminKey = admin
            $0.tokenKeysPath = file.path
        }) { server in
            let asAdmin: HTTPFields = [.authorization: "Bearer \(admin)"]
            for name in [Self.target, "tenant-7/b", "tenant-70/x"] {
                let created = try await server.call(.post, "/v1/spaces", json: ["name": name, "dimension": 2], headers: asAdmin)
                #expect(created.status == .created)
            }
            let seed: [[String: Any]] = [["id": "m1", "vector": [1, 0]], ["id": "m2", "vector": [0, 1]],
                                         ["id": "m3", "vector": [1, 1]]]
            let space = "/v1/spaces/\(Self.encodedTarget)"
            #expect(try await server.call(.post, "\(space)/memories", json: ["memories": seed], headers: asAdmin).status == .ok)
            let export = try await server.call(.get, "\(space)/export", headers: asAdmin).body
            let before = try await server.call(.get, space, headers: asAdmin).json
            let probes = Self.probes(export: export).filter { routes.contains($0.route) }

            let attempts: [(label: String, credential: String?, applies: (Probe) -> Bool)] = [
                ("no credential", nil, { _ in true }),
                ("token for tenant-70/", lookAlike, { _ in true }),
                ("token for tenant-7/b", sibling, { _ in true }),
                ("expired token", expired, { _ in true }),
                ("read token on a change", reader, { $0.scope != .read && $0.scope != nil }),
                ("payload rewritten to tenant-7/", rewritten, { _ in true }),
                ("payload space rewritten to the target", respaced, { _ in true }),
                ("flipped signature", flipped, { _ in true }),
                ("unknown kid", unknownKey, { _ in true }),
                ("alg none", unsigned, { _ in true }),
            ]
            var tried = 0
            for attempt in attempts {
                for probe in probes where attempt.applies(probe) {
                    var headers: HTTPFields = [:]
                    if let credential = attempt.credential { headers[.authorization] = "Bearer \(credential)" }
                    let response = try await server.call(Self.method(of: probe.route), probe.uri, json: probe.json,
                                                         raw: probe.raw, headers: headers)
                    tried += 1
                    if probe.scope == nil, response.status == .ok {
                        // The listing answers a valid token, with only the names it covers.
                        let names = (response.json["spaces"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                        let visible: Set<String> = attempt.credential == lookAlike ? ["tenant-70/x"]
                            : attempt.credential == sibling ? ["tenant-7/b"] : []
                        #expect(Set(names).isSubset(of: visible), "\(attempt.label) listed \(names)")
                        continue
                    }
                    #expect(response.status == .unauthorized || response.status == .forbidden,
                            "\(attempt.label): \(probe.route) answered \(response.status) \(response.json)")
                }
            }
            #expect(tried == attempts.count * probes.count - probes.filter { $0.scope == .read || $0.scope == nil }.count)

            let after = try await server.call(.get, space, headers: asAdmin).json
            #expect(after["count"] as? Int == 3)
            #expect(after["operationsApplied"] as? Int == before["operationsApplied"] as? Int)
            for name in ["tenant-7%2Fc", "tenant-7%2Fd"] {
                #expect(try await server.call(.get, "/v1/spaces/\(name)", headers: asAdmin).status == .notFound)
            }

            // Not vacuous: a reader reads, and the admin key passes every route. A route whose
            // engine feature is not in this build answers 501 `unsupported` after authorization.
            func passed(_ response: (status: HTTPResponse.Status, json: [String: Any], body: [UInt8], headers: HTTPFields)) -> Bool {
                (200..<300).contains(response.status.code)
                    || (response.status == .notImplemented && ServerHarness.error(response.json).code == "unsupported")
                    // A single node has nothing to drain to: the admin passed authorization.
                    || (response.status == .conflict && ServerHarness.error(response.json).code == "notClustered")
            }
            let asReader: HTTPFields = [.authorization: "Bearer \(reader)"]
            let asToken: HTTPFields = [.authorization: "Bearer \(full)"]
            let written = try await server.call(.put, "\(space)/memories/m10", json: ["vector": [1, 1]], headers: asToken)
            #expect(written.status == .created, "a token for tenant-7/ writes: \(written.status)")
            #expect(try await server.call(.get, "\(space)/memories/m10", headers: asReader).status == .ok)
            let listed = try await server.call(.get, "/v1/spaces", headers: asReader)
            let names = (listed.json["spaces"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(Set(names) == [Self.target, "tenant-7/b"])
            let issued = try await server.call(.post, "/v1/tokens", json: ["space": Self.target, "scopes": ["read"]], headers: asAdmin)
            #expect(issued.status == .created && issued.json["token"] is String)
            for probe in probes where probe.scope == .read || probe.scope == nil {
                let response = try await server.call(Self.method(of: probe.route), probe.uri, json: probe.json,
                                                     headers: asReader)
                #expect(passed(response), "reader: \(probe.route) answered \(response.status)")
            }
            for probe in probes {
                let response = try await server.call(Self.method(of: probe.route), probe.uri, json: probe.json,
                                                     raw: probe.raw, headers: asAdmin)
                #expect(passed(response), "admin: \(probe.route) answered \(response.status) \(response.json)")
            }
        }
    }
}
