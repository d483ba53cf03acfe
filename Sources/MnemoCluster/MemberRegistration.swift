// A node's own registration: the lease keeper that holds its member key, and the calls that change
// its state (draining before it leaves) or leave at once (revoking the lease deletes the key).

import MnemoPlacement
import Synchronization

/// A node's live registration: its key stays while the lease is renewed.
public final class MemberRegistration: Sendable {
    /// The membership it belongs to.
    public let membership: ClusterMembership
    /// The lease keeper (``EtcdLeaseKeeper/isLost`` says the key expired).
    public let keeper: EtcdLeaseKeeper
    private let current: Mutex<MemberRecord>

    init(membership: ClusterMembership, record: MemberRecord, keeper: EtcdLeaseKeeper) {
        self.membership = membership
        self.keeper = keeper
        self.current = Mutex(record)
    }

    /// The record as last written.
    public var record: MemberRecord { current.withLock { $0 } }

    /// Rewrites the record with a new state (e.g. draining) on the same lease.
    public func setState(_ state: Membership.State) async throws(EtcdError) {
        var record = self.record
        record.state = state
        try await membership.client.put(membership.keys.member(record.node), value: record.encoded(),
                                        lease: keeper.lease.id)
        current.withLock { $0 = record }
    }

    /// Leaves the cluster now: stops renewing and revokes the lease, which deletes the key.
    public func leave() async throws(EtcdError) {
        keeper.stop()
        try await membership.client.revokeLease(keeper.lease.id)
    }
}
