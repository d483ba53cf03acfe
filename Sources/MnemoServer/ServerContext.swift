// ServerContext: the per-request context of every route. Besides Hummingbird's core storage it
// carries the caller's identity once the auth middleware has checked the credential, so a
// route's permission check is one line: `try context.require(.write, space: name)`.
import Hummingbird
import Logging

/// The request context of the Mnemo server's routes.
public struct ServerContext: RequestContext {
    /// Hummingbird's per-request storage (logger, parameters, endpoint path).
    public var coreContext: CoreRequestContextStorage
    /// The checked credential, set by the auth middleware; `nil` in dev mode (everything is
    /// allowed) and on the unauthenticated routes.
    public var access: RequestAccess = .unrestricted

    /// Creates a context for a request arriving on a channel.
    public init(source: Source) {
        self.coreContext = .init(source: source)
    }

    /// Bodies are read by the routes themselves against the server's configured limit.
    public var maxUploadSize: Int { Int.max }

    /// Checks that the caller may act on `space` (or, for `nil`, on the database as a whole)
    /// with `level`; throws 403 otherwise.
    ///
    /// ```swift
    /// try context.require(.read, space: name)
    /// ```
    public func require(_ level: AccessLevel, space: String?) throws(ServerError) {
        try access.require(level, space: space)
    }
}
