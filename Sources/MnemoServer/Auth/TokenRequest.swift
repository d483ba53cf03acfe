// The body of `POST /v1/tokens`: which spaces (one by name, or a prefix), which scopes, for how long
// and for whom. Validation names the offending field, as every 400 of the server does.

import Foundation

/// A request for a token: `{space | prefix, scopes, ttlSeconds?, subject?}`.
///
/// ```json
/// {"prefix": "tenant-7/", "scopes": ["read", "write"], "ttlSeconds": 3600, "subject": "agent-42"}
/// ```
public struct TokenRequest: Codable, Sendable, Equatable {
    /// The one space the token covers (exclusive with ``prefix``).
    public var space: String?
    /// The prefix, ending with "/", of the spaces the token covers (exclusive with ``space``).
    public var prefix: String?
    /// The rights it grants: a non-empty subset of read, write, admin.
    public var scopes: [Scope]
    /// Its lifetime in seconds, 1 to ``AuthLimits/tokenTTLSecondsMax``; default
    /// ``AuthLimits/tokenTTLSecondsDefault``.
    public var ttlSeconds: Int?
    /// A label for logs (default `token`), at most ``AuthLimits/subjectBytesMax`` bytes.
    public var subject: String?

    /// Creates a request.
    public init(space: String? = nil, prefix: String? = nil, scopes: [Scope], ttlSeconds: Int? = nil,
                subject: String? = nil) {
        self.space = space
        self.prefix = prefix
        self.scopes = scopes
        self.ttlSeconds = ttlSeconds
        self.subject = subject
    }

    /// The grant, the scopes, the lifetime and the subject, checked.
    /// - Throws: ``AuthError`` 400 `invalidArgument` naming the field at fault.
    func validated() throws(AuthError) -> (grant: SpaceGrant, scopes: Set<Scope>, ttlSeconds: Int, subject: String) {
        let grant: SpaceGrant
        switch (space, prefix) {
        case (let name?, nil): grant = .space(name)
        case (nil, let value?): grant = .prefix(value)
        case (nil, nil): throw AuthError.invalidArgument("give space or prefix", field: "space")
        case (.some, .some): throw AuthError.invalidArgument("give space or prefix, not both", field: "prefix")
        }
        try grant.validate()
        guard !scopes.isEmpty else {
            throw AuthError.invalidArgument("scopes must name at least one of read, write, admin", field: "scopes")
        }
        let ttl = ttlSeconds ?? AuthLimits.tokenTTLSecondsDefault
        guard ttl >= 1, ttl <= AuthLimits.tokenTTLSecondsMax else {
            throw AuthError.invalidArgument(
                "ttlSeconds must be 1 to \(AuthLimits.tokenTTLSecondsMax)", field: "ttlSeconds")
        }
        let subject = subject ?? "token"
        guard !subject.isEmpty, subject.utf8.count <= AuthLimits.subjectBytesMax else {
            throw AuthError.invalidArgument(
                "subject must be 1 to \(AuthLimits.subjectBytesMax) bytes", field: "subject")
        }
        return (grant, Set(scopes), ttl, subject)
    }
}
