// Proves token issue and verification: a token issued by the admin authenticates as its grant; an
// expired token is 401 tokenExpired (at exactly exp too); a flipped signature byte, an edited
// payload (other space, more scopes, later expiry), an unknown or missing kid, a kid pointing to a
// key of another algorithm, "alg: none", a token signed by a different secret and garbage are all
// 401 unauthorized; rotation keeps old tokens valid while new ones carry the new kid, and removing
// the old key retires its tokens; EdDSA keys sign and verify-only keys verify.

import Foundation
import JWTKit
import Testing
@testable import MnemoServer

@Suite struct AuthTokenTests {
    let clock = AuthTestClock()

    private func expectAuthFailure(
        _ authenticator: Authenticator, _ token: String, code: AuthError.Code = .unauthorized,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let principal = try authenticator.authenticate(authorization: "Bearer \(token)")
            Issue.record("accepted as \(principal.subject)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, sourceLocation: sourceLocation)
            #expect(error.status == .unauthorized, sourceLocation: sourceLocation)
        }
    }

    @Test func issuedTokenAuthenticatesAsItsGrant() async throws {
        let authenticator = try await AuthFixtures.authenticator(keys: AuthFixtures.keySet(), clock: clock)
        let issued = try await AuthFixtures.token(authenticator, space: "notes", scopes: [.read, .write], ttl: 600)
        #expect(issued.keyId == "k1")
        let principal = try authenticator.authenticate(authorization: "Bearer \(issued.token)")
        #expect(principal.subject == "test")
        #expect(principal.role == .token(grant: .space("notes"), scopes: [.read, .write],
                                         expiresAt: clock.now.addingTimeInterval(600)))
        let header = try AuthFixtures.json(AuthFixtures.segments(issued.token)[0])
        #expect(header["kid"] as? String == "k1")
        #expect(header["alg"] as? String == "HS256")
        let payload = try AuthFixtures.json(AuthFixtures.segments(issued.token)[1])
        #expect(payload["space"] as? String == "notes")
        #expect(payload["exp"] as? Double == clock.now.timeIntervalSince1970 + 600)
        #expect(payload["iat"] as? Double == clock.now.timeIntervalSince1970)
        #expect(issued.expiresAt == clock.now.addingTimeInterval(600).formatted(.iso8601))
    }

    @Test func expiredTokenIsRefusedWithItsOwnCode() async throws {
        let authenticator = try await AuthFixtures.authenticator(keys: AuthFixtures.keySet(), clock: clock)
        let issued = try await AuthFixtures.token(authenticator, space: "a", scopes: [.read], ttl: 60)
        clock.advance(seconds: 59)
        _ = try authenticator.authenticate(authorization: "Bearer \(issued.token)")
        clock.advance(seconds: 1)
        expectAuthFailure(authenticator, issued.token, code: .tokenExpired)
        clock.advance(seconds: 3600)
        expectAuthFailure(authenticator, issued.token, code: .tokenExpired)
    }

    @Test func tamperedSignatureIsRefused() async throws {
        let authenticator = try await AuthFixtures.authenticator(keys: AuthFixtures.keySet(), clock: clock)
        let issued = try await AuthFixtures.token(authenticator, space: "a", scopes: [.read])
        expectAuthFailure(authenticator, try AuthFixtures.flippingSignature(issued.token))
        let parts = AuthFixtures.segments(issued.token)
        expectAuthFailure(authenticator, parts[0] + "." + parts[1] + ".")
        expectAuthFailure(authenticator, parts[0] + "." + parts[1])
    }

    @Test func tamperedPayloadIsRefused() async throws {
        let authenticator = try await AuthFixtures.authenticator(keys: AuthFixtures.keySet(), clock: clock)
        let issued = try await AuthFixtures.token(authenticator, space: "a", scopes: [.read])
        // Each edit alone would widen the token; none survives the signature check.
        let edits: [(inout [String: Any]) -> Void] = [
            { $0["space"] = "b" },
            { $0["space"] = nil; $0["prefix"] = "a/" },
            { $0["scopes"] = ["read", "write", "admin"] },
            { $0["exp"] = (($0["exp"] as? Double) ?? 0) + 86_400 },
            { $0["sub"] = "admin" },
        ]
        for edit in edits {
            expectAuthFailure(authenticator, try AuthFixtures.editingPayload(issued.token, edit))
        }
    }

    @Test func unknownMissingOrMismatchedKeyIDIsRefused() async throws {
        let keys = try TokenKeySet(current: "k1", keys: [AuthFixtures.hs256("k1", fill: 1),
                                                         TokenKey.generateEdDSA(id: "ed")])
        let authenticator = try await AuthFixtures.authenticator(keys: keys, clock: clock)
        let issued = try await AuthFixtures.token(authenticator, space: "a", scopes: [.read])
        expectAuthFailure(authenticator, try AuthFixtures.editingHeader(issued.token) { $0["kid"] = "k9" })
        expectAuthFailure(authenticator, try AuthFixtures.editingHeader(issued.token) { $0["kid"] = nil })
        expectAuthFailure(authenticator, try AuthFixtures.editingHeader(issued.token) { $0["kid"] = "ed" })
        expectAuthFailure(authenticator, try AuthFixtures.editingHeader(issued.token) { $0["alg"] = "EdDSA" })
        expectAuthFailure(authenticator, try AuthFixtures.editingHeader(issued.token) { $0["alg"] = "none" })
    }

    /// jwt-kit's key collection verifies a token with an unknown kid against its default key; the
    /// authenticator must refuse it before that fallback can accept it.
    @Test func validSignatureUnderAnUnknownKeyIDIsRefused() async throws {
        let authenticator = try await AuthFixtures.authenticator(keys: AuthFixtures.keySet(), clock: clock)
        let sameSecretOtherID = try await Authenticator(
            adminKey: AdminKey(AuthFixtures.adminKeyText), keys: AuthFixtures.keySet("k9", fill: 1),
            now: clock.closure)
        let issued = try await AuthFixtures.token(sameSecretOtherID, space: "a", scopes: [.read])
        #expect(issued.keyId == "k9")
        expectAuthFailure(authenticator, issued.token)
    }

    @Test func tokenSignedWithAnotherSecretIsRefused() async throws {
        let authenticator = try await AuthFixtures.authenticator(keys: AuthFixtures.keySet("k1", fill: 1), clock: clock)
        let forger = try await AuthFixtures.authenticator(keys: AuthFixtures.keySet("k1", fill: 2), clock: clock)
        let forged = try await AuthFixtures.token(forger, space: "a", scopes: [.read])
        expectAuthFailure(authenticator, forged.token)
    }

    @Test func unsignedTokenIsRefused() async throws {
        let authenticator = try await AuthFixtures.authenticator(keys: AuthFixtures.keySet(), clock: clock)
        let payload: [String: Any] = ["sub": "x", "space": "a", "scopes": ["read"],
                                      "exp": clock.now.timeIntervalSince1970 + 60,
                                      "iat": clock.now.timeIntervalSince1970]
        for alg in ["none", "HS256"] {
            let header = try AuthFixtures.segment(["alg": alg, "kid": "k1", "typ": "JWT"])
            expectAuthFailure(authenticator, header + "." + (try AuthFixtures.segment(payload)) + ".")
        }
    }

    @Test func garbageIsRefused() async throws {
        let authenticator = try await AuthFixtures.authenticator(keys: AuthFixtures.keySet(), clock: clock)
        for credential in ["x", "a.b.c", "...", "not base64!.x.y", String(repeating: "A", count: 9000),
                           AuthFixtures.adminKeyText + "x", String(AuthFixtures.adminKeyText.dropLast())] {
            expectAuthFailure(authenticator, credential)
        }
    }

    @Test func rotationKeepsOldTokensAndSignsWithTheNewKey() async throws {
        let old = try AuthFixtures.keySet("k1", fill: 1)
        let before = try await AuthFixtures.authenticator(keys: old, clock: clock)
        let oldToken = try await AuthFixtures.token(before, space: "a", scopes: [.read])

        let rotated = try old.rotated(to: AuthFixtures.hs256("k2", fill: 2))
        #expect(rotated.currentKeyID == "k2")
        let after = try await AuthFixtures.authenticator(keys: rotated, clock: clock)
        _ = try after.authenticate(authorization: "Bearer \(oldToken.token)")
        let newToken = try await AuthFixtures.token(after, space: "a", scopes: [.read])
        #expect(newToken.keyId == "k2")
        #expect(try AuthFixtures.json(AuthFixtures.segments(newToken.token)[0])["kid"] as? String == "k2")
        _ = try after.authenticate(authorization: "Bearer \(newToken.token)")
        // A server that has not loaded the new key yet refuses the new token.
        expectAuthFailure(before, newToken.token)

        let retired = try await AuthFixtures.authenticator(keys: rotated.removing(keyID: "k1"), clock: clock)
        expectAuthFailure(retired, oldToken.token)
        _ = try retired.authenticate(authorization: "Bearer \(newToken.token)")
    }

    @Test func eddsaKeysSignAndVerifyOnlyKeysVerify() async throws {
        let signing = try TokenKey.generateEdDSA(id: "ed1")
        let issuer = try await AuthFixtures.authenticator(
            keys: TokenKeySet(current: "ed1", keys: [signing]), clock: clock)
        let issued = try await AuthFixtures.token(issuer, prefix: "t/", scopes: [.write])
        #expect(try AuthFixtures.json(AuthFixtures.segments(issued.token)[0])["alg"] as? String == "EdDSA")
        _ = try issuer.authenticate(authorization: "Bearer \(issued.token)")

        let verifier = try await AuthFixtures.authenticator(
            keys: TokenKeySet(current: "h", keys: [AuthFixtures.hs256("h", fill: 3), signing.verifyOnly]),
            clock: clock)
        let principal = try verifier.authenticate(authorization: "Bearer \(issued.token)")
        #expect(principal.role == .token(grant: .prefix("t/"), scopes: [.write],
                                         expiresAt: clock.now.addingTimeInterval(600)))
        expectAuthFailure(verifier, try AuthFixtures.flippingSignature(issued.token))
        // The Ed25519 public key used as an HMAC secret (algorithm confusion) does not verify.
        expectAuthFailure(verifier, try AuthFixtures.editingHeader(issued.token) { $0["alg"] = "HS256" })
        #expect(throws: AuthError.self) { try TokenKeySet(current: "ed1", keys: [signing.verifyOnly]) }
    }

    @Test func adminKeyAndHeaderParsing() async throws {
        let authenticator = try await AuthFixtures.authenticator(keys: AuthFixtures.keySet(), clock: clock)
        #expect(try authenticator.authenticate(authorization: "Bearer \(AuthFixtures.adminKeyText)") == .admin)
        #expect(try authenticator.authenticate(authorization: "bearer  \(AuthFixtures.adminKeyText) ") == .admin)
        for header in [nil, "", "Bearer", "Bearer ", "Basic \(AuthFixtures.adminKeyText)",
                       AuthFixtures.adminKeyText, "Token \(AuthFixtures.adminKeyText)"] as [String?] {
            #expect(throws: AuthError.self) { try authenticator.authenticate(authorization: header) }
        }
        do {
            _ = try authenticator.authenticate(authorization: nil)
        } catch {
            #expect(error == AuthError.missingCredential)
        }
    }

    @Test func developmentModeAdmitsEverything() async throws {
        let authenticator = try await Authenticator.development(now: clock.closure)
        #expect(authenticator.isDevelopment)
        #expect(try authenticator.authenticate(authorization: nil) == .dev)
        #expect(try authenticator.authenticate(authorization: "Bearer junk") == .dev)
        try Principal.dev.authorize(space: nil, scope: .admin)
        let issued = try await AuthFixtures.token(authenticator, space: "a", scopes: [.read])
        #expect(issued.keyId == "ephemeral")
    }
}
