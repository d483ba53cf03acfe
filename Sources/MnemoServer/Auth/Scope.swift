// What a credential may do to a space. Three independent rights, checked route by route: a token
// carries the subset it was issued with, and none implies another, so a token that may create and
// drop spaces (`admin`) cannot read or write memories unless it also says `read` or `write`.

/// A right a token grants over the spaces it covers.
///
/// | Scope | Routes |
/// |---|---|
/// | ``read`` | `GET` a space or a memory, search, recall, filtered list and count, export, `GET /v1/spaces` (names it can see) |
/// | ``write`` | `PUT`/`POST` memories, `DELETE` a memory, links, filtered delete, import |
/// | ``admin`` | create and drop a space, issue tokens (`POST /v1/tokens`) |
public enum Scope: String, Sendable, Codable, CaseIterable, Hashable, Comparable {
    /// Read memories and space statistics.
    case read
    /// Insert, update and delete memories and links.
    case write
    /// Create and drop spaces, and issue tokens no wider than the caller's own.
    case admin

    /// Orders scopes read < write < admin, so sets of them print in a stable order.
    public static func < (lhs: Scope, rhs: Scope) -> Bool {
        lhs.rank < rhs.rank
    }

    private var rank: Int {
        switch self {
        case .read: 0
        case .write: 1
        case .admin: 2
        }
    }
}
