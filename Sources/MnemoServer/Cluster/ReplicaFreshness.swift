// ReplicaFreshness: what a replica knows about how current its copies are, for reads that accept
// bounded staleness (`Mnemo-Max-Staleness`, docs/consistency.md). A copy is *fresh as of* the last
// moment it held every record its primary had: a replication request carries the primary's
// sequence when it was sent (`Mnemo-Primary-Sequence`), and once the copy's sequence reaches it
// the copy was current then; a primary whose stream to this replica is idle and caught up says so
// once a second in a heartbeat (`POST /v1/cluster/heartbeat`), which refreshes the mark without
// any record. Times are this node's monotonic clock at receipt, so a copy reads as slightly
// fresher than it is by the one-way latency of the request (loopback: well under a millisecond).
// Kept in memory: after a restart no copy is fresh until its primary's next request.
import MnemoPlacement
import Synchronization

/// The freshness of this node's replica copies. Thread-safe.
final class ReplicaFreshness: Sendable {
    private struct Copy {
        var name: String
        var sequence: UInt64
        var freshAt: ContinuousClock.Instant?
    }

    private let copies = Mutex<[SpaceID: Copy]>([:])

    /// Records that the copy of `name` holds `sequence`, and that its primary had `primary` when it
    /// sent the request (nil: not said).
    func applied(_ name: String, sequence: UInt64, primary: UInt64?) {
        let now = ContinuousClock.now
        copies.withLock { copies in
            let id = SpaceID(name: name)
            var copy = copies[id] ?? Copy(name: name, sequence: sequence)
            copy.sequence = sequence
            if let primary, sequence >= primary { copy.freshAt = now }
            copies[id] = copy
        }
    }

    /// A primary's heartbeat: its sequence of each listed space, all replicated to this node.
    /// Returns how many copies it found current.
    @discardableResult
    func heartbeat(_ sequences: [SpaceID: UInt64]) -> Int {
        let now = ContinuousClock.now
        return copies.withLock { copies in
            var current = 0
            for (space, sequence) in sequences {
                guard var copy = copies[space], copy.sequence >= sequence else { continue }
                copy.freshAt = now
                copies[space] = copy
                current += 1
            }
            return current
        }
    }

    /// How long ago the copy of `name` was last known current (nil: never since this node started).
    func staleness(of name: String) -> Duration? {
        copies.withLock { $0[SpaceID(name: name)]?.freshAt }.map { ContinuousClock.now - $0 }
    }

    /// Forgets the copy of `name` (dropped, or this node became its primary).
    func forget(_ name: String) {
        _ = copies.withLock { $0.removeValue(forKey: SpaceID(name: name)) }
    }
}
