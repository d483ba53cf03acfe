// AccessLevel: what a route needs of its caller: to read a space, to write it, or to
// administer (create, drop, import, issue tokens). The auth middleware maps credentials to it.

/// What a route needs of its caller's credential.
public enum AccessLevel: String, Sendable, Hashable, CaseIterable {
    /// Get, search, recall, list, count, export.
    case read
    /// Put, batch, delete, link, filtered delete.
    case write
    /// Create and drop spaces, import, issue tokens.
    case admin
}
