// One controller per cluster, elected through etcd. A candidate grants itself a lease and tries a
// transaction "if the leader key does not exist (create_revision == 0), put my name there on my
// lease". The winner's put revision, which is the key's create_revision, is its fencing token: it
// only grows from one leader to the next, and every write the controller makes carries a compare
// "leader key's create_revision == my token" (``Leadership/fence``), so a deposed controller that
// still believes it leads (paused, partitioned) has its writes refused by etcd itself.
//
// A loser watches the key from the revision it read and tries again when it sees the delete (the
// leader resigned or its lease expired). If the campaign transaction times out, the outcome is read
// back rather than retried blindly: a leader key on our own lease means we won.

import Logging

/// Campaigns for the controller role on one key.
///
/// ```swift
/// let election = LeaderElection(client: etcd, key: keys.leader, candidate: "node-3", ttl: 5)
/// let leadership = try await election.campaign()   // waits until elected
/// // ... write with leadership.fence in every transaction ...
/// try await leadership.resign()
/// ```
public struct LeaderElection: Sendable {
    /// The current leader as read from etcd.
    public struct Leader: Hashable, Sendable {
        /// The leader's candidate name.
        public var candidate: String
        /// Its fencing token (the leader key's create_revision).
        public var token: Int64
        /// Its lease.
        public var lease: Int64

        /// Creates a leader value.
        public init(candidate: String, token: Int64, lease: Int64) {
            self.candidate = candidate
            self.token = token
            self.lease = lease
        }
    }

    /// The client used.
    public let client: EtcdClient
    /// The election key.
    public let key: String
    /// This candidate's name (stored as the key's value).
    public let candidate: String
    /// The lease TTL in seconds: how long a crashed leader holds the role.
    public let ttl: Int64
    private let logger: Logger

    /// Creates an election on `key` for `candidate`.
    public init(client: EtcdClient, key: String, candidate: String, ttl: Int64,
                logger: Logger = Logger(label: "mnemo.election")) {
        self.client = client
        self.key = key
        self.candidate = candidate
        self.ttl = ttl
        self.logger = logger
    }

    /// The current leader, nil when there is none.
    public func leader() async throws(EtcdError) -> Leader? {
        guard let kv = try await client.get(key).first else { return nil }
        return Leader(candidate: kv.valueString, token: kv.createRevision, lease: kv.lease)
    }

    /// Waits until this candidate is the leader and returns its leadership. Cancel the calling task
    /// to give up; the candidate's lease is then revoked.
    public func campaign() async throws(EtcdError) -> Leadership {
        let lease = try await client.grantLease(ttl: ttl)
        let keeper = EtcdLeaseKeeper(client: client, lease: lease)
        do throws(EtcdError) {
            while true {
                if Task.isCancelled { throw EtcdError(.cancelled, "campaign cancelled") }
                if keeper.isLost { throw EtcdError(.leaseNotFound, "campaign lease expired") }
                let attempt = try await tryOnce(lease: lease.id)
                switch attempt {
                case .won(let token):
                    logger.info("elected", metadata: ["candidate": "\(candidate)", "token": "\(token)"])
                    return Leadership(election: self, token: token, keeper: keeper)
                case .lost(let revision):
                    try await waitForVacancy(after: revision)
                }
            }
        } catch {
            keeper.stop()
            try? await client.revokeLease(lease.id)
            throw error
        }
    }

    private enum Attempt {
        case won(token: Int64)
        case lost(revision: Int64)
    }

    private func tryOnce(lease: Int64) async throws(EtcdError) -> Attempt {
        let txn = EtcdTxn(compare: [.createRevision(key, .equal, 0)],
                          success: [.put(key, value: Array(candidate.utf8), lease: lease)],
                          failure: [.get(key)])
        do {
            let result = try await client.txn(txn)
            if result.succeeded { return .won(token: result.revision) }
            if let holder = result.kvs(at: 0).first, holder.lease == lease {
                return .won(token: holder.createRevision)
            }
            return .lost(revision: result.revision)
        } catch where error.code == .timeout || error.code == .unavailable {
            // The outcome is unknown: read it back. Our lease on the key means the put applied.
            let read = try await client.get(key)
            if let holder = read.first, holder.lease == lease { return .won(token: holder.createRevision) }
            return .lost(revision: read.revision)
        }
    }

    /// Returns once the leader key was deleted after `revision` (or was already gone).
    private func waitForVacancy(after revision: Int64) async throws(EtcdError) {
        let watch = client.watch(key, fromRevision: revision + 1)
        defer { watch.cancel() }
        do {
            var batches = watch.makeAsyncIterator()
            while let batch = try await batches.next() {
                if batch.events.contains(where: { $0.kind == .delete }) { return }
            }
        } catch where error.code == .compacted || error.code == .unavailable {
            // History is gone or the stream broke: campaigning again re-reads the key.
            return
        }
    }
}
