// Authenticates every request except the few public paths (/healthz, /readyz, /openapi.json: what a
// load balancer and a client generator need before holding any credential), stores the principal in
// the context and leaves authorization to the route, which alone knows which space and scope it
// touches. A request that fails authentication never reaches a route: the thrown AuthError becomes
// the 401 response. Public paths are matched exactly on the path, so `/healthz/../v1/spaces` or
// `/healthz/x` are not public.

import Hummingbird

/// Middleware that sets `context.principal` from the `Authorization` header.
///
/// ```swift
/// let router = Router(context: MnemoRequestContext.self)
/// router.add(middleware: AuthMiddleware(authenticator: authenticator))
/// ```
public struct AuthMiddleware<Context: AuthenticatedRequestContext>: RouterMiddleware {
    /// The paths that need no credential.
    public static var defaultPublicPaths: Set<String> { ["/healthz", "/readyz", "/openapi.json"] }

    let authenticator: Authenticator
    let publicPaths: Set<String>

    /// Creates the middleware.
    /// - Parameters:
    ///   - authenticator: Checks credentials (``Authenticator/development(keys:now:)`` admits all).
    ///   - publicPaths: Exact paths served without a credential (their principal stays anonymous).
    public init(authenticator: Authenticator, publicPaths: Set<String> = Self.defaultPublicPaths) {
        self.authenticator = authenticator
        self.publicPaths = publicPaths
    }

    /// Authenticates the request, or throws the 401 ``AuthError``.
    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if publicPaths.contains(request.uri.path) {
            return try await next(request, context)
        }
        var context = context
        context.principal = try authenticator.authenticate(authorizationValues: request.headers[values: .authorization])
        // Only where the per-request debug line is written: setting metadata re-renders the
        // handler's whole metadata text (StreamLogHandler), a cost on every request otherwise.
        if context.logger.logLevel <= .debug {
            context.logger[metadataKey: "subject"] = .string(context.principal.subject)
        }
        return try await next(request, context)
    }
}
