// Turns the credential of a request into a Principal, and signs new tokens. A credential is either
// the admin key (compared in constant time) or a JWT signed by a key of the key set. Tokens are
// signed by jwt-kit's key collection and verified here, synchronously, with the same jwt-kit
// algorithms taken from that collection once at start: the collection is an actor (one hop per
// request on the hot path) and it falls back to its default key for an unknown kid, which would make
// "unknown kid" indistinguishable from "signed by the current key". So: the token's `kid` must name
// a key of the set and its `alg` that key's algorithm, the signature is checked over the exact bytes
// received, and only then is the payload decoded. In `--dev` mode every request is admitted as the
// admin (the server then binds loopback only).

import Foundation
import JWTKit

/// Authenticates requests and issues tokens.
///
/// ```swift
/// let keys = try TokenKeySet(contentsOfFile: "/etc/mnemo/keys.json")
/// let authenticator = await Authenticator(adminKey: try AdminKey(secret), keys: keys)
/// let principal = try authenticator.authenticate(authorization: "Bearer \(token)")
/// try principal.authorize(space: "tenant-7/notes", scope: .read)
/// ```
public struct Authenticator: Sendable {
    private let adminKey: AdminKey?
    private let keySet: TokenKeySet
    private let verifiers: [String: Verifier]
    private let collection: JWTKeyCollection
    private let now: @Sendable () -> Date

    /// Whether this authenticator admits every request (`--dev`).
    public var isDevelopment: Bool { adminKey == nil }
    /// The id of the key new tokens are signed with.
    public var currentKeyID: String { keySet.currentKeyID }

    /// An authenticator that requires the admin key or a token signed by one of `keys`.
    /// - Parameters:
    ///   - adminKey: The key that can do everything.
    ///   - keys: The token keys; new tokens are signed with `keys.currentKeyID`.
    ///   - now: The clock expiry is checked against (tests move it).
    public init(adminKey: AdminKey, keys: TokenKeySet, now: @escaping @Sendable () -> Date = { Date() }) async {
        await self.init(adminKey: Optional(adminKey), keys: keys, now: now)
    }

    private init(adminKey: AdminKey?, keys: TokenKeySet, now: @escaping @Sendable () -> Date) async {
        self.adminKey = adminKey
        keySet = keys
        collection = JWTKeyCollection()
        var verifiers: [String: Verifier] = [:]
        for key in keys.keys {
            await key.add(to: collection)
            // The key was just added under its own kid, so the lookup cannot fall back to another.
            if let algorithm = try? await collection.getKey(for: JWKIdentifier(string: key.id)) {
                verifiers[key.id] = Verifier(name: key.algorithm, algorithm: algorithm)
            }
        }
        self.verifiers = verifiers
        self.now = now
    }

    /// The `--dev` authenticator: every request, with or without a credential, is the admin
    /// (``Principal/dev``). Tokens can still be issued (with `keys`, or a fresh random key).
    public static func development(
        keys: TokenKeySet? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) async throws(AuthError) -> Authenticator {
        let set: TokenKeySet
        if let keys { set = keys } else { set = try TokenKeySet.generated() }
        return await Authenticator(adminKey: nil, keys: set, now: now)
    }

    /// The principal of a request from all its `Authorization` header values: two or more are
    /// ambiguous (which one did a proxy add?) and refused.
    /// - Throws: ``AuthError`` 401 for more than one value; otherwise as
    ///   ``authenticate(authorization:)``.
    public func authenticate(authorizationValues values: [String]) throws(AuthError) -> Principal {
        guard values.count <= 1 else {
            throw AuthError.unauthorized("send one Authorization header, not \(values.count)")
        }
        return try authenticate(authorization: values.first)
    }

    /// The principal of a request from its `Authorization` header value.
    /// - Parameter authorization: The header's value (`Bearer <credential>`), nil when absent.
    /// - Throws: ``AuthError`` 401 `unauthorized` when absent, not `Bearer`, not the admin key and
    ///   not a valid token; 401 `tokenExpired` for an expired token.
    public func authenticate(authorization: String?) throws(AuthError) -> Principal {
        guard adminKey != nil else { return .dev }
        guard let authorization, !authorization.isEmpty else { throw AuthError.missingCredential }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw AuthError.unauthorized("the Authorization header must be \"Bearer <credential>\"")
        }
        return try authenticate(bearer: String(parts[1].trimmingCharacters(in: .whitespaces)))
    }

    /// The principal a bearer credential (the admin key or a token) stands for.
    /// - Throws: as ``authenticate(authorization:)``.
    public func authenticate(bearer credential: String) throws(AuthError) -> Principal {
        guard let adminKey else { return .dev }
        guard !credential.isEmpty else { throw AuthError.missingCredential }
        guard credential.utf8.count <= AuthLimits.credentialBytesMax else {
            throw AuthError.unauthorized("the credential is longer than \(AuthLimits.credentialBytesMax) bytes")
        }
        if adminKey.matches(credential) {
            return .admin
        }
        return try verify(token: credential)
    }

    private struct Verifier: Sendable {
        let name: TokenKey.Algorithm
        let algorithm: any JWTAlgorithm
    }

    private struct Header: Decodable {
        let alg: String?
        let kid: String?
    }

    /// The principal a token stands for.
    private func verify(token: String) throws(AuthError) -> Principal {
        let bytes = Array(token.utf8)
        let dots = bytes.indices.filter { bytes[$0] == UInt8(ascii: ".") }
        guard dots.count == 2, let headerBytes = Base64URL.decode(bytes[..<dots[0]]),
              let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes))
        else {
            throw AuthError.unauthorized("the credential is neither the admin key nor a token")
        }
        guard let kid = header.kid else { throw AuthError.unauthorized("the token names no key id") }
        guard let verifier = verifiers[kid] else {
            throw AuthError.unauthorized("the token's key id is unknown (retired or never issued here)")
        }
        guard header.alg == verifier.name.rawValue else {
            throw AuthError.unauthorized("the token's algorithm is not its key's")
        }
        let signingInput = bytes[..<dots[1]]
        guard let signature = Base64URL.decode(bytes[(dots[1] + 1)...]),
              (try? verifier.algorithm.verify(signature, signs: signingInput)) == true
        else {
            throw AuthError.unauthorized("the token's signature does not verify")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        guard let payload = Base64URL.decode(bytes[(dots[0] + 1)..<dots[1]]),
              let claims = try? decoder.decode(TokenClaims.self, from: Data(payload))
        else {
            throw AuthError.unauthorized("the token's payload is not Mnemo claims")
        }
        return try claims.principal(at: now())
    }

    /// Issues a token (`POST /v1/tokens`), signed with the current key.
    ///
    /// The server's route calls it after decoding the body:
    /// ```swift
    /// router.post("/v1/tokens") { request, context in
    ///     try context.principal.authorizeTokenIssue()
    ///     let body = try await request.decode(as: TokenRequest.self, context: context)
    ///     return EditedResponse(status: .created,
    ///                           response: try await authenticator.issueToken(body, by: context.principal))
    /// }
    /// ```
    /// - Parameters:
    ///   - request: What to grant, checked field by field.
    ///   - principal: The caller: the admin key, or a token with the `admin` scope that covers the
    ///     requested grant, holds the requested scopes and outlives the new token.
    /// - Throws: ``AuthError`` 400 `invalidArgument` (with the field), 401, or 403 `forbidden`.
    public func issueToken(_ request: TokenRequest, by principal: Principal) async throws(AuthError) -> TokenResponse {
        try principal.authorizeTokenIssue()
        let (grant, scopes, ttl, subject) = try request.validated()
        // Whole seconds: `exp` and `iat` are NumericDates, and `expiresAt` is printed to the second.
        let issuedAt = Date(timeIntervalSince1970: now().timeIntervalSince1970.rounded(.down))
        let expiresAt = issuedAt.addingTimeInterval(TimeInterval(ttl))
        try principal.authorizeIssue(grant: grant, scopes: scopes, expiresAt: expiresAt)
        let claims = TokenClaims(subject: subject, grant: grant, scopes: scopes, issuedAt: issuedAt,
                                 expiresAt: expiresAt)
        let token: String
        do {
            token = try await collection.sign(claims, kid: JWKIdentifier(string: keySet.currentKeyID))
        } catch {
            throw AuthError.invalidConfiguration("signing with key \(keySet.currentKeyID) failed")
        }
        return TokenResponse(token: token, expiresAt: expiresAt.formatted(.iso8601), keyId: keySet.currentKeyID)
    }
}
