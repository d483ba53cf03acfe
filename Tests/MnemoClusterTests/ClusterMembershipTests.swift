// Membership on a real etcd: registered nodes are listed with their address, rack, capacity and
// state; a state change is visible; a node that stops renewing disappears after its TTL and the
// watch reports it removed; leaving removes the key at once; the planner view is built from it.

import MnemoCluster
import MnemoPlacement
import Testing

@Suite("ClusterMembership", .enabled(if: EtcdServer.enabled, etcdMissing))
struct ClusterMembershipTests {
    @Test("register, list, drain, leave")
    func registerAndList() async throws {
        try await EtcdServer.with { etcd in
            let members = ClusterMembership(client: etcd.client, keys: ClusterKeys(root: "/mnemo/t1/"))
            let one = try await members.register(
                MemberRecord(node: 1, address: "127.0.0.1:7001", rack: "a", capacity: 1), ttl: 5)
            let two = try await members.register(
                MemberRecord(node: 2, address: "127.0.0.1:7002", rack: "b", capacity: 2.5), ttl: 5)
            var snapshot = try await members.list()
            #expect(snapshot.members.count == 2)
            #expect(snapshot.members[1] == MemberRecord(node: 1, address: "127.0.0.1:7001", rack: "a"))
            #expect(snapshot.members[2]?.capacity == 2.5)
            #expect(snapshot.members[2]?.state == .alive)

            try await two.setState(.draining)
            snapshot = try await members.list()
            #expect(snapshot.members[2]?.state == .draining)
            #expect(two.record.state == .draining)
            let placement = try snapshot.placementMembership()
            #expect(placement.state(of: 1) == .alive)
            #expect(placement.state(of: 2) == .draining)

            try await one.leave()
            #expect(try await members.list().members.keys.sorted() == [2])
            try await two.leave()
            #expect(try await members.list().members.isEmpty)
        }
    }

    @Test("a node that stops renewing expires, and the watch reports it removed")
    func expiry() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/t2")
            let members = ClusterMembership(client: etcd.client, keys: keys)
            let stays = try await members.register(MemberRecord(node: 7, address: "a:1"), ttl: 2)
            let start = try await members.list()
            let watch = members.watch(fromRevision: start.revision + 1)
            let crashes = try await members.register(MemberRecord(node: 9, address: "b:2", rack: "r"), ttl: 2)
            crashes.keeper.stop()
            let events = try await collect(watch, count: 2)
            watch.cancel()
            let changes = events.compactMap(members.change(for:))
            #expect(changes == [.updated(MemberRecord(node: 9, address: "b:2", rack: "r")), .removed(9)])
            var snapshot = start
            for (event, change) in zip(events, changes) { snapshot.apply(change, revision: event.kv.modRevision) }
            #expect(snapshot.members.keys.sorted() == [7])
            // The renewed node outlived the other's TTL.
            #expect(try await members.list().members.keys.sorted() == [7])
            #expect(!stays.keeper.isLost)
            try await stays.leave()
        }
    }
}
