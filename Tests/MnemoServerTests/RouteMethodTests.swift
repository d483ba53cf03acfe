// RouteMethodTests: an unknown method on a known path answers 405 `methodNotAllowed` with an
// `Allow` header listing the methods served there (space names with `/` percent-encoded
// included), in the JSON error shape; an unknown path is still 404 `routeNotFound`.
import Foundation
import Hummingbird
import Testing

@Suite struct RouteMethodTests {
    @Test func unknownMethodsOnKnownPathsAre405WithAllow() async throws {
        try await ServerHarness.run { server in
            try await server.createSpace("tenant/a", dimension: 2, metric: "l2")
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.patch, "/v1/spaces", "GET, POST"),
                (.put, "/v1/spaces/tenant%2Fa", "DELETE, GET"),
                (.post, "/v1/spaces/tenant%2Fa/memories/m1", "DELETE, GET, PUT"),
                (.get, "/v1/spaces/tenant%2Fa/search", "POST"),
                (.post, "/v1/spaces/tenant%2Fa/export", "GET"),
                (.get, "/v1/spaces/tenant%2Fa/import", "PUT"),
                (.get, "/v1/spaces/tenant%2Fa/links", "DELETE, PUT"),
                (.delete, "/healthz", "GET"),
                (.post, "/openapi.json", "GET"),
                (.post, "/metrics", "GET"),
            ]
            for (method, uri, allow) in cases {
                let response = try await server.call(method, uri)
                #expect(response.status == .methodNotAllowed, "\(method) \(uri): \(response.status)")
                #expect(response.headers[.allow] == allow, "\(method) \(uri)")
                #expect(ServerHarness.error(response.json).code == "methodNotAllowed")
            }
            let unknown = try await server.call(.get, "/v1/nowhere")
            #expect(unknown.status == .notFound)
            #expect(ServerHarness.error(unknown.json).code == "routeNotFound")
            #expect(unknown.headers[.allow] == nil)
        }
    }
}
