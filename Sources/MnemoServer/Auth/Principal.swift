// Who a request acts for, once its credential has been checked, and the one place that decides what
// it may do. Route handlers never inspect tokens: they call `authorize(space:scope:)` (or the listing
// and token-issuing variants) and let the thrown AuthError become the response. A request that never
// went through the middleware carries `Principal.anonymous`, which every check refuses with 401, so a
// route that escapes authentication fails closed.

import Foundation

/// The authenticated caller of a request.
///
/// ```swift
/// router.get("/v1/spaces/{space}") { request, context in
///     let name = try context.parameters.require("space")
///     try context.principal.authorize(space: name, scope: .read)
///     ...
/// }
/// ```
public struct Principal: Sendable, Equatable {
    /// What kind of credential the caller presented.
    public enum Role: Sendable, Equatable {
        /// None checked yet (or a public route): every authorization fails with 401.
        case anonymous
        /// The admin key, or `--dev` mode: everything is allowed.
        case admin
        /// A signed token: `scopes` over the spaces `grant` covers, until `expiresAt`.
        case token(grant: SpaceGrant, scopes: Set<Scope>, expiresAt: Date)
    }

    /// A label for logs: `admin`, `dev`, `anonymous` or the token's subject.
    public let subject: String
    /// The caller's kind and rights.
    public let role: Role

    /// Creates a principal; the ``Authenticator`` makes them.
    public init(subject: String, role: Role) {
        self.subject = subject
        self.role = role
    }

    /// The principal of a request no credential has been checked for.
    public static let anonymous = Principal(subject: "anonymous", role: .anonymous)
    /// The holder of the admin key.
    public static let admin = Principal(subject: "admin", role: .admin)
    /// Everyone, in `--dev` mode.
    public static let dev = Principal(subject: "dev", role: .admin)

    /// Whether the caller holds the admin key (or the server runs in `--dev` mode).
    public var isAdmin: Bool { role == .admin }

    /// Checks that the caller may use `scope` on the space named `space`, or, when `space` is
    /// nil, on the whole database (routes such as `/metrics` that no token may use).
    ///
    /// - Parameters:
    ///   - space: The space the route touches (decoded name, may contain "/"), or nil for a
    ///     database-wide route: the admin key only.
    ///   - scope: The right the route needs (see ``Scope``).
    /// - Throws: ``AuthError`` 401 `unauthorized` for an anonymous caller, 403 `forbidden` for a
    ///   token for other spaces, one without `scope`, or any token on a database-wide route.
    public func authorize(space: String?, scope: Scope) throws(AuthError) {
        switch role {
        case .anonymous:
            throw AuthError.missingCredential
        case .admin:
            return
        case .token(let grant, let scopes, _):
            guard let space else {
                throw AuthError.forbidden("this route needs the admin key; tokens cannot use it")
            }
            guard grant.covers(space: space) else {
                throw AuthError.forbidden("the token is for \(grant), not space \(space)")
            }
            guard scopes.contains(scope) else {
                throw AuthError.forbidden("the token lacks the \(scope.rawValue) scope")
            }
        }
    }

    /// Checks that the caller may list spaces (`GET /v1/spaces`): the admin key, or a token with
    /// the `read` scope. The handler then keeps only the names ``canSee(space:)`` admits.
    /// - Throws: ``AuthError`` 401 for an anonymous caller, 403 for a token without `read`.
    public func authorizeListing() throws(AuthError) {
        switch role {
        case .anonymous:
            throw AuthError.missingCredential
        case .admin:
            return
        case .token(_, let scopes, _):
            guard scopes.contains(.read) else {
                throw AuthError.forbidden("listing spaces needs the read scope")
            }
        }
    }

    /// Whether the space named `space` may appear in this caller's listing: always for the admin
    /// key, for a token when its grant covers the name and it has the `read` scope.
    public func canSee(space: String) -> Bool {
        switch role {
        case .anonymous: false
        case .admin: true
        case .token(let grant, let scopes, _): scopes.contains(.read) && grant.covers(space: space)
        }
    }

    /// Checks that the caller may call `POST /v1/tokens` at all, before its body is read: the admin
    /// key, or a token with the `admin` scope (which may issue only tokens narrower than itself).
    /// - Throws: ``AuthError`` 401 for an anonymous caller, 403 for a token without `admin`.
    public func authorizeTokenIssue() throws(AuthError) {
        switch role {
        case .anonymous:
            throw AuthError.missingCredential
        case .admin:
            return
        case .token(_, let scopes, _):
            guard scopes.contains(.admin) else {
                throw AuthError.forbidden("issuing tokens needs the admin key or the admin scope")
            }
        }
    }

    /// Checks that the caller may issue a token with these rights: the admin key may issue any; a
    /// token with the `admin` scope only one whose grant it covers, whose scopes it holds and
    /// which expires no later than itself (so delegation never widens or prolongs a right).
    /// - Throws: ``AuthError`` 401 for an anonymous caller, 403 otherwise.
    public func authorizeIssue(grant: SpaceGrant, scopes: Set<Scope>, expiresAt: Date) throws(AuthError) {
        try authorizeTokenIssue()
        guard case .token(let own, let ownScopes, let ownExpiry) = role else { return }
        guard own.covers(grant) else {
            throw AuthError.forbidden("a token for \(own) cannot issue one for \(grant)")
        }
        guard scopes.isSubset(of: ownScopes) else {
            throw AuthError.forbidden("a token cannot issue scopes it does not hold")
        }
        guard expiresAt <= ownExpiry else {
            throw AuthError.forbidden("a token cannot issue one that outlives it")
        }
    }
}
