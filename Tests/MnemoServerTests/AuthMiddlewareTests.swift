// Proves the middleware on a small Hummingbird router: public paths answer without a credential;
// every other path is 401 (JSON body with a stable code, WWW-Authenticate) without one, with a bad
// or expired token, or with two Authorization headers; a token for another space or without the
// route's scope gets 403 from the route; the right token and the admin key get 200; `--dev` admits
// a request with no credential; POST /v1/tokens issues a token that then works.

import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import MnemoServer

/// The request context the test router uses.
struct AuthTestContext: AuthenticatedRequestContext {
    var coreContext: CoreRequestContextStorage
    var principal = Principal.anonymous

    init(source: Source) {
        coreContext = .init(source: source)
    }
}

@Suite struct AuthMiddlewareTests {
    let clock = AuthTestClock()

    func application(_ authenticator: Authenticator) -> some ApplicationProtocol {
        let router = Router(context: AuthTestContext.self)
        router.add(middleware: AuthMiddleware(authenticator: authenticator))
        router.get("/healthz") { _, _ in "ok" }
        router.get("/v1/spaces/{space}") { _, context in
            let space = try context.parameters.require("space")
            try context.principal.authorize(space: space, scope: .read)
            return "read \(space)"
        }
        router.put("/v1/spaces/{space}/memories/{id}") { _, context in
            try context.principal.authorize(space: context.parameters.require("space"), scope: .write)
            return "written"
        }
        router.get("/metrics") { _, context in
            try context.principal.authorize(space: nil, scope: .read)
            return "metrics"
        }
        router.post("/v1/tokens") { request, context in
            try context.principal.authorizeTokenIssue()
            let body = try await request.decode(as: TokenRequest.self, context: context)
            return EditedResponse(status: .created,
                                  response: try await authenticator.issueToken(body, by: context.principal))
        }
        return Application(router: router)
    }

    struct ErrorBody: Decodable {
        struct Detail: Decodable {
            let code: String
            let message: String
        }
        let error: Detail
    }

    func bearer(_ credential: String) -> HTTPFields { [.authorization: "Bearer \(credential)"] }

    @Test func statusesByCredential() async throws {
        let authenticator = try await AuthFixtures.authenticator(keys: AuthFixtures.keySet(), clock: clock)
        let reader = try await AuthFixtures.token(authenticator, space: "a", scopes: [.read], ttl: 60)
        let expired = try await AuthFixtures.token(authenticator, space: "a", scopes: [.read], ttl: 1)
        clock.advance(seconds: 1)
        let app = application(authenticator)
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/v1/spaces/a", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer realm=\"mnemo\"")
                let body = try JSONDecoder().decode(ErrorBody.self, from: response.body)
                #expect(body.error.code == "unauthorized")
            }
            try await client.execute(uri: "/v1/spaces/a", method: .get, headers: bearer(expired.token)) { response in
                #expect(response.status == .unauthorized)
                let error = try JSONDecoder().decode(ErrorBody.self, from: response.body).error
                #expect(error.code == "tokenExpired")
                #expect(response.headers[.wwwAuthenticate]?.contains("invalid_token") == true)
            }
            let tampered = try AuthFixtures.flippingSignature(reader.token)
            try await client.execute(uri: "/v1/spaces/a", method: .get, headers: bearer(tampered)) { response in
                #expect(response.status == .unauthorized)
            }
            var twice = HTTPFields()
            twice[values: .authorization] = ["Bearer \(reader.token)", "Bearer \(AuthFixtures.adminKeyText)"]
            try await client.execute(uri: "/v1/spaces/a", method: .get, headers: twice) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/spaces/a", method: .get, headers: bearer(reader.token)) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "read a")
            }
            try await client.execute(uri: "/v1/spaces/b", method: .get, headers: bearer(reader.token)) { response in
                #expect(response.status == .forbidden)
                let error = try JSONDecoder().decode(ErrorBody.self, from: response.body).error
                #expect(error.code == "forbidden")
            }
            try await client.execute(uri: "/v1/spaces/a/memories/m", method: .put, headers: bearer(reader.token)) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/metrics", method: .get, headers: bearer(reader.token)) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            for uri in ["/v1/spaces/b", "/v1/spaces/a/memories/m", "/metrics"] {
                let method: HTTPRequest.Method = uri.contains("memories") ? .put : .get
                try await client.execute(uri: uri, method: method, headers: bearer(AuthFixtures.adminKeyText)) { response in
                    #expect(response.status == .ok, "\(uri)")
                }
            }
            // Public means exactly the public path.
            try await client.execute(uri: "/healthz/../v1/spaces/a", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func tokenRouteIssuesWorkingTokens() async throws {
        let authenticator = try await AuthFixtures.authenticator(keys: AuthFixtures.keySet(), clock: clock)
        let reader = try await AuthFixtures.token(authenticator, space: "a", scopes: [.read])
        let app = application(authenticator)
        let body = ByteBuffer(string: #"{"space":"a","scopes":["read","write"],"ttlSeconds":120}"#)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/tokens", method: .post, headers: bearer(reader.token), body: body) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/v1/tokens", method: .post, body: body) { response in
                #expect(response.status == .unauthorized)
            }
            let issued = try await client.execute(
                uri: "/v1/tokens", method: .post, headers: bearer(AuthFixtures.adminKeyText), body: body
            ) { response in
                #expect(response.status == .created)
                return try JSONDecoder().decode(TokenResponse.self, from: response.body)
            }
            #expect(issued.keyId == "k1")
            try await client.execute(uri: "/v1/spaces/a/memories/m", method: .put, headers: bearer(issued.token)) { response in
                #expect(response.status == .ok)
            }
            let bad = ByteBuffer(string: #"{"prefix":"tenant-7","scopes":["read"]}"#)
            try await client.execute(uri: "/v1/tokens", method: .post, headers: bearer(AuthFixtures.adminKeyText), body: bad) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func developmentModeNeedsNoCredential() async throws {
        let app = application(try await Authenticator.development(now: clock.closure))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/spaces/a/memories/m", method: .put) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }
}
