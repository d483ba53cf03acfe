// AccessMiddleware: guards every /v1 route. Until the database has finished recovery it answers
// 503 with Retry-After; then it checks the bearer credential (unless the server runs in dev
// mode) and records what the credential allows in the context, where each route checks its
// space and level with one call (ServerContext.require).
import Hummingbird

/// Readiness and authentication for `/v1`.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let state: ServerState
    let authenticate: @Sendable (String?) throws(ServerError) -> RequestAccess

    func handle(_ request: Request, context: ServerContext,
                next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        var context = context
        context.access = try authenticate(request.headers[.authorization])
        _ = try state.database()
        return try await next(request, context)
    }

    /// The authenticator of a configuration without token support: dev mode allows everything;
    /// otherwise the admin key is the one credential.
    static func adminKeyOnly(_ configuration: ServerConfiguration) -> @Sendable (String?) throws(ServerError) -> RequestAccess {
        if configuration.dev { return { _ throws(ServerError) in .unrestricted } }
        let key = configuration.adminKey
        return { header throws(ServerError) in
            guard let header else { throw .unauthorized("an Authorization: Bearer credential is required") }
            guard header.hasPrefix("Bearer ") else { throw .unauthorized("the Authorization scheme must be Bearer") }
            let credential = header.dropFirst("Bearer ".count)
            guard let key, !key.isEmpty, credential == key else { throw .unauthorized("invalid credential") }
            return .unrestricted
        }
    }
}
