// ReplicaFences: a replica's promise to the controller during a failover. The controller asks
// every live replica of a space whose primary is gone for its sequence and promotes the highest;
// that answer must be final. A replication request the old primary sent just before it died (or
// stalled) may still be queued here, carrying the old version, which this node's table may not
// have left yet: applied after the answer, it would give this copy a record the promoted replica
// lacks, and the copy would no longer be a prefix of the new primary's log. So the question
// (`POST /v1/cluster/sequences` with the versions being failed over) first fences the space at
// that version — replication at that version or older is refused from then on (409
// `replicaFenced`) — and waits for the replication requests already inside to finish; only then
// are the sequences read. A request inside may be stalled in its body (its sender stopped or cut
// off mid-transfer) for longer than the wait: so every request checks the fence again once its
// body is in, before it applies (a snapshot import, which applies as it arrives, is dropped again
// if the fence came meanwhile). Kept in memory: a restarted node has no request of its old life
// inside.
import MnemoPlacement
import Synchronization

/// Per-space version fences of this node's replica copies. Thread-safe.
final class ReplicaFences: Sendable {
    private struct Space {
        var fencedThrough: UInt64 = 0
        var inside = 0
    }

    private let spaces = Mutex<[SpaceID: Space]>([:])
    /// How long a fence waits for the requests inside.
    static let drainTimeout: Duration = .seconds(2)

    /// Admits a replication request at `version`; false when the space is fenced at it.
    func enter(_ space: SpaceID, version: UInt64) -> Bool {
        spaces.withLock { spaces in
            var entry = spaces[space, default: Space()]
            guard version > entry.fencedThrough else { return false }
            entry.inside += 1
            spaces[space] = entry
            return true
        }
    }

    /// Whether replication at `version` is still open (checked again before applying).
    func admits(_ space: SpaceID, version: UInt64) -> Bool {
        spaces.withLock { version > ($0[space]?.fencedThrough ?? 0) }
    }

    /// A request admitted by ``enter(_:version:)`` is done.
    func leave(_ space: SpaceID) {
        spaces.withLock { spaces in
            guard var entry = spaces[space] else { return }
            entry.inside -= 1
            spaces[space] = entry.inside == 0 && entry.fencedThrough == 0 ? nil : entry
        }
    }

    /// Refuses replication at these versions or older from now on, and waits (at most
    /// ``drainTimeout``) until the requests already admitted are done.
    func fence(_ versions: [SpaceID: UInt64]) async {
        spaces.withLock { spaces in
            for (space, version) in versions {
                var entry = spaces[space, default: Space()]
                entry.fencedThrough = max(entry.fencedThrough, version)
                spaces[space] = entry
            }
        }
        let deadline = ContinuousClock.now + Self.drainTimeout
        while ContinuousClock.now < deadline,
              spaces.withLock({ spaces in versions.keys.contains { (spaces[$0]?.inside ?? 0) > 0 } }) {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }
}
