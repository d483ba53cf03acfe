// The outcome of a conditional write of a move key. Like AssignmentWrite: a conflict is a normal
// answer (someone changed the move, the space's assignment, or completed the move first), and the
// fence failing means another controller leads now: the writer must stop writing.

/// What a ``MoveStore`` write did.
public enum MoveWrite: Hashable, Sendable {
    /// Written (or deleted); the revision of the write.
    case applied(revision: Int64)
    /// Not written: a compared revision differed. The move as it is now (nil: no move key).
    case conflict(current: StoredMove?)
    /// Not written: the fence failed (another controller leads now).
    case fenced

    /// Whether the write applied.
    public var isApplied: Bool {
        if case .applied = self { return true }
        return false
    }
}
