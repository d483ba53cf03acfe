// Proves the planner's contracts on randomized clusters (property tests over seeds, replication
// factors and events): the same inputs give the same plan; plans never leave a space below the
// replication factor and keep racks distinct when enough racks live; Critical moves touch only
// spaces that lost a copy and come first; no space is moved twice by balancing; drains empty the
// node; applying plans repeatedly converges to a balanced directory that then plans nothing; moves
// on a join stay close to the ideal; bad input returns typed errors.

import MnemoPlacement
import Testing

struct Cluster {
    var nodes: [Node]
    var spaces: [SpaceID]
    var workload: Workload
    var directory: Directory
    var rf: Int

    init(nodes count: Int = 8, racks: Int = 4, spaces: Int = 1_500, rf: Int, seed: UInt64) throws {
        nodes = makeNodes(count, racks: racks)
        self.spaces = makeSpaces(spaces, seed: seed)
        var rng = SplitMix64(seed: seed &+ 77)
        let zipf = ZipfDistribution(n: 1_000, exponent: 1)
        workload = Workload()
        for space in self.spaces {
            workload[space] = .init(bytes: UInt64(zipf.sample(using: &rng)) * 4_096,
                                    opsPerSecond: Double.random(in: 1..<100, using: &rng))
        }
        self.rf = rf
        directory = try Ring(nodes: nodes, configuration: RingConfiguration(virtualNodes: 50, replicationFactor: rf, seed: seed))
            .assign(self.spaces)
    }

    var planner: RebalancePlanner { RebalancePlanner(configuration: PlannerConfiguration(replicationFactor: rf)) }

    /// Plans and applies until the planner has nothing left (at most `rounds` plans).
    func converge(_ directory: Directory, _ membership: Membership, rounds: Int = 6) throws -> (Directory, Int) {
        var current = directory
        for round in 0..<rounds {
            let plan = try planner.plan(directory: current, membership: membership, workload: workload)
            if plan.isEmpty { return (current, round) }
            current = try current.applying(plan.moves)
        }
        return (current, rounds)
    }

    /// Per-node (copies, bytes) over nodes that are alive or joining.
    func usage(_ directory: Directory, _ membership: Membership) -> [NodeID: (Double, Double)] {
        var usage: [NodeID: (Double, Double)] = [:]
        for member in membership.members where member.state == .alive || member.state == .joining {
            usage[member.node.id] = (0, 0)
        }
        for (space, assignment) in directory {
            for node in assignment.copies where usage[node] != nil {
                usage[node]?.0 += 1
                usage[node]?.1 += Double(workload[space].bytes)
            }
        }
        return usage
    }
}

@Suite("RebalancePlanner")
struct RebalancePlannerTests {
    @Test("same inputs give the same plan", arguments: [1, 3])
    func deterministic(rf: Int) throws {
        let cluster = try Cluster(rf: rf, seed: 3)
        let membership = try Membership(nodes: cluster.nodes).setting(2, to: .dead).adding(Node(id: 50, rack: "r1"))
        let a = try cluster.planner.plan(directory: cluster.directory, membership: membership, workload: cluster.workload)
        let b = try cluster.planner.plan(directory: cluster.directory, membership: membership, workload: cluster.workload)
        #expect(!a.isEmpty)
        #expect(a.moves == b.moves)
    }

    @Test("node death: critical moves first, only for spaces that lost a copy, restoring the factor with distinct racks",
          arguments: [(rf: 2, seed: UInt64(1)), (rf: 3, seed: 2), (rf: 3, seed: 5), (rf: 4, seed: 7)])
    func death(rf: Int, seed: UInt64) throws {
        let cluster = try Cluster(rf: rf, seed: seed)
        let (start, _) = try cluster.converge(cluster.directory, try Membership(nodes: cluster.nodes))
        let victim = NodeID(rawValue: UInt32(seed % 8 + 1))
        let membership = try Membership(nodes: cluster.nodes).setting(victim, to: .dead)
        let plan = try cluster.planner.plan(directory: start, membership: membership, workload: cluster.workload)
        let critical = plan.moves.filter { $0.priority == .critical }
        let lost = start.filter { $0.assignment.copies.contains(victim) }.map(\.space)
        #expect(Set(critical.map(\.space)) == Set(lost))
        #expect(critical.allSatisfy { $0.from == victim && $0.to != victim && $0.source != victim })
        #expect(plan.moves.prefix(critical.count).allSatisfy { $0.priority == .critical })
        let after = try start.applying(plan.moves)
        let rackOf = Dictionary(uniqueKeysWithValues: cluster.nodes.map { ($0.id, $0.rack) })
        for (_, assignment) in after {
            #expect(assignment.copies.count == rf)
            #expect(!assignment.copies.contains(victim))
            #expect(Set(assignment.copies.compactMap { rackOf[$0] }).count == min(rf, 4))
        }
    }

    @Test("rack death with fewer racks left than copies falls back to distinct nodes")
    func rackDeath() throws {
        let cluster = try Cluster(nodes: 9, racks: 3, rf: 3, seed: 4)
        var membership = try Membership(nodes: cluster.nodes)
        for node in cluster.nodes where node.rack == "r0" { membership = try membership.setting(node.id, to: .dead) }
        let plan = try cluster.planner.plan(directory: cluster.directory, membership: membership, workload: cluster.workload)
        let after = try cluster.directory.applying(plan.moves)
        let rackOf = Dictionary(uniqueKeysWithValues: cluster.nodes.map { ($0.id, $0.rack) })
        for (_, assignment) in after {
            #expect(Set(assignment.copies).count == 3)
            #expect(assignment.copies.allSatisfy { rackOf[$0] != "r0" })
            #expect(Set(assignment.copies.compactMap { rackOf[$0] }).count == 2)
        }
    }

    @Test("a space is moved at most once by balancing and drains; drains empty the node")
    func movedOnce() throws {
        let cluster = try Cluster(rf: 2, seed: 8)
        let membership = try Membership(nodes: cluster.nodes).setting(3, to: .draining).adding(Node(id: 20, rack: "r2"))
        let plan = try cluster.planner.plan(directory: cluster.directory, membership: membership, workload: cluster.workload)
        let spaces = plan.moves.map(\.space)
        #expect(Set(spaces).count == spaces.count)
        #expect(plan.moves.filter { $0.from == 3 }.allSatisfy { $0.priority == .high && $0.source == 3 })
        let after = try cluster.directory.applying(plan.moves)
        #expect(after.allSatisfy { !$0.assignment.copies.contains(3) && $0.assignment.copies.count == 2 })
    }

    @Test("applying plans repeatedly converges to a balanced directory, then plans nothing",
          arguments: [(rf: 1, seed: UInt64(1)), (rf: 2, seed: 2), (rf: 3, seed: 3), (rf: 1, seed: 4)])
    func converges(rf: Int, seed: UInt64) throws {
        let cluster = try Cluster(rf: rf, seed: seed)
        let membership = try Membership(nodes: cluster.nodes)
        let (balanced, rounds) = try cluster.converge(cluster.directory, membership)
        #expect(rounds < 6)
        let configuration = PlannerConfiguration(replicationFactor: rf)
        let usage = cluster.usage(balanced, membership)
        let meanCount = usage.values.reduce(0) { $0 + $1.0 } / Double(usage.count)
        let meanBytes = usage.values.reduce(0) { $0 + $1.1 } / Double(usage.count)
        for (count, bytes) in usage.values {
            #expect(abs(count - meanCount) <= configuration.countTolerance * meanCount + 1)
            #expect(abs(bytes - meanBytes) <= configuration.bytesTolerance * meanBytes * 1.0001)
        }
        let again = try cluster.planner.plan(directory: balanced, membership: membership, workload: cluster.workload)
        #expect(again.isEmpty)
        // The plain ring was not this balanced.
        let ringUsage = cluster.usage(cluster.directory, membership)
        #expect(ringUsage.values.map(\.0).max() ?? 0 > usage.values.map(\.0).max() ?? 0)
    }

    @Test("a join moves close to the ideal share onto the new node", arguments: [1, 3])
    func join(rf: Int) throws {
        let cluster = try Cluster(spaces: 3_000, rf: rf, seed: 6)
        let (start, _) = try cluster.converge(cluster.directory, try Membership(nodes: cluster.nodes))
        let membership = try Membership(nodes: cluster.nodes).adding(Node(id: 9, rack: "r0"))
        let plan = try cluster.planner.plan(directory: start, membership: membership, workload: cluster.workload)
        let ideal = Double(3_000 * rf) / 9
        #expect(Double(plan.moves.count) <= ideal * 1.05)
        #expect(Double(plan.moves.count) >= ideal * 0.95)
        #expect(plan.moves.allSatisfy { $0.to == 9 || $0.from == 9 || $0.priority == .low })
        #expect(plan.moves.filter { $0.to == 9 }.count * 10 >= plan.moves.count * 9)
    }

    @Test("a hot space: the planner moves other load off its node")
    func hotSpace() throws {
        var cluster = try Cluster(rf: 1, seed: 12)
        let membership = try Membership(nodes: cluster.nodes)
        let (start, _) = try cluster.converge(cluster.directory, membership)
        let hot = cluster.spaces[0]
        let others = cluster.spaces.dropFirst().reduce(0.0) { $0 + cluster.workload[$1].opsPerSecond }
        cluster.workload[hot] = .init(bytes: cluster.workload[hot].bytes, opsPerSecond: others / 4)
        let home = try #require(start.lookup(hot)?.primary)
        func otherLoad(_ d: Directory) -> Double {
            d.reduce(0.0) { $0 + ($1.assignment.primary == home && $1.space != hot ? cluster.workload[$1.space].opsPerSecond : 0) }
        }
        let plan = try cluster.planner.plan(directory: start, membership: membership, workload: cluster.workload)
        #expect(!plan.moves.contains { $0.space == hot })
        #expect(otherLoad(try start.applying(plan.moves)) < otherLoad(start) * 0.8)
    }

    @Test("equal spaces under a hot space: the plan moves others off its node instead of swapping alike spaces")
    func hotSpaceWithoutSwaps() throws {
        var generator = SplitMix64(seed: 3)
        let nodes = (1...5).map { Node(id: NodeID(rawValue: UInt32($0))) }
        var entries: [(SpaceID, CopySet)] = []
        var workload = Workload()
        for i in 0..<10_000 {
            let space = SpaceID(rawValue: UInt64(i + 1))
            entries.append((space, CopySet([NodeID(rawValue: UInt32(i % 5 + 1))])))
            // Sizes within ±5%, equal load, and space 5 (on node 5) worth one node's share.
            let jitter = Double(generator.next() % 1001) / 10_000 - 0.05
            workload[space] = .init(bytes: UInt64(137_000 * (1 + jitter)), opsPerSecond: i == 4 ? 1_100 : 0.44)
        }
        // The cluster's tolerances (ClusterConfiguration.planner).
        let planner = RebalancePlanner(configuration: PlannerConfiguration(
            replicationFactor: 1, countTolerance: 0.25, bytesTolerance: 0.05, loadTolerance: 0.10, minimumBalanceGain: 0.05))
        let plan = try planner.plan(directory: try Directory(entries, version: 1), membership: try Membership(nodes: nodes),
                                    workload: workload)
        let out = plan.moves.filter { $0.from == 5 }.count
        let back = plan.moves.filter { $0.to == 5 }.count
        #expect(out > 100)
        #expect(!plan.moves.contains { $0.space == 5 })
        // Without taking swaps back: 3,555 moves, 1,636 of them onto the hot node, for a net 276.
        #expect(plan.moves.count < 2 * (out - back))
    }

    @Test("a balancing plan that removes less than minimumBalanceGain of the potential is dropped; a join is kept")
    func gainFloor() throws {
        let cluster = try Cluster(spaces: 3_000, rf: 1, seed: 6)
        let members = try Membership(nodes: cluster.nodes)
        let (start, _) = try cluster.converge(cluster.directory, members)
        func planner(_ floor: Double) -> RebalancePlanner {
            RebalancePlanner(configuration: PlannerConfiguration(replicationFactor: 1, minimumBalanceGain: floor))
        }
        // A join removes nearly all of Φ: the same plan under a 5% floor.
        let joined = try members.adding(Node(id: 9, rack: "r0"))
        let join = try planner(0).plan(directory: start, membership: joined, workload: cluster.workload)
        #expect(!join.isEmpty)
        #expect(try planner(0.05).plan(directory: start, membership: joined, workload: cluster.workload).moves == join.moves)
        // A small drift (one node's spaces 5% heavier) is worth a few moves, not the floor's 99.99%.
        var drifted = cluster.workload
        for (space, assignment) in start where assignment.primary == 1 {
            drifted[space] = .init(bytes: drifted[space].bytes * 105 / 100, opsPerSecond: drifted[space].opsPerSecond)
        }
        #expect(!(try planner(0).plan(directory: start, membership: members, workload: drifted)).isEmpty)
        #expect(try planner(0.9999).plan(directory: start, membership: members, workload: drifted).isEmpty)
        #expect { try planner(1).plan(directory: start, membership: members, workload: drifted) }
            throws: { ($0 as? PlacementError)?.code == .invalidConfiguration }
    }

    @Test("bad input returns typed errors")
    func errors() throws {
        let cluster = try Cluster(rf: 3, seed: 1)
        var membership = try Membership(nodes: cluster.nodes)
        for id in 1...6 { membership = try membership.setting(NodeID(rawValue: UInt32(id)), to: .dead) }
        #expect { try cluster.planner.plan(directory: cluster.directory, membership: membership, workload: cluster.workload) }
            throws: { ($0 as? PlacementError)?.code == .replicationFactorTooLarge }
        let partial = try Membership(nodes: Array(cluster.nodes.prefix(5)))
        #expect { try cluster.planner.plan(directory: cluster.directory, membership: partial, workload: cluster.workload) }
            throws: { ($0 as? PlacementError)?.code == .unknownNode }
        let bad = RebalancePlanner(configuration: PlannerConfiguration(replicationFactor: 0))
        #expect { try bad.plan(directory: cluster.directory, membership: partial, workload: cluster.workload) }
            throws: { ($0 as? PlacementError)?.code == .invalidConfiguration }
        #expect { try Membership([]) } throws: { ($0 as? PlacementError)?.code == .emptyCluster }
        #expect { try Membership(nodes: [Node(id: 1), Node(id: 1)]) } throws: { ($0 as? PlacementError)?.code == .duplicateNode }
        #expect { try Membership(nodes: [Node(id: 1, capacity: 0)]) } throws: { ($0 as? PlacementError)?.code == .invalidCapacity }
        #expect { try Membership(nodes: [Node(id: 1)]).setting(2, to: .dead) } throws: { ($0 as? PlacementError)?.code == .unknownNode }
    }
}
