// Every space's move at one etcd revision, built by one prefix read and kept current by applying
// watch batches in order, exactly like the assignment snapshot.

import MnemoPlacement

/// The move table at one revision.
public struct MoveSnapshot: Hashable, Sendable {
    /// The moves by space (at most one per space).
    public var entries: [SpaceID: StoredMove]
    /// The revision the table reflects (watch from revision + 1).
    public var revision: Int64

    /// Creates a snapshot.
    public init(entries: [SpaceID: StoredMove] = [:], revision: Int64 = 0) {
        self.entries = entries
        self.revision = revision
    }

    /// Applies one watch batch of the moves prefix (foreign keys and malformed values are skipped).
    public mutating func apply(_ batch: EtcdWatch.Batch, keys: ClusterKeys) {
        for event in batch.events {
            guard let space = keys.space(fromMoveKey: event.kv.key) else { continue }
            switch event.kind {
            case .delete:
                entries[space] = nil
            case .put:
                if let record = MoveRecord.decoded(space: space, from: event.kv.value) {
                    entries[space] = StoredMove(record: record, modRevision: event.kv.modRevision)
                } else {
                    entries[space] = nil
                }
            }
            revision = max(revision, event.kv.modRevision)
        }
        revision = max(revision, batch.revision)
    }

    /// The pending moves.
    public var pending: [StoredMove] { entries.values.filter { $0.record.state == .pending } }
    /// The failed moves.
    public var failed: [StoredMove] { entries.values.filter { $0.record.state == .failed } }
}
