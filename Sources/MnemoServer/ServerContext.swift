// ServerContext: the per-request context of every route. Besides Hummingbird's core storage it
// carries the caller (`principal`), set by AuthMiddleware from the bearer credential, so a
// route's permission check is one line: `try context.require(.write, space: name)`.
import Hummingbird
import Logging

/// The request context of the Mnemo server's routes.
public struct ServerContext: AuthenticatedRequestContext {
    /// Hummingbird's per-request storage (logger, parameters, endpoint path).
    public var coreContext: CoreRequestContextStorage
    /// Who the request acts for; `anonymous` (refused by every check) until AuthMiddleware has
    /// checked the credential.
    public var principal: Principal = .anonymous

    /// Creates a context for a request arriving on a channel.
    public init(source: Source) {
        self.coreContext = .init(source: source)
    }

    /// Bodies are read by the routes themselves against the server's configured limit.
    public var maxUploadSize: Int { Int.max }

    /// Checks that the caller may act on `space` (or, for `nil`, on the database as a whole)
    /// with `scope`; 401 or 403 otherwise.
    ///
    /// ```swift
    /// try context.require(.read, space: name)
    /// ```
    public func require(_ scope: Scope, space: String?) throws(ServerError) {
        do {
            try principal.authorize(space: space, scope: scope)
        } catch {
            throw ServerError(error)
        }
    }
}
