// ReadinessMiddleware: guards every /v1 route after authentication: until the database has
// finished recovery (or while it closes) it answers 503 `notReady` with Retry-After, so no route
// ever runs without an open database.
import Hummingbird

/// 503 for `/v1` until the database is open.
struct ReadinessMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let state: ServerState

    func handle(_ request: Request, context: ServerContext,
                next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        _ = try state.database()
        return try await next(request, context)
    }
}
