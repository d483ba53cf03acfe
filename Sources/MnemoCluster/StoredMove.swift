// A move record and the mod_revision of its key: the compare operand of every later change to the
// move (the executor's `complete` or `fail`, the controller's retry or removal), so two parties
// can never both act on the same version of a move.

import MnemoPlacement

/// A move as read from etcd, with its key's mod_revision.
public struct StoredMove: Hashable, Sendable {
    /// The move.
    public var record: MoveRecord
    /// The move key's mod_revision.
    public var modRevision: Int64

    /// Creates a stored move.
    public init(record: MoveRecord, modRevision: Int64) {
        self.record = record
        self.modRevision = modRevision
    }

    /// The space moved.
    public var space: SpaceID { record.space }
}
