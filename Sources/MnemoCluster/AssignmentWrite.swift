// The outcome of a conditional assignment write. A conflict is not an error: it is the normal
// answer when someone else changed the space first, and it carries what they wrote, so the caller
// can re-plan from the current state without another read.

/// What ``AssignmentStore/create(_:_:fence:)`` or ``AssignmentStore/update(_:to:expecting:fence:)`` did.
public enum AssignmentWrite: Hashable, Sendable {
    /// Written; the key's new mod_revision.
    case applied(modRevision: Int64)
    /// Not written: the key's revision was not the expected one. The current value (nil: absent).
    case conflict(current: StoredAssignment?)
    /// Not written: the fence failed (another controller leads now).
    case fenced
}
