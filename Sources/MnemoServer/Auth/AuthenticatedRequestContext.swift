// The request context the server's routes see must carry the caller: AuthMiddleware is generic over
// this protocol, so it works with the server's own context type (and a test's), and a handler reads
// `context.principal` to authorize.

import Hummingbird

/// A request context that carries the authenticated ``Principal``.
///
/// The server's context declares the property with ``Principal/anonymous`` as its initial value,
/// which every authorization refuses, so a route reached without the middleware fails closed:
/// ```swift
/// struct MnemoRequestContext: AuthenticatedRequestContext {
///     var coreContext: CoreRequestContextStorage
///     var principal = Principal.anonymous
///     init(source: Source) { coreContext = .init(source: source) }
/// }
/// ```
public protocol AuthenticatedRequestContext: RequestContext {
    /// The caller, set by ``AuthMiddleware``.
    var principal: Principal { get set }
}
