// The member list in etcd: each node registers itself under its own lease and keeps the lease
// alive; everybody else lists the members and watches them. A node that crashes stops renewing, its
// key expires after the TTL, and the watch delivers a delete: that is how the controller learns a
// node is dead. (Named ClusterMembership because MnemoPlacement's `Membership` is the planner's
// in-memory view, which `MembershipSnapshot.placementMembership()` builds from this one.)

import Logging
import MnemoPlacement

/// Registration, listing and watching of the cluster's nodes.
///
/// ```swift
/// let members = ClusterMembership(client: etcd, keys: ClusterKeys(root: "/mnemo/prod"))
/// let me = try await members.register(MemberRecord(node: 3, address: "10.0.0.3:7700", rack: "b"),
///                                     ttl: 5)
/// let snapshot = try await members.list()
/// ```
public struct ClusterMembership: Sendable {
    /// A change seen by ``watch(fromRevision:)``.
    public enum Change: Hashable, Sendable {
        /// A member registered or changed its record.
        case updated(MemberRecord)
        /// A member's key went away (it left, or its lease expired): it is dead.
        case removed(NodeID)
    }

    /// The client used.
    public let client: EtcdClient
    /// The key layout.
    public let keys: ClusterKeys

    /// Creates the membership view of the cluster under `keys`.
    public init(client: EtcdClient, keys: ClusterKeys) {
        self.client = client
        self.keys = keys
    }

    /// Registers `record` under a new lease of `ttl` seconds and keeps it alive until the
    /// registration is left or dropped.
    public func register(_ record: MemberRecord, ttl: Int64) async throws(EtcdError) -> MemberRegistration {
        let lease = try await client.grantLease(ttl: ttl)
        do {
            try await client.put(keys.member(record.node), value: record.encoded(), lease: lease.id)
        } catch {
            try? await client.revokeLease(lease.id)
            throw error
        }
        return MemberRegistration(membership: self, record: record,
                                  keeper: EtcdLeaseKeeper(client: client, lease: lease))
    }

    /// Every registered member and the revision they were read at.
    public func list() async throws(EtcdError) -> MembershipSnapshot {
        let range = try await client.range(prefix: keys.membersPrefix)
        var members: [NodeID: MemberRecord] = [:]
        for kv in range.kvs {
            guard let node = keys.node(fromKey: kv.key),
                  let record = MemberRecord.decoded(node: node, from: kv.value) else { continue }
            members[node] = record
        }
        return MembershipSnapshot(members: members, revision: range.revision)
    }

    /// Watches member changes from `fromRevision` (a snapshot's revision + 1).
    public func watch(fromRevision: Int64) -> EtcdWatch {
        client.watch(keys.membersPrefix, prefix: true, fromRevision: fromRevision)
    }

    /// Keeps a snapshot of the members current until the calling task is cancelled (a compacted
    /// or broken watch re-reads the list).
    public func follow(from start: MembershipSnapshot? = nil,
                       onSnapshot: @Sendable (MembershipSnapshot) async -> Void) async throws(EtcdError) {
        let membership = self
        let follow = EtcdFollow<MembershipSnapshot>(
            client: client, prefix: keys.membersPrefix,
            load: { () async throws(EtcdError) in try await membership.list() },
            revision: { $0.revision },
            apply: { snapshot, batch in
                for event in batch.events {
                    if let change = membership.change(for: event) {
                        snapshot.apply(change, revision: event.kv.modRevision)
                    }
                }
                snapshot.revision = max(snapshot.revision, batch.revision)
            },
            logger: Logger(label: "mnemo.members"))
        try await follow.run(from: start, onSnapshot: onSnapshot)
    }

    /// The membership change an event of ``watch(fromRevision:)`` stands for (nil for foreign keys).
    public func change(for event: EtcdEvent) -> Change? {
        guard let node = keys.node(fromKey: event.kv.key) else { return nil }
        switch event.kind {
        case .delete:
            return .removed(node)
        case .put:
            return MemberRecord.decoded(node: node, from: event.kv.value).map(Change.updated)
        }
    }
}
