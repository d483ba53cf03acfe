// RequestAccess: the rights one request arrived with, as the auth middleware established them.
// Routes ask it through ServerContext.require; the check itself is one place, here.

/// The rights of one request.
public enum RequestAccess: Sendable {
    /// Dev mode, or a route that needs no credential: everything is allowed.
    case unrestricted
    /// A checked credential: `check(level, space)` throws when it does not allow that.
    case checked(@Sendable (AccessLevel, String?) throws(ServerError) -> Void)

    /// Throws 403 (or 401) unless the rights allow `level` on `space`.
    public func require(_ level: AccessLevel, space: String?) throws(ServerError) {
        switch self {
        case .unrestricted: return
        case .checked(let check): try check(level, space)
        }
    }
}

extension RequestAccess {
    /// Whether the rights allow `level` on `space` (listing filters on it).
    public func allows(_ level: AccessLevel, space: String?) -> Bool {
        do {
            try require(level, space: space)
            return true
        } catch {
            return false
        }
    }
}
