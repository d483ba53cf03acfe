// Being the controller: the fencing token, the lease that holds the leader key, and resignation.
// Resigning deletes the key only if it is still ours (compare create_revision == token), so a
// leader that already lost the role cannot delete its successor's key.

/// The role won by ``LeaderElection/campaign()``.
public final class Leadership: Sendable {
    /// The election.
    public let election: LeaderElection
    /// The fencing token: the leader key's create_revision. Larger for every later leader.
    public let token: Int64
    /// The lease keeper holding the leader key (``EtcdLeaseKeeper/isLost``: the role is gone).
    public let keeper: EtcdLeaseKeeper

    init(election: LeaderElection, token: Int64, keeper: EtcdLeaseKeeper) {
        self.election = election
        self.token = token
        self.keeper = keeper
    }

    /// The comparison to add to every transaction the leader makes: it fails once another
    /// candidate has taken over.
    public var fence: EtcdTxn.Compare { .createRevision(election.key, .equal, token) }

    /// Whether the leader key still is this leadership's (reads etcd).
    public func isCurrent() async throws(EtcdError) -> Bool {
        try await election.client.get(election.key).first?.createRevision == token
    }

    /// Gives the role up: deletes the leader key if it is still ours and revokes the lease.
    public func resign() async throws(EtcdError) {
        keeper.stop()
        _ = try await election.client.txn(EtcdTxn(compare: [fence], success: [.delete(election.key)]))
        try? await election.client.revokeLease(keeper.lease.id)
    }

    /// Stops renewing without resigning: the role lapses after the TTL (what a crash looks like).
    public func abandon() {
        keeper.stop()
    }
}
