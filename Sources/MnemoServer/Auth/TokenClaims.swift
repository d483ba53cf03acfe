// The payload of a Mnemo token. jwt-kit checks the signature; what the claims mean (exactly one of
// space and prefix, a known scope, an expiry in the future) is checked by `principal(at:)` with the
// Authenticator's clock, so tests can move time, and so every failure maps to a stable code.

import Foundation
import JWTKit

/// The claims a token carries: `sub`, `space` | `prefix`, `scopes`, `exp`, `iat`.
struct TokenClaims: JWTPayload, Equatable {
    /// Who the token was issued to: a label for logs.
    var sub: SubjectClaim
    /// The one space it covers, or nil when it covers a prefix.
    var space: String?
    /// The prefix of the spaces it covers, or nil when it covers one space.
    var prefix: String?
    /// Its rights.
    var scopes: [Scope]
    /// When it stops working (required: a token without one does not decode).
    var exp: ExpirationClaim
    /// When it was issued.
    var iat: IssuedAtClaim

    init(subject: String, grant: SpaceGrant, scopes: Set<Scope>, issuedAt: Date, expiresAt: Date) {
        sub = SubjectClaim(value: subject)
        switch grant {
        case .space(let name): space = name
        case .prefix(let value): prefix = value
        }
        self.scopes = scopes.sorted()
        exp = ExpirationClaim(value: expiresAt)
        iat = IssuedAtClaim(value: issuedAt)
    }

    /// Nothing here: jwt-kit calls it only when it verifies, and Authenticator verifies tokens itself
    /// and then checks the claims with ``principal(at:)``.
    func verify(using algorithm: some JWTAlgorithm) async throws {}

    /// The principal the claims describe, at time `now`.
    /// - Throws: ``AuthError`` 401 `tokenExpired` once `exp` has passed, 401 `unauthorized` when
    ///   the claims are not a well-formed grant.
    func principal(at now: Date) throws(AuthError) -> Principal {
        let grant: SpaceGrant
        switch (space, prefix) {
        case (let name?, nil): grant = .space(name)
        case (nil, let value?): grant = .prefix(value)
        default: throw AuthError.unauthorized("the token must name exactly one of space and prefix")
        }
        do {
            try grant.validate()
        } catch {
            throw AuthError.unauthorized("the token's \(grant) is not a valid grant")
        }
        guard !scopes.isEmpty else { throw AuthError.unauthorized("the token has no scopes") }
        guard now < exp.value else { throw AuthError.tokenExpired("the token expired at \(exp.value)") }
        return Principal(subject: sub.value,
                         role: .token(grant: grant, scopes: Set(scopes), expiresAt: exp.value))
    }
}
