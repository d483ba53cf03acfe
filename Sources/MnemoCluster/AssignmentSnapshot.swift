// Every space's assignment at one etcd revision: what a node routes by. Built by one prefix read,
// then kept current by applying watch batches in order; `directory()` turns it into the placement
// module's immutable Directory for lock-free lookups.

import MnemoPlacement

/// The assignment table at one revision.
public struct AssignmentSnapshot: Hashable, Sendable {
    /// Every space's stored assignment.
    public var entries: [SpaceID: StoredAssignment]
    /// The revision the table reflects (watch from revision + 1).
    public var revision: Int64

    /// Creates a snapshot.
    public init(entries: [SpaceID: StoredAssignment] = [:], revision: Int64 = 0) {
        self.entries = entries
        self.revision = revision
    }

    /// Applies one watch batch of the assignment prefix (keys outside `keys` are ignored, and so
    /// are malformed values: the writer validates, and a reader must not stop on one bad key).
    public mutating func apply(_ batch: EtcdWatch.Batch, keys: ClusterKeys) {
        for event in batch.events {
            guard let space = keys.space(fromKey: event.kv.key) else { continue }
            switch event.kind {
            case .delete:
                entries[space] = nil
            case .put:
                if let stored = StoredAssignment.decode(space: space, value: event.kv.value,
                                                        modRevision: event.kv.modRevision) {
                    entries[space] = stored
                }
            }
            revision = max(revision, event.kv.modRevision)
        }
        revision = max(revision, batch.revision)
    }

    /// The placement Directory of this table. Every entry carries the directory's version, the
    /// largest assignment version (at least 1); per-space versions stay in ``entries``.
    public func directory() throws(PlacementError) -> Directory {
        let version = max(1, entries.values.map(\.assignment.version).max() ?? 1)
        return try Directory(entries.values.map { ($0.space, $0.assignment.copies) }, version: version)
    }
}
