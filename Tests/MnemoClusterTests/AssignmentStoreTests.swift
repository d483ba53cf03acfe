// The assignment table on a real etcd: values are small compact JSON; create and update are
// compare-and-swap (a second create, or an update from a stale revision, is a conflict carrying the
// current value, and nothing is overwritten); load reads everything; follow keeps a snapshot
// current from the watch, and after its start revision was compacted it re-reads and re-watches.

import MnemoCluster
import MnemoPlacement
import Synchronization
import Testing

@Suite("AssignmentStore", .enabled(if: EtcdServer.enabled, etcdMissing))
struct AssignmentStoreTests {
    @Test("create and update are compare-and-swap; conflicts carry the current value")
    func compareAndSwap() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/a1")
            let store = AssignmentStore(client: etcd.client, keys: keys)
            let space = SpaceID(rawValue: 0xabc)
            let v1 = Assignment(copies: CopySet([1, 2, 3]), version: 1)
            guard case .applied(let r1) = try await store.create(space, v1) else {
                Issue.record("first create did not apply")
                return
            }
            let raw = try #require(try await etcd.client.get(keys.assignment(space)).first)
            #expect(raw.key == "/mnemo/a1/assignments/0000000000000abc")
            #expect(raw.valueString == #"{"primary":1,"replicas":[2,3],"version":1}"#)

            let again = try await store.create(space, Assignment(copies: CopySet([4]), version: 1))
            #expect(again == .conflict(current: StoredAssignment(space: space, assignment: v1, modRevision: r1)))

            let v2 = Assignment(copies: CopySet([2, 3, 4]), version: 2)
            guard case .applied(let r2) = try await store.update(space, to: v2, expecting: r1) else {
                Issue.record("update from the current revision did not apply")
                return
            }
            #expect(r2 > r1)
            // A second writer that read v1 loses and learns v2.
            let stale = try await store.update(space, to: Assignment(copies: CopySet([5]), version: 2), expecting: r1)
            #expect(stale == .conflict(current: StoredAssignment(space: space, assignment: v2, modRevision: r2)))
            #expect(try await store.get(space)?.assignment == v2)
            // Updating a space that does not exist is a conflict with nothing.
            #expect(try await store.update(SpaceID(rawValue: 1), to: v2, expecting: 5) == .conflict(current: nil))

            try await etcd.client.put(keys.assignment(SpaceID(rawValue: 2)), value: bytes("not json"))
            let snapshot = try await store.load()
            #expect(snapshot.entries.count == 1)
            #expect(snapshot.entries[space]?.assignment == v2)
            let directory = try snapshot.directory()
            #expect(directory.lookup(space)?.primary == 2)
        }
    }

    @Test("updateAll writes every assignment or none; a space's write quorum rides along")
    func updateAll() async throws {
        try await EtcdServer.with { etcd in
            let store = AssignmentStore(client: etcd.client, keys: ClusterKeys(root: "/mnemo/a3"))
            var revisions: [SpaceID: Int64] = [:]
            for raw in UInt64(1)...3 {
                guard case .applied(let revision) = try await store.create(
                    SpaceID(rawValue: raw), Assignment(copies: CopySet([1, 2]), version: 1),
                    writeQuorum: raw == 1 ? "one" : nil) else {
                    Issue.record("create did not apply")
                    return
                }
                revisions[SpaceID(rawValue: raw)] = revision
            }
            #expect(try await store.get(1)?.writeQuorum == "one")
            let next = Assignment(copies: CopySet([2]), version: 2)
            let all = revisions.keys.sorted().map { ($0, next, $0 == 1 ? "one" : nil as String?, revisions[$0]!) }
            let written = try #require(try await store.updateAll(all, fence: nil))
            for space in revisions.keys {
                #expect(try await store.get(space) == StoredAssignment(space: space, assignment: next, modRevision: written,
                                                                      writeQuorum: space == 1 ? "one" : nil))
            }
            // From revisions one of which is stale: nothing is written.
            let again = Assignment(copies: CopySet([1]), version: 3)
            let mixed = [(SpaceID(rawValue: 1), again, "one" as String?, written),
                         (SpaceID(rawValue: 2), again, nil as String?, revisions[2]!)]
            #expect(try await store.updateAll(mixed, fence: nil) == nil)
            #expect(try await store.get(1)?.assignment == next)
        }
    }

    @Test("follow keeps a snapshot current, and recovers from a compacted start revision")
    func follow() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/a2")
            let store = AssignmentStore(client: etcd.client, keys: keys)
            let a = SpaceID(rawValue: 10), b = SpaceID(rawValue: 11)
            _ = try await store.create(a, Assignment(copies: CopySet([1]), version: 1))
            let cached = try await store.load()

            let latest = Locked(AssignmentSnapshot())
            let follower = Task {
                try await store.follow { snapshot in latest.withLock { $0 = snapshot } }
            }
            #expect(try await eventually { latest.withLock { $0.entries[a] != nil } })
            _ = try await store.create(b, Assignment(copies: CopySet([2, 1]), version: 1))
            let current = try #require(try await store.get(a))
            _ = try await store.update(a, to: Assignment(copies: CopySet([3]), version: 2),
                                       expecting: current.modRevision)
            #expect(try await eventually {
                latest.withLock { $0.entries[b]?.assignment.primary == 2 && $0.entries[a]?.assignment.version == 2 }
            })
            try await etcd.client.delete(keys.assignment(b))
            #expect(try await eventually { latest.withLock { $0.entries[b] == nil } })
            follower.cancel()
            _ = await follower.result

            // A node restarting from a cached snapshot whose revision was compacted meanwhile.
            let head = try await etcd.client.put("/mnemo/a2/unrelated", value: bytes("x"))
            try await etcd.client.compact(revision: head)
            let restarted = Locked(AssignmentSnapshot())
            let resumed = Task {
                try await store.follow(from: cached) { snapshot in restarted.withLock { $0 = snapshot } }
            }
            #expect(try await eventually {
                restarted.withLock { $0.revision >= head && $0.entries[a]?.assignment.version == 2 && $0.entries[b] == nil }
            })
            resumed.cancel()
            _ = await resumed.result
        }
    }
}
