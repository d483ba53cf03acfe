// The controller against a real etcd, with simulated executors (test tasks that complete or fail
// the moves addressed to any node). It proves: a join makes it write exactly the moves the planner
// plans on the same inputs (and no more than 1.02 × the ideal count); a draining node gets a move
// for every space it holds; a simulated executor drives a join to the planner's target while no
// node ever has more than maxConcurrentMovesPerNode pending moves and no priority's pending rates
// add up to more than its rate; failed moves are retried and, after maxAttempts, left failed and
// reported; a deposed controller writes nothing; a dead node's spaces (no live copy) are skipped.
// Plus the pure parts: workload from load reports, membership with unregistered nodes dead.

import MnemoCluster
import MnemoPlacement
import Testing

@Suite("ClusterController", .enabled(if: EtcdServer.enabled, etcdMissing))
struct ClusterControllerTests {
    static let fast = ClusterController.Configuration(leaseTTL: 2, debounce: .milliseconds(50),
                                                      period: .milliseconds(400), maxAttempts: 3,
                                                      retryBackoff: .milliseconds(50),
                                                      maxRetryBackoff: .milliseconds(200))
    static let planner = RebalancePlanner(configuration: PlannerConfiguration(replicationFactor: 1))

    @Test("a join makes the controller write the planner's moves")
    func join() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/c1")
            let nodes = try await register(etcd, keys, [1, 2, 3])
            try await seed(etcd, keys, spaces: 60, nodes: [1, 2, 3])
            let controller = ClusterController(client: etcd.client, keys: keys, name: "c1", planner: Self.planner,
                                               limits: MoveLimits(maxConcurrentMovesPerNode: 1000),
                                               configuration: Self.fast)
            let running = Task { await controller.run() }
            // Balanced: the controller plans and writes nothing.
            #expect(try await eventually { await controller.status().plans >= 1 })
            let moves = MoveStore(client: etcd.client, keys: keys)
            #expect(try await moves.load().entries.isEmpty)

            let before = try await AssignmentStore(client: etcd.client, keys: keys).load()
            let joined = try await register(etcd, keys, [4])
            let expected = try Self.planner.plan(
                directory: try before.directory(),
                membership: try Membership(nodes: [1, 2, 3, 4].map { Node(id: NodeID(rawValue: $0)) }),
                workload: ClusterController.workload(loads: LoadSnapshot(), assignments: before, reportSeconds: 2))
            #expect(!expected.moves.isEmpty)
            #expect(Double(expected.moves.count) <= 1.02 * 60 / 4)
            #expect(try await eventually { try await moves.load().entries.count == expected.moves.count })
            let written = try await moves.load()
            #expect(Set(written.entries.keys) == Set(expected.moves.map(\.space)))
            for move in expected.moves {
                let record = try #require(written.entries[move.space]?.record)
                #expect(record.from == move.from && record.to == move.to && record.priority == move.priority)
                #expect(record.state == .pending)
                #expect(record.version == before.entries[move.space]?.assignment.version)
                #expect(record.to == 4)
            }
            running.cancel()
            await running.value
            // Cancelled, it resigned: the role is free at once, not after its lease's TTL.
            #expect(try await etcd.client.get(keys.leader).first == nil)
            #expect(await controller.status().isLeader == false)
            for node in nodes + joined { try await node.leave() }
        }
    }

    @Test("a draining node gets a move for every space it holds")
    func drain() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/c2")
            let nodes = try await register(etcd, keys, [1, 2, 3, 4])
            try await seed(etcd, keys, spaces: 40, nodes: [1, 2, 3, 4])
            let controller = ClusterController(client: etcd.client, keys: keys, name: "c2", planner: Self.planner,
                                               limits: MoveLimits(maxConcurrentMovesPerNode: 1000),
                                               configuration: Self.fast)
            let running = Task { await controller.run() }
            #expect(try await eventually { await controller.status().plans >= 1 })
            let table = try await AssignmentStore(client: etcd.client, keys: keys).load()
            let held = Set(table.entries.values.filter { $0.assignment.primary == 3 }.map(\.space))
            #expect(held.count == 10)
            try await nodes[2].setState(.draining)
            let moves = MoveStore(client: etcd.client, keys: keys)
            #expect(try await eventually {
                let entries = try await moves.load().entries
                return held.allSatisfy { entries[$0]?.record.from == 3 }
            })
            let written = try await moves.load().entries.values.map(\.record)
            #expect(written.allSatisfy { $0.to != 3 })
            #expect(written.filter { $0.from == 3 }.allSatisfy { $0.priority == .high })
            running.cancel()
            await running.value
            for node in nodes { try await node.leave() }
        }
    }

    @Test("a simulated executor drives a join to the planner's target within the move limits")
    func executeJoin() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/c3")
            // Leases that outlive a starved keepalive (other suites share the cores): a member
            // that expired, or a controller deposed and elected again, would plan afresh from a
            // half-moved table, and the target below is the plan from the table as it starts.
            let nodes = try await register(etcd, keys, [1, 2, 3], ttl: 30)
            try await seed(etcd, keys, spaces: 45, nodes: [1, 2, 3])
            var limits = MoveLimits(maxConcurrentMovesPerNode: 2)
            limits.highBytesPerSecond = 8_000_000
            limits.mediumBytesPerSecond = 4_000_000
            limits.lowBytesPerSecond = 2_000_000
            var configuration = Self.fast
            configuration.leaseTTL = 30
            let controller = ClusterController(client: etcd.client, keys: keys, name: "c3", planner: Self.planner,
                                               limits: limits, configuration: configuration)
            let running = Task { await controller.run() }
            #expect(try await eventually { await controller.status().plans >= 1 })

            // Watch every state of the move table: the limits must hold in each.
            let moves = MoveStore(client: etcd.client, keys: keys)
            let peaks = Locked(Peaks())
            let monitor = Task {
                try await moves.follow { snapshot in
                    let pending = snapshot.pending.map(\.record)
                    var perNode: [NodeID: Int] = [:]
                    var rates = [UInt64](repeating: 0, count: Move.Priority.allCases.count)
                    for record in pending {
                        perNode[record.from, default: 0] += 1
                        perNode[record.to, default: 0] += 1
                        rates[record.priority.rawValue] += record.rate
                    }
                    peaks.withLock { peaks in
                        peaks.perNode = max(peaks.perNode, perNode.values.max() ?? 0)
                        for (i, rate) in rates.enumerated() { peaks.rate[i] = max(peaks.rate[i], rate) }
                        peaks.seen.formUnion(pending.map(\.id))
                    }
                }
            }
            let assignments = AssignmentStore(client: etcd.client, keys: keys)
            let before = try await assignments.load()
            let joined = try await register(etcd, keys, [4], ttl: 30)
            let plan = try Self.planner.plan(
                directory: try before.directory(),
                membership: try Membership(nodes: [1, 2, 3, 4].map { Node(id: NodeID(rawValue: $0)) }),
                workload: ClusterController.workload(loads: LoadSnapshot(), assignments: before, reportSeconds: 2))
            let target = try before.directory().applying(plan.moves)
            #expect(plan.moves.count > 2)
            // Nothing executes yet: the joining node's two slots fill and the rest waits.
            #expect(try await eventually { try await moves.load().entries.count == 2 })
            #expect(await controller.status().queuedMoves == plan.moves.count - 2)
            let executor = simulatedExecutor(etcd, keys, delay: .milliseconds(30)) { _ in true }
            #expect(try await eventually(limit: .seconds(60)) {
                let now = try await assignments.load()
                return try await moves.load().entries.isEmpty
                    && now.entries.allSatisfy { target.lookup($0.key)?.primary == $0.value.assignment.primary }
            })
            let after = try await assignments.load()
            for (space, stored) in after.entries {
                #expect(stored.assignment.primary == target.lookup(space)?.primary)
                let wasMoved = plan.moves.contains { $0.space == space }
                let version = before.entries[space]?.assignment.version ?? 0
                #expect(stored.assignment.version == version + (wasMoved ? 1 : 0))
            }
            let peak = peaks.withLock { $0 }
            #expect(peak.seen.count == plan.moves.count)
            #expect(peak.perNode == limits.maxConcurrentMovesPerNode)
            for priority in Move.Priority.allCases {
                guard let rate = limits.bytesPerSecond(priority) else { continue }
                #expect(Double(peak.rate[priority.rawValue]) <= rate, "\(priority)")
            }
            executor.cancel()
            monitor.cancel()
            running.cancel()
            _ = await (executor.result, monitor.result, running.value)
            for node in nodes + joined { try await node.leave() }
        }
    }

    @Test("a space whose assignment changed after planning is not moved by the old plan")
    func changedAfterPlanning() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/c7")
            let nodes = try await register(etcd, keys, [1, 2, 3])
            try await seed(etcd, keys, spaces: 30, nodes: [1, 2, 3])
            // One move at a time: the rest of the plan waits in the controller's queue.
            let controller = ClusterController(client: etcd.client, keys: keys, name: "c7", planner: Self.planner,
                                               limits: MoveLimits(maxConcurrentMovesPerNode: 1),
                                               configuration: Self.fast)
            let running = Task { await controller.run() }
            #expect(try await eventually { await controller.status().plans >= 1 })
            let assignments = AssignmentStore(client: etcd.client, keys: keys)
            let moves = MoveStore(client: etcd.client, keys: keys)
            let written = Locked([MoveRecord]())
            let monitor = Task {
                try await moves.follow { snapshot in
                    written.withLock { all in
                        for stored in snapshot.entries.values where !all.contains(stored.record) {
                            all.append(stored.record)
                        }
                    }
                }
            }
            let before = try await assignments.load()
            let joined = try await register(etcd, keys, [4], ttl: 30)
            let plan = try Self.planner.plan(
                directory: try before.directory(),
                membership: try Membership(nodes: [1, 2, 3, 4].map { Node(id: NodeID(rawValue: $0)) }),
                workload: ClusterController.workload(loads: LoadSnapshot(), assignments: before, reportSeconds: 2))
            #expect(plan.moves.count >= 3)
            #expect(try await eventually { try await moves.load().entries.count == 1 })
            #expect(await controller.status().queuedMoves == plan.moves.count - 1)
            // A planned space whose move is still queued changes under the controller's feet.
            let first = try #require(try await moves.load().entries.keys.first)
            let victim = try #require(plan.moves.map(\.space).last { $0 != first })
            let old = try #require(before.entries[victim])
            let bumped = Assignment(copies: old.assignment.copies, version: old.assignment.version + 1)
            #expect(try await assignments.update(victim, to: bumped, expecting: old.modRevision).isApplied)
            let executor = simulatedExecutor(etcd, keys, delay: .milliseconds(20)) { _ in true }
            #expect(try await eventually(limit: .seconds(60)) {
                let counts = Dictionary(grouping: try await assignments.load().entries.values, by: \.assignment.primary)
                    .mapValues(\.count)
                let idle = await controller.status().queuedMoves == 0
                return try await moves.load().entries.isEmpty && idle && counts[4, default: 0] >= 7
            })
            // Nothing was ever written for the victim against its old version.
            #expect(written.withLock { $0 }.allSatisfy { $0.space != victim || $0.version == bumped.version })
            executor.cancel()
            monitor.cancel()
            running.cancel()
            _ = await (executor.result, monitor.result, running.value)
            for node in nodes + joined { try await node.leave() }
        }
    }

    @Test("failed moves are retried, and left failed and reported after maxAttempts")
    func retries() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/c4")
            let nodes = try await register(etcd, keys, [1, 2])
            try await seed(etcd, keys, spaces: 12, nodes: [1, 2])
            let controller = ClusterController(client: etcd.client, keys: keys, name: "c4", planner: Self.planner,
                                               limits: MoveLimits(maxConcurrentMovesPerNode: 100),
                                               configuration: Self.fast)
            let running = Task { await controller.run() }
            #expect(try await eventually { await controller.status().plans >= 1 })
            let cursed = Locked<SpaceID?>(nil)
            // Every move fails its first attempt; one space fails forever.
            let executor = simulatedExecutor(etcd, keys, delay: .milliseconds(10)) { record in
                let doomed = cursed.withLock { current in
                    if current == nil { current = record.space }
                    return current == record.space
                }
                return !doomed && record.attempts >= 1
            }
            let joined = try await register(etcd, keys, [3])
            let moves = MoveStore(client: etcd.client, keys: keys)
            #expect(try await eventually(limit: .seconds(60)) {
                let entries = try await moves.load().entries
                return entries.count == 1 && entries.values.first?.record.state == .failed
                    && entries.values.first?.record.attempts == Self.fast.maxAttempts
            })
            let left = try #require(try await moves.load().entries.values.first)
            #expect(left.space == cursed.withLock { $0 })
            #expect(try await eventually { await controller.status().givenUp.map(\.id) == [left.record.id] })
            // The other moves went through on their second attempt.
            let table = try await AssignmentStore(client: etcd.client, keys: keys).load()
            #expect(table.entries.values.contains { $0.assignment.primary == 3 })
            executor.cancel()
            running.cancel()
            _ = await (executor.result, running.value)
            for node in nodes + joined { try await node.leave() }
        }
    }

    @Test("a deposed controller writes no move")
    func deposed() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/c5")
            let nodes = try await register(etcd, keys, [1, 2])
            try await seed(etcd, keys, spaces: 20, nodes: [1, 2])
            let controller = ClusterController(client: etcd.client, keys: keys, name: "old", planner: Self.planner,
                                               limits: MoveLimits(maxConcurrentMovesPerNode: 100),
                                               configuration: Self.fast)
            let running = Task { await controller.run() }
            #expect(try await eventually { await controller.status().plans >= 1 })
            let token = try #require(await controller.status().token)
            // Someone else takes the role (as after a partition: the old lease is still renewed):
            // the key is re-created, so its create_revision, the fencing token, changes.
            let lease = try await etcd.client.grantLease(ttl: 30)
            try await etcd.client.delete(keys.leader)
            let usurped = try await etcd.client.put(keys.leader, value: bytes("new"), lease: lease.id)
            #expect(usurped > token)
            let joined = try await register(etcd, keys, [3])
            #expect(try await eventually { await controller.status().isLeader == false })
            // Give it every chance to write: several periods pass with a join to plan for.
            let plans = await controller.status().plans
            try await Task.sleep(for: .seconds(1))
            #expect(await controller.status().plans == plans)
            #expect(try await MoveStore(client: etcd.client, keys: keys).load().entries.isEmpty)
            #expect(try await LeaderElection(client: etcd.client, key: keys.leader, candidate: "x", ttl: 2)
                .leader()?.candidate == "new")
            running.cancel()
            await running.value
            try await etcd.client.revokeLease(lease.id)
            for node in nodes + joined { try await node.leave() }
        }
    }

    @Test("a dead node's spaces are skipped: no live copy to move")
    func deadNode() async throws {
        try await EtcdServer.with { etcd in
            let keys = ClusterKeys(root: "/mnemo/c6")
            let nodes = try await register(etcd, keys, [1, 2, 3])
            try await seed(etcd, keys, spaces: 30, nodes: [1, 2, 3])
            let controller = ClusterController(client: etcd.client, keys: keys, name: "c6", planner: Self.planner,
                                               limits: MoveLimits(maxConcurrentMovesPerNode: 100),
                                               configuration: Self.fast)
            let running = Task { await controller.run() }
            #expect(try await eventually { await controller.status().plans >= 1 })
            try await nodes[2].leave()
            #expect(try await eventually { await controller.status().skippedWithoutSource >= 10 })
            #expect(try await MoveStore(client: etcd.client, keys: keys).load().entries.isEmpty)
            running.cancel()
            await running.value
            for node in nodes.prefix(2) { try await node.leave() }
        }
    }
}

@Suite("ClusterController inputs")
struct ClusterControllerInputTests {
    @Test("workload: listed spaces as reported, unlisted ones at the average the report left, unknown ones at the mean")
    func workload() throws {
        var table = AssignmentSnapshot()
        for (i, node) in [1, 1, 1, 2, 3].enumerated() {
            let space = SpaceID(rawValue: UInt64(i + 1))
            table.entries[space] = StoredAssignment(space: space, assignment: Assignment(copies: CopySet([NodeID(rawValue: UInt32(node))]), version: 1),
                                                    modRevision: 1)
        }
        // Node 1 held 1, 4 (moved away since) and one unlisted space when it reported; 2 or 3
        // arrived after the report. Node 3 reported before it held anything.
        let report = LoadReport(spaces: 3, bytes: 1000, ops: 100,
                                perSpace: [SpaceID(rawValue: 1): .init(bytes: 600, ops: 80),
                                           SpaceID(rawValue: 4): .init(bytes: 5, ops: 5)])
        let empty = LoadReport(spaces: 0, bytes: 0, ops: 0)
        let workload = ClusterController.workload(loads: LoadSnapshot(reports: [1: report, 3: empty]),
                                                  assignments: table, reportSeconds: 2)
        #expect(workload[SpaceID(rawValue: 1)] == .init(bytes: 600, opsPerSecond: 40))
        // The report's rest (1000 - 605 bytes, 100 - 85 ops) was one unlisted space's: both
        // unlisted spaces weigh that, the one that arrived since included.
        #expect(workload[SpaceID(rawValue: 2)] == .init(bytes: 395, opsPerSecond: 7.5))
        #expect(workload[SpaceID(rawValue: 3)] == .init(bytes: 395, opsPerSecond: 7.5))
        // Node 2 sent no report and node 3's covered none of its spaces: the mean of the known.
        for space: SpaceID in [4, 5] {
            #expect(workload[space].bytes == 463)
            #expect(abs(workload[space].opsPerSecond - 55.0 / 3) < 1e-9)
            // Listed all the same, so the smoother keeps their history.
            #expect(workload.stats[space] != nil)
        }
    }

    @Test("workload and sampleSeconds: a report's own period divides its counts; only a new report brings a sample")
    func reportPeriods() throws {
        var table = AssignmentSnapshot()
        for (space, node): (UInt64, UInt32) in [(1, 1), (2, 1), (3, 2)] {
            table.entries[SpaceID(rawValue: space)] = StoredAssignment(
                space: SpaceID(rawValue: space), assignment: Assignment(copies: CopySet([NodeID(rawValue: node)]), version: 1),
                modRevision: 1)
        }
        // Node 1 reported late: its 40 ops cover 4 s, not the 2 s period. Node 2 did not say.
        let late = LoadReport(spaces: 2, bytes: 20, ops: 40, perSpace: [1: .init(bytes: 10, ops: 40), 2: .init(bytes: 10, ops: 0)],
                              seconds: 4)
        let plain = LoadReport(spaces: 1, bytes: 10, ops: 10, perSpace: [3: .init(bytes: 10, ops: 10)])
        let loads = LoadSnapshot(reports: [1: late, 2: plain], reportRevisions: [1: 7, 2: 8], revision: 8)
        let workload = ClusterController.workload(loads: loads, assignments: table, reportSeconds: 2)
        #expect(workload[1].opsPerSecond == 10)
        #expect(workload[3].opsPerSecond == 5)
        let first = ClusterController.sampleSeconds(loads: loads, assignments: table, blended: [:], reportSeconds: 2)
        #expect(first == [1: 4, 2: 4, 3: 2])
        // Node 1's report was taken in already; node 2 sent a new one.
        let next = ClusterController.sampleSeconds(loads: loads, assignments: table, blended: [1: 7, 2: 5],
                                                   reportSeconds: 2)
        #expect(next == [3: 2])
    }

    @Test("membership: registered members in their state, nodes only named by assignments dead")
    func membership() throws {
        let members = MembershipSnapshot(members: [1: MemberRecord(node: 1, address: "a:1", rack: "r1"),
                                                   2: MemberRecord(node: 2, address: "a:2", state: .draining)],
                                         revision: 3)
        var table = AssignmentSnapshot()
        table.entries[1] = StoredAssignment(space: 1, assignment: Assignment(copies: CopySet([7]), version: 1), modRevision: 1)
        let membership = try ClusterController.membership(members: members, assignments: table)
        #expect(membership.state(of: 1) == .alive)
        #expect(membership.state(of: 2) == .draining)
        #expect(membership.state(of: 7) == .dead)
        #expect(membership.members.count == 3)
    }
}

/// The highest figures seen in any state of the move table.
struct Peaks: Sendable {
    var perNode = 0
    var rate = [UInt64](repeating: 0, count: Move.Priority.allCases.count)
    var seen = Set<String>()
}

/// Registers alive members on their own leases of `ttl` seconds.
func register(_ etcd: EtcdServer, _ keys: ClusterKeys, _ ids: [UInt32],
              ttl: Int64 = 5) async throws -> [MemberRegistration] {
    let membership = ClusterMembership(client: etcd.client, keys: keys)
    var out: [MemberRegistration] = []
    for id in ids {
        out.append(try await membership.register(MemberRecord(node: NodeID(rawValue: id), address: "127.0.0.1:\(7000 + id)",
                                                              rack: "r\(id)"), ttl: ttl))
    }
    return out
}

/// Creates `spaces` assignments spread round-robin over `nodes` (balanced), version 1.
func seed(_ etcd: EtcdServer, _ keys: ClusterKeys, spaces: Int, nodes: [UInt32]) async throws {
    let store = AssignmentStore(client: etcd.client, keys: keys)
    for i in 0..<spaces {
        let node = NodeID(rawValue: nodes[i % nodes.count])
        let result = try await store.create(SpaceID(name: "space-\(i)"), Assignment(copies: CopySet([node]), version: 1))
        #expect(result.isApplied)
    }
}

/// A test executor: for every pending move (each attempt once), after `delay` it completes the
/// move against the space's current assignment when `succeed` says so, else marks it failed.
func simulatedExecutor(_ etcd: EtcdServer, _ keys: ClusterKeys, delay: Duration,
                       succeed: @escaping @Sendable (MoveRecord) -> Bool) -> Task<Void, any Error> {
    let moves = MoveStore(client: etcd.client, keys: keys)
    let assignments = AssignmentStore(client: etcd.client, keys: keys)
    let handled = Locked(Set<String>())
    return Task {
        try await moves.follow { snapshot in
            for stored in snapshot.pending {
                let attempt = "\(stored.record.id)/\(stored.record.attempts)"
                guard handled.withLock({ $0.insert(attempt).inserted }) else { continue }
                Task {
                    try await Task.sleep(for: delay)
                    if succeed(stored.record), let current = try await assignments.get(stored.space) {
                        _ = try await moves.complete(stored, assignment: current)
                    } else {
                        try await moves.fail(stored.record, moveRevision: stored.modRevision, error: "simulated failure")
                    }
                }
            }
        }
    }
}
