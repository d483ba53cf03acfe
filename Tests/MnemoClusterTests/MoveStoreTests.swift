// The move table on a real etcd, and its codecs without one. A move is created only when the space
// has none and its assignment is still at the planned revision, and only under the current
// leader's fence; the cut-over (`complete`) flips the assignment to the target at version + 1 and
// deletes the move in one transaction, and loses, writing nothing, against a concurrent change of
// either key; `fail` counts attempts and also compares the move's revision; `follow` tracks it all.

import Foundation
import MnemoCluster
import MnemoPlacement
import Testing

@Suite("MoveRecord and LoadReport codecs")
struct MoveCodecTests {
    @Test("a move record round-trips through its stored JSON; foreign or malformed values are refused")
    func moveRecord() throws {
        let record = MoveRecord(id: "m-1", space: SpaceID(rawValue: 0xab), from: 1, to: 4, priority: .low,
                                bytes: 123, rate: 10_485_760, version: 7)
        let text = String(decoding: record.encoded(), as: UTF8.self)
        #expect(text == #"{"attempts":0,"bytes":123,"error":"","from":1,"id":"m-1","priority":"low","#
                + #""rate":10485760,"space":"00000000000000ab","state":"pending","to":4,"version":7}"#)
        #expect(MoveRecord.decoded(space: SpaceID(rawValue: 0xab), from: record.encoded()) == record)
        // The key's space must match the value's.
        #expect(MoveRecord.decoded(space: SpaceID(rawValue: 0xac), from: record.encoded()) == nil)
        for priority in Move.Priority.allCases {
            var other = record
            other.priority = priority
            other.state = .failed
            other.attempts = 3
            other.error = "target said 503"
            #expect(MoveRecord.decoded(space: other.space, from: other.encoded()) == other)
        }
        let bad = [#"{}"#, #"not json"#,
                   text.replacingOccurrences(of: #""low""#, with: #""urgent""#),
                   text.replacingOccurrences(of: #""to":4"#, with: #""to":1"#),
                   text.replacingOccurrences(of: #""pending""#, with: #""running""#)]
        for value in bad {
            #expect(MoveRecord.decoded(space: record.space, from: Array(value.utf8)) == nil, "\(value)")
        }
    }

    @Test("a load report keeps its 256 busiest spaces and round-trips")
    func loadReport() throws {
        var perSpace: [SpaceID: LoadReport.SpaceLoad] = [:]
        for i in 0..<300 { perSpace[SpaceID(rawValue: UInt64(i))] = .init(bytes: UInt64(i) * 10, ops: UInt64(i)) }
        let report = LoadReport(spaces: 300, bytes: 448_500, ops: 44_850, perSpace: perSpace)
        #expect(report.perSpace.count == LoadReport.maxSpaces)
        #expect(report.perSpace[SpaceID(rawValue: 299)] != nil)
        #expect(report.perSpace[SpaceID(rawValue: 43)] == nil)
        #expect(report.encoded().count < 64 << 10)
        #expect(LoadReport.decoded(from: report.encoded()) == report)
        let small = LoadReport(spaces: 1, bytes: 5, ops: 2, perSpace: [SpaceID(rawValue: 0xab): .init(bytes: 5, ops: 2)])
        #expect(String(decoding: small.encoded(), as: UTF8.self)
                == #"{"bytes":5,"ops":2,"perSpace":{"00000000000000ab":{"bytes":5,"ops":2}},"spaces":1}"#)
        #expect(LoadReport.decoded(from: Array(#"{"bytes":5,"ops":2,"perSpace":{"xyz":{"bytes":5,"ops":2}},"spaces":1}"#.utf8)) == nil)
        #expect(LoadReport.decoded(from: Array(#"{"bytes":5,"ops":2,"spaces":-1}"#.utf8)) == nil)
        let timed = LoadReport(spaces: 0, bytes: 0, ops: 7, seconds: 3.5)
        #expect(String(decoding: timed.encoded(), as: UTF8.self) == #"{"bytes":0,"ops":7,"perSpace":{},"seconds":3.5,"spaces":0}"#)
        #expect(LoadReport.decoded(from: timed.encoded()) == timed)
        #expect(LoadReport.decoded(from: Array(#"{"bytes":0,"ops":7,"seconds":0,"spaces":0}"#.utf8)) == nil)
    }
}

@Suite("MoveStore", .enabled(if: EtcdServer.enabled, etcdMissing))
struct MoveStoreTests {
    @Test("create needs no move key, the planned assignment revision and the leader's fence")
    func create() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/m1")
            let assignments = AssignmentStore(client: etcd.client, keys: keys)
            let moves = MoveStore(client: etcd.client, keys: keys)
            let space = SpaceID(name: "team")
            guard case .applied(let r1) = try await assignments.create(space, Assignment(copies: CopySet([1]), version: 1))
            else { Issue.record("no assignment"); return }
            let leader = try await LeaderElection(client: etcd.client, key: keys.leader, candidate: "c", ttl: 5).campaign()
            let record = MoveRecord(space: space, from: 1, to: 2, priority: .low, bytes: 10, rate: 100, version: 1)

            guard case .applied = try await moves.create(record, assignmentRevision: r1, fence: leader.fence) else {
                Issue.record("create did not apply"); return
            }
            let stored = try #require(try await moves.get(space))
            #expect(stored.record == record)
            // A second move for the same space is refused and shows the first.
            let second = MoveRecord(space: space, from: 1, to: 3, priority: .low, bytes: 10, rate: 100, version: 1)
            #expect(try await moves.create(second, assignmentRevision: r1, fence: leader.fence)
                    == .conflict(current: stored))
            #expect(try await moves.remove(space, expecting: stored.modRevision, fence: leader.fence).isApplied)

            // The assignment changed after planning: refused.
            _ = try await assignments.update(space, to: Assignment(copies: CopySet([3]), version: 2), expecting: r1)
            #expect(try await moves.create(record, assignmentRevision: r1, fence: leader.fence) == .conflict(current: nil))
            #expect(try await moves.get(space) == nil)

            // A deposed leader's writes are fenced by etcd.
            let current = try #require(try await assignments.get(space))
            try await leader.resign()
            let next = try await LeaderElection(client: etcd.client, key: keys.leader, candidate: "d", ttl: 5).campaign()
            var moved = record
            moved.from = 3
            moved.version = 2
            #expect(try await moves.create(moved, assignmentRevision: current.modRevision, fence: leader.fence) == .fenced)
            #expect(try await moves.get(space) == nil)
            #expect(try await moves.create(moved, assignmentRevision: current.modRevision, fence: next.fence).isApplied)
            let written = try #require(try await moves.get(space))
            var retried = written.record
            retried.rate = 50
            #expect(try await moves.update(retried, expecting: written.modRevision, fence: leader.fence) == .fenced)
            #expect(try await moves.remove(space, expecting: written.modRevision, fence: leader.fence) == .fenced)
            #expect(try await moves.get(space) == written)
            try await next.resign()
        }
    }

    @Test("complete flips the assignment and deletes the move in one transaction")
    func complete() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/m2")
            let assignments = AssignmentStore(client: etcd.client, keys: keys)
            let moves = MoveStore(client: etcd.client, keys: keys)
            let space = SpaceID(name: "a")
            guard case .applied(let r1) = try await assignments.create(space, Assignment(copies: CopySet([1]), version: 7))
            else { Issue.record("no assignment"); return }
            let record = MoveRecord(space: space, from: 1, to: 4, priority: .high, bytes: 10, rate: 100, version: 7)
            #expect(try await moves.create(record, assignmentRevision: r1).isApplied)
            let move = try #require(try await moves.get(space))
            let before = try #require(try await assignments.get(space))
            #expect(try await moves.complete(move, assignment: before))
            let after = try #require(try await assignments.get(space))
            #expect(after.assignment == Assignment(copies: CopySet([4]), version: 8))
            #expect(try await moves.get(space) == nil)
            // Both changes landed at one revision: one transaction.
            let deleted = etcd.client.watch(keys.move(space), fromRevision: after.modRevision)
            let events = try await collect(deleted, count: 1)
            #expect(events.first?.kind == .delete)
            #expect(events.first?.kv.modRevision == after.modRevision)
            // Completing again (stale move and assignment) writes nothing.
            #expect(try await !moves.complete(move, assignment: before))
            #expect(try await assignments.get(space) == after)
        }
    }

    @Test("a cut-over that reaches no etcd is settled once etcd is back: the move failed, the assignment kept")
    func completeSettlesWithoutAnswer() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/m6")
            let assignments = AssignmentStore(client: etcd.client, keys: keys)
            let moves = MoveStore(client: etcd.client, keys: keys)
            let space = SpaceID(name: "settled")
            guard case .applied(let r1) = try await assignments.create(space, Assignment(copies: CopySet([1, 2]), version: 3))
            else { Issue.record("no assignment"); return }
            let record = MoveRecord(space: space, from: 1, to: 4, priority: .high, bytes: 10, rate: 100, version: 3)
            #expect(try await moves.create(record, assignmentRevision: r1).isApplied)
            let move = try #require(try await moves.get(space))
            let before = try #require(try await assignments.get(space))
            // etcd is killed -9 and comes back 6 s later, after the client's 5 s request timeout
            // (the HTTP client waits that long for a connection): the cut-over's transaction
            // never reaches it, and its outcome must be settled, not left open.
            async let restarted: Void = etcd.etcd.restart(after: .seconds(6))
            try await Task.sleep(for: .milliseconds(300))
            let completed = try await moves.complete(move, assignment: before)
            try await restarted
            #expect(!completed)
            #expect(try await assignments.get(space) == before)
            let settled = try #require(try await moves.get(space))
            #expect(settled.record.state == .failed)
            #expect(settled.record.attempts == record.attempts + 1)
            // The settled move can never be cut over now.
            #expect(try await !moves.complete(move, assignment: before))
        }
    }

    @Test("complete loses against a concurrent assignment change or a rewritten move")
    func completeLoses() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/m3")
            let assignments = AssignmentStore(client: etcd.client, keys: keys)
            let moves = MoveStore(client: etcd.client, keys: keys)
            let space = SpaceID(name: "b")
            guard case .applied(let r1) = try await assignments.create(space, Assignment(copies: CopySet([1]), version: 1))
            else { Issue.record("no assignment"); return }
            let record = MoveRecord(space: space, from: 1, to: 2, priority: .low, bytes: 10, rate: 100, version: 1)
            #expect(try await moves.create(record, assignmentRevision: r1).isApplied)
            let move = try #require(try await moves.get(space))
            let read = try #require(try await assignments.get(space))
            // Someone else changes the assignment between the executor's read and its cut-over.
            let other = Assignment(copies: CopySet([3]), version: 2)
            #expect(try await assignments.update(space, to: other, expecting: read.modRevision).isApplied)
            #expect(try await !moves.complete(move, assignment: read))
            #expect(try await assignments.get(space)?.assignment == other)
            #expect(try await moves.get(space) == move)
            // Against the new assignment it is refused too: the move was planned for version 1.
            let now = try #require(try await assignments.get(space))
            #expect(try await !moves.complete(move, assignment: now))
            #expect(try await assignments.get(space) == now)

            // A move rewritten (marked failed) after the executor read it cannot be completed.
            let c = SpaceID(name: "c")
            guard case .applied(let rc) = try await assignments.create(c, Assignment(copies: CopySet([1]), version: 1))
            else { Issue.record("no assignment"); return }
            let mc = MoveRecord(space: c, from: 1, to: 2, priority: .low, bytes: 10, rate: 100, version: 1)
            #expect(try await moves.create(mc, assignmentRevision: rc).isApplied)
            let seen = try #require(try await moves.get(c))
            #expect(try await moves.fail(seen.record, moveRevision: seen.modRevision, error: "target full").isApplied)
            let failed = try #require(try await moves.get(c))
            #expect(failed.record.state == .failed)
            #expect(failed.record.attempts == 1)
            #expect(failed.record.error == "target full")
            #expect(failed.record.id == mc.id)
            let current = try #require(try await assignments.get(c))
            #expect(try await !moves.complete(seen, assignment: current))
            #expect(try await assignments.get(c) == current)
            // A second fail from the stale revision is a conflict, not a second attempt.
            #expect(try await moves.fail(seen.record, moveRevision: seen.modRevision, error: "again")
                    == .conflict(current: failed))
        }
    }

    @Test("follow tracks the move table")
    func follow() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/m4")
            let assignments = AssignmentStore(client: etcd.client, keys: keys)
            let moves = MoveStore(client: etcd.client, keys: keys)
            let latest = Locked(MoveSnapshot())
            let follower = Task { try await moves.follow { snapshot in latest.withLock { $0 = snapshot } } }
            let space = SpaceID(name: "d")
            guard case .applied(let r1) = try await assignments.create(space, Assignment(copies: CopySet([2]), version: 1))
            else { Issue.record("no assignment"); return }
            let record = MoveRecord(space: space, from: 2, to: 1, priority: .critical, bytes: 0, rate: 1, version: 1)
            #expect(try await moves.create(record, assignmentRevision: r1).isApplied)
            #expect(try await eventually { latest.withLock { $0.entries[space]?.record == record } })
            let move = try #require(try await moves.get(space))
            #expect(try await moves.complete(move, assignment: try #require(try await assignments.get(space))))
            #expect(try await eventually { latest.withLock { $0.entries.isEmpty && $0.revision >= move.modRevision } })
            follower.cancel()
            _ = await follower.result
        }
    }
}

@Suite("LoadStore", .enabled(if: EtcdServer.enabled, etcdMissing))
struct LoadStoreTests {
    @Test("reports live on the node's lease and are read and followed")
    func reports() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/l1")
            let loads = LoadStore(client: etcd.client, keys: keys)
            let latest = Locked(LoadSnapshot())
            let follower = Task { try await loads.follow { snapshot in latest.withLock { $0 = snapshot } } }
            let lease1 = try await etcd.client.grantLease(ttl: 30)
            let lease2 = try await etcd.client.grantLease(ttl: 30)
            let r1 = LoadReport(spaces: 2, bytes: 300, ops: 9, perSpace: [SpaceID(rawValue: 1): .init(bytes: 200, ops: 8)])
            let r2 = LoadReport(spaces: 0, bytes: 0, ops: 0)
            try await loads.put(r1, node: 1, lease: lease1.id)
            try await loads.put(r2, node: 2, lease: lease2.id)
            let all = try await loads.loadAll()
            #expect(all.reports == [1: r1, 2: r2])
            #expect(all.reportRevisions[1] == (try await etcd.client.get(keys.load(1)).first?.modRevision))
            #expect(try await etcd.client.get(keys.load(1)).first?.lease == lease1.id)
            #expect(try await eventually { latest.withLock { $0.reports == [1: r1, 2: r2] } })
            #expect(latest.withLock { $0.reportRevisions } == all.reportRevisions)
            try await etcd.client.revokeLease(lease1.id)
            #expect(try await loads.loadAll().reports == [2: r2])
            #expect(try await eventually { latest.withLock { $0.reports == [2: r2] } })
            follower.cancel()
            _ = await follower.result
        }
    }
}
