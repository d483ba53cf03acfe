// The answer to `POST /v1/tokens`: the token itself, when it expires and which key signed it (so an
// operator rotating keys can tell which tokens still depend on an old key).

import Foundation
import Hummingbird

/// An issued token: `{token, expiresAt, keyId}`.
public struct TokenResponse: Codable, Sendable, Equatable, ResponseEncodable {
    /// The credential to send as `Authorization: Bearer <token>`.
    public let token: String
    /// Its expiry, RFC 3339 in UTC (`2026-11-30T05:00:00Z`).
    public let expiresAt: String
    /// The id of the key that signed it.
    public let keyId: String

    /// Creates a response.
    public init(token: String, expiresAt: String, keyId: String) {
        self.token = token
        self.expiresAt = expiresAt
        self.keyId = keyId
    }
}
