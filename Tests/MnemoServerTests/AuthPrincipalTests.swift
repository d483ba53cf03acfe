// Proves the authorization rules: exact grants match only their name and prefix grants only names
// under them, compared as bytes (`tenant-7/` does not cover `tenant-70/x`, `a` does not cover `a/b`,
// NFC and NFD spellings are different spaces); each route's scope is required separately; tokens
// never pass database-wide checks; listing needs read and shows only covered names; anonymous is
// 401 everywhere; a token may delegate only a narrower, shorter-lived token; bad token requests are
// 400 naming their field.

import Foundation
import Testing
@testable import MnemoServer

@Suite struct AuthPrincipalTests {
    let expiry = Date(timeIntervalSince1970: 1_800_000_600)

    func token(_ grant: SpaceGrant, _ scopes: Set<Scope>) -> Principal {
        Principal(subject: "t", role: .token(grant: grant, scopes: scopes, expiresAt: expiry))
    }

    func code(_ body: () throws -> Void) -> AuthError.Code? {
        do {
            try body()
            return nil
        } catch {
            return (error as? AuthError)?.code
        }
    }

    @Test func exactGrantMatchesOnlyItsName() {
        let grant = SpaceGrant.space("a")
        #expect(grant.covers(space: "a"))
        for other in ["a/b", "a/", "ab", "A", "", " a", "a "] {
            #expect(!grant.covers(space: other), "\(other)")
        }
    }

    @Test func prefixGrantMatchesOnlyNamesUnderIt() {
        let grant = SpaceGrant.prefix("tenant-7/")
        for name in ["tenant-7/a", "tenant-7/a/b", "tenant-7/"] {
            #expect(grant.covers(space: name), "\(name)")
        }
        for name in ["tenant-70/x", "tenant-7", "tenant-8/a", "xtenant-7/a", "Tenant-7/a", ""] {
            #expect(!grant.covers(space: name), "\(name)")
        }
    }

    @Test func namesAreComparedAsBytes() {
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        #expect(composed == decomposed)  // Swift String equality: canonical equivalence
        #expect(!SpaceGrant.space(composed).covers(space: decomposed))
        #expect(!SpaceGrant.prefix("\(composed)/").covers(space: "\(decomposed)/x"))
        #expect(SpaceGrant.space(composed).covers(space: "caf\u{E9}"))
    }

    @Test func grantShapesAreValidated() {
        #expect(code { try SpaceGrant.prefix("tenant-7").validate() } == .invalidArgument)
        #expect(code { try SpaceGrant.prefix("/").validate() } == .invalidArgument)
        #expect(code { try SpaceGrant.prefix("").validate() } == .invalidArgument)
        #expect(code { try SpaceGrant.space("").validate() } == .invalidArgument)
        #expect(code { try SpaceGrant.space(String(repeating: "x", count: 129)).validate() } == .invalidArgument)
        #expect(code { try SpaceGrant.prefix("tenant-7/").validate() } == nil)
        #expect(code { try SpaceGrant.space(String(repeating: "x", count: 128)).validate() } == nil)
    }

    @Test func eachScopeIsCheckedOnItsOwn() {
        let reader = token(.space("a"), [.read])
        #expect(code { try reader.authorize(space: "a", scope: .read) } == nil)
        #expect(code { try reader.authorize(space: "a", scope: .write) } == .forbidden)
        #expect(code { try reader.authorize(space: "a", scope: .admin) } == .forbidden)
        let administrator = token(.space("a"), [.admin])
        #expect(code { try administrator.authorize(space: "a", scope: .admin) } == nil)
        #expect(code { try administrator.authorize(space: "a", scope: .write) } == .forbidden)
        #expect(code { try administrator.authorize(space: "a", scope: .read) } == .forbidden)
        let all = token(.prefix("t/"), Set(Scope.allCases))
        for scope in Scope.allCases {
            #expect(code { try all.authorize(space: "t/x", scope: scope) } == nil)
            #expect(code { try all.authorize(space: "u/x", scope: scope) } == .forbidden)
            #expect(code { try all.authorize(space: nil, scope: scope) } == .forbidden)
        }
    }

    @Test func adminAnonymousAndForbiddenStatuses() throws {
        for scope in Scope.allCases {
            try Principal.admin.authorize(space: nil, scope: scope)
            try Principal.admin.authorize(space: "any", scope: scope)
            #expect(code { try Principal.anonymous.authorize(space: "a", scope: scope) } == .unauthorized)
            #expect(code { try Principal.anonymous.authorize(space: nil, scope: scope) } == .unauthorized)
        }
        #expect(code { try Principal.anonymous.authorizeListing() } == .unauthorized)
        #expect(code { try Principal.anonymous.authorizeTokenIssue() } == .unauthorized)
        do {
            try token(.space("a"), [.read]).authorize(space: "b", scope: .read)
            Issue.record("another space was allowed")
        } catch {
            #expect(error.status == .forbidden)
        }
    }

    @Test func listingShowsOnlyCoveredNames() {
        let names = ["a", "a/b", "tenant-7/x", "tenant-70/x", "z"]
        #expect(names.filter(Principal.admin.canSee(space:)) == names)
        #expect(names.filter(Principal.anonymous.canSee(space:)).isEmpty)
        #expect(names.filter(token(.prefix("tenant-7/"), [.read]).canSee(space:)) == ["tenant-7/x"])
        #expect(names.filter(token(.space("a"), [.read]).canSee(space:)) == ["a"])
        #expect(names.filter(token(.space("a"), [.write]).canSee(space:)).isEmpty)
        #expect(code { try token(.space("a"), [.read]).authorizeListing() } == nil)
        #expect(code { try token(.space("a"), [.write, .admin]).authorizeListing() } == .forbidden)
    }

    @Test func delegationIsNeverWiderNorLonger() {
        let tenantAdmin = token(.prefix("tenant-7/"), [.read, .write, .admin])
        let soon = expiry.addingTimeInterval(-1)
        #expect(code { try tenantAdmin.authorizeIssue(grant: .space("tenant-7/a"), scopes: [.read], expiresAt: soon) } == nil)
        #expect(code { try tenantAdmin.authorizeIssue(grant: .prefix("tenant-7/x/"), scopes: [.write], expiresAt: expiry) } == nil)
        #expect(code { try tenantAdmin.authorizeIssue(grant: .prefix("tenant-70/"), scopes: [.read], expiresAt: soon) } == .forbidden)
        #expect(code { try tenantAdmin.authorizeIssue(grant: .space("tenant-70/a"), scopes: [.read], expiresAt: soon) } == .forbidden)
        #expect(code { try tenantAdmin.authorizeIssue(grant: .space("tenant-7/a"), scopes: [.read], expiresAt: expiry.addingTimeInterval(1)) } == .forbidden)
        let exactAdmin = token(.space("a"), [.admin, .read])
        #expect(code { try exactAdmin.authorizeIssue(grant: .space("a"), scopes: [.read], expiresAt: soon) } == nil)
        #expect(code { try exactAdmin.authorizeIssue(grant: .space("a"), scopes: [.write], expiresAt: soon) } == .forbidden)
        #expect(code { try exactAdmin.authorizeIssue(grant: .prefix("a/"), scopes: [.read], expiresAt: soon) } == .forbidden)
        let reader = token(.prefix("tenant-7/"), [.read])
        #expect(code { try reader.authorizeTokenIssue() } == .forbidden)
        #expect(code { try Principal.admin.authorizeIssue(grant: .prefix("x/"), scopes: Set(Scope.allCases), expiresAt: .distantFuture) } == nil)
    }

    @Test func tokenRequestsAreValidatedFieldByField() async throws {
        let clock = AuthTestClock()
        let authenticator = try await AuthFixtures.authenticator(keys: AuthFixtures.keySet(), clock: clock)
        let bad: [(TokenRequest, String)] = [
            (TokenRequest(scopes: [.read]), "space"),
            (TokenRequest(space: "a", prefix: "a/", scopes: [.read]), "prefix"),
            (TokenRequest(prefix: "tenant-7", scopes: [.read]), "prefix"),
            (TokenRequest(space: "a", scopes: []), "scopes"),
            (TokenRequest(space: "a", scopes: [.read], ttlSeconds: 0), "ttlSeconds"),
            (TokenRequest(space: "a", scopes: [.read], ttlSeconds: AuthLimits.tokenTTLSecondsMax + 1), "ttlSeconds"),
            (TokenRequest(space: "a", scopes: [.read], subject: ""), "subject"),
            (TokenRequest(space: "a", scopes: [.read], subject: String(repeating: "s", count: 257)), "subject"),
        ]
        for (request, field) in bad {
            do {
                _ = try await authenticator.issueToken(request, by: .admin)
                Issue.record("accepted \(request)")
            } catch {
                #expect(error.status == .badRequest)
                #expect(error.code == .invalidArgument)
                #expect(error.field == field)
            }
        }
        let longest = try await authenticator.issueToken(
            TokenRequest(space: "a", scopes: [.read], ttlSeconds: AuthLimits.tokenTTLSecondsMax), by: .admin)
        #expect(longest.expiresAt == clock.now.addingTimeInterval(TimeInterval(AuthLimits.tokenTTLSecondsMax)).formatted(.iso8601))
        let defaulted = try await authenticator.issueToken(TokenRequest(space: "a", scopes: [.read]), by: .admin)
        #expect(defaulted.expiresAt == clock.now.addingTimeInterval(TimeInterval(AuthLimits.tokenTTLSecondsDefault)).formatted(.iso8601))
        // Not an admin: refused before the body is looked at.
        await #expect(throws: AuthError.forbidden("issuing tokens needs the admin key or the admin scope")) {
            _ = try await authenticator.issueToken(TokenRequest(scopes: []), by: token(.space("a"), [.read]))
        }
    }

    @Test func delegatedTokenWorksEndToEnd() async throws {
        let clock = AuthTestClock()
        let authenticator = try await AuthFixtures.authenticator(keys: AuthFixtures.keySet(), clock: clock)
        let tenant = try await AuthFixtures.token(authenticator, prefix: "tenant-7/", scopes: [.read, .admin], ttl: 600)
        let tenantPrincipal = try authenticator.authenticate(authorization: "Bearer \(tenant.token)")
        let child = try await authenticator.issueToken(
            TokenRequest(space: "tenant-7/a", scopes: [.read], ttlSeconds: 300, subject: "agent"), by: tenantPrincipal)
        let childPrincipal = try authenticator.authenticate(authorization: "Bearer \(child.token)")
        try childPrincipal.authorize(space: "tenant-7/a", scope: .read)
        #expect(code { try childPrincipal.authorize(space: "tenant-7/b", scope: .read) } == .forbidden)
        await #expect(throws: AuthError.self) {
            _ = try await authenticator.issueToken(
                TokenRequest(space: "tenant-7/a", scopes: [.read], ttlSeconds: 601), by: tenantPrincipal)
        }
    }
}
