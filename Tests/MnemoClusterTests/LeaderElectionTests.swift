// Leader election on a real etcd: one candidate wins and is readable as the leader; a second waits;
// when the first one's lease expires (it stopped renewing, as a crashed process would) the second
// takes over with a higher fencing token, and the old leader's fence no longer holds for writes;
// resigning hands over at once.

import MnemoCluster
import MnemoPlacement
import Testing

@Suite("LeaderElection", .enabled(if: EtcdServer.enabled, etcdMissing))
struct LeaderElectionTests {
    @Test("takeover after lease expiry fences the old leader with a higher token")
    func takeover() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/e1")
            let other = etcd.makeClient()
            let first = LeaderElection(client: etcd.client, key: keys.leader, candidate: "node-1", ttl: 2)
            let second = LeaderElection(client: other, key: keys.leader, candidate: "node-2", ttl: 2)
            let old = try await first.campaign()
            #expect(try await first.leader() == LeaderElection.Leader(candidate: "node-1", token: old.token,
                                                                       lease: old.keeper.lease.id))
            #expect(try await old.isCurrent())

            let store = AssignmentStore(client: etcd.client, keys: keys)
            let space = SpaceID(name: "team")
            #expect(try await store.create(space, Assignment(copies: CopySet([1]), version: 1), fence: old.fence)
                    .isApplied)

            let waiting = Task { try await second.campaign() }
            try await Task.sleep(for: .milliseconds(300))
            // Still the first one's: the second candidate waits.
            #expect(try await second.leader()?.candidate == "node-1")
            old.abandon()  // stops renewing: the lease runs out after its TTL
            let new = try await waiting.value
            #expect(new.token > old.token)
            #expect(try await second.leader()?.candidate == "node-2")
            #expect(try await !old.isCurrent())

            // The deposed leader's writes are refused by etcd; the new leader's go through.
            let current = try #require(try await store.get(space))
            let stale = try await store.update(space, to: Assignment(copies: CopySet([2]), version: 2),
                                               expecting: current.modRevision, fence: old.fence)
            #expect(stale == .fenced)
            let fresh = try await store.update(space, to: Assignment(copies: CopySet([3]), version: 2),
                                               expecting: current.modRevision, fence: new.fence)
            #expect(fresh.isApplied)
            try await new.resign()
            #expect(try await first.leader() == nil)
            try await other.shutdown()
        }
    }

    @Test("resigning hands the role to a waiting candidate")
    func resign() async throws {
        try await EtcdServer.with { etcd in
            let key = ClusterKeys(root: "/mnemo/e2").leader
            let a = LeaderElection(client: etcd.client, key: key, candidate: "a", ttl: 10)
            let b = LeaderElection(client: etcd.client, key: key, candidate: "b", ttl: 10)
            let leaderA = try await a.campaign()
            let waiting = Task { try await b.campaign() }
            try await Task.sleep(for: .milliseconds(200))
            try await leaderA.resign()
            let leaderB = try await waiting.value
            #expect(leaderB.token > leaderA.token)
            #expect(try await b.leader()?.candidate == "b")
            // A resign by a leader that lost the role does not delete the successor's key.
            try await leaderA.resign()
            #expect(try await b.leader()?.candidate == "b")
            try await leaderB.resign()
        }
    }

    @Test("a cancelled campaign gives up and leaves no key behind")
    func cancelledCampaign() async throws {
        try await EtcdServer.with { etcd in
            let key = ClusterKeys(root: "/mnemo/e3").leader
            let holder = try await LeaderElection(client: etcd.client, key: key, candidate: "h", ttl: 10).campaign()
            let waiting = Task { try await LeaderElection(client: etcd.client, key: key, candidate: "w", ttl: 10).campaign() }
            try await Task.sleep(for: .milliseconds(200))
            waiting.cancel()
            await #expect(throws: EtcdError.self) { try await waiting.value }
            try await holder.resign()
            #expect(try await etcd.client.get(key).first == nil)
        }
    }
}

extension AssignmentWrite {
    var isApplied: Bool {
        if case .applied = self { return true }
        return false
    }
}
