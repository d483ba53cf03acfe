// TokenRoutes: `POST /v1/tokens` issues a signed token (docs/server.md, "Issuing"). The admin key
// may issue any token; a token with the admin scope only a narrower one. The permission is
// checked before the body is read; the signing is Authenticator's.
import Foundation
import Hummingbird

/// `POST /v1/tokens`.
struct TokenRoutes: Sendable {
    let state: ServerState
    let authenticator: Authenticator

    func register(on router: RouterGroup<ServerContext>) {
        router.post("tokens") { request, context in try await issue(request, context) }
    }

    func issue(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        do {
            try context.principal.authorizeTokenIssue()
        } catch {
            throw ServerError(error)
        }
        let body = try await RequestJSON.decode(TokenRequest.self, from: request, limit: state.configuration.maxBodyBytes)
        do {
            let token = try await authenticator.issueToken(body, by: context.principal)
            return JSONResponse.make(status: .created, token)
        } catch {
            throw ServerError(error)
        }
    }
}
