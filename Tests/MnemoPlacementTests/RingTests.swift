// Proves the ring's contracts: copies are distinct nodes, racks are distinct whenever enough racks
// exist (and fall back otherwise), the same inputs give the same assignment, removing a node moves
// only spaces that had a copy on it, adding one moves spaces only onto it, capacity weights the
// share, bounded loads cap every node, and bad input returns typed errors.

import MnemoPlacement
import Testing

func makeNodes(_ count: Int, racks: Int, capacity: Double = 1) -> [Node] {
    (1...count).map { Node(id: NodeID(rawValue: UInt32($0)), rack: "r\(($0 - 1) % racks)", capacity: capacity) }
}

func makeSpaces(_ count: Int, seed: UInt64) -> [SpaceID] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in SpaceID(rawValue: rng.next()) }
}

@Suite("Ring")
struct RingTests {
    @Test("replicas are distinct nodes", arguments: 1...5)
    func distinct(replicationFactor: Int) throws {
        let ring = try Ring(nodes: makeNodes(6, racks: 3),
                            configuration: RingConfiguration(virtualNodes: 40, replicationFactor: replicationFactor))
        for space in makeSpaces(2_000, seed: UInt64(replicationFactor)) {
            let copies = ring.copies(for: space)
            #expect(copies.count == replicationFactor)
            #expect(Set(copies).count == replicationFactor)
            #expect(copies.primary == ring.primary(for: space))
        }
    }

    @Test("racks are distinct when enough racks exist, and fall back otherwise",
          arguments: [(racks: 2, rf: 3), (racks: 3, rf: 3), (racks: 4, rf: 3), (racks: 5, rf: 2), (racks: 1, rf: 3)])
    func racks(racks: Int, rf: Int) throws {
        let nodes = makeNodes(8, racks: racks)
        let rackOf = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, $0.rack) })
        let ring = try Ring(nodes: nodes, configuration: RingConfiguration(virtualNodes: 50, replicationFactor: rf))
        for space in makeSpaces(1_000, seed: 9) {
            let copies = ring.copies(for: space)
            #expect(Set(copies).count == rf)
            let distinctRacks = Set(copies.compactMap { rackOf[$0] }).count
            #expect(distinctRacks == min(rf, racks), "\(copies)")
        }
    }

    @Test("same inputs give the same assignment, whatever the node order")
    func deterministic() throws {
        let nodes = makeNodes(7, racks: 3)
        let a = try Ring(nodes: nodes, configuration: RingConfiguration(replicationFactor: 3, seed: 5))
        let b = try Ring(nodes: nodes.reversed(), configuration: RingConfiguration(replicationFactor: 3, seed: 5))
        let c = try Ring(nodes: nodes, configuration: RingConfiguration(replicationFactor: 3, seed: 6))
        let spaces = makeSpaces(500, seed: 1)
        #expect(spaces.map(a.copies(for:)) == spaces.map(b.copies(for:)))
        #expect(spaces.map(a.copies(for:)) != spaces.map(c.copies(for:)))
    }

    @Test("removing a node moves only spaces that had a copy on it", arguments: [1, 2, 3])
    func removal(replicationFactor: Int) throws {
        for seed in UInt64(0)..<4 {
            let nodes = makeNodes(9, racks: 3)
            let ring = try Ring(nodes: nodes, configuration: RingConfiguration(
                virtualNodes: 60, replicationFactor: replicationFactor, seed: seed))
            let victim = nodes[Int(seed) % nodes.count].id
            let smaller = try ring.removing(victim)
            for space in makeSpaces(1_000, seed: seed) {
                let before = ring.copies(for: space)
                let after = smaller.copies(for: space)
                if !before.contains(victim) {
                    #expect(before == after)
                } else {
                    #expect(!after.contains(victim))
                }
            }
        }
    }

    @Test("adding a node moves spaces only onto the new node")
    func addition() throws {
        let ring = try Ring(nodes: makeNodes(8, racks: 8), configuration: RingConfiguration(replicationFactor: 1))
        let bigger = try ring.adding(Node(id: 99, rack: "r99"))
        var moved = 0
        for space in makeSpaces(4_000, seed: 3) where ring.primary(for: space) != bigger.primary(for: space) {
            #expect(bigger.primary(for: space) == 99)
            moved += 1
        }
        #expect(moved > 4_000 / 9 / 2 && moved < 4_000 / 9 * 2)
    }

    @Test("capacity weights the number of virtual nodes and the share of spaces")
    func capacity() throws {
        let nodes = [Node(id: 1, rack: "a", capacity: 1), Node(id: 2, rack: "b", capacity: 3)]
        let ring = try Ring(nodes: nodes, configuration: RingConfiguration(virtualNodes: 100, replicationFactor: 1))
        #expect(ring.virtualNodeCount == 400)
        let onHeavy = makeSpaces(8_000, seed: 4).filter { ring.primary(for: $0) == 2 }.count
        #expect(onHeavy > 5_200 && onHeavy < 6_800)
    }

    @Test("bounded loads cap every node at ⌈(1 + ε) × average⌉", arguments: [0.05, 0.1, 0.25])
    func boundedLoads(epsilon: Double) throws {
        let nodes = makeNodes(10, racks: 5)
        let spaces = makeSpaces(3_000, seed: 11)
        let ring = try Ring(nodes: nodes, configuration: RingConfiguration(
            virtualNodes: 50, replicationFactor: 2, loadBound: epsilon))
        let directory = try ring.assign(spaces)
        var load: [NodeID: Int] = [:]
        for (_, assignment) in directory {
            #expect(Set(assignment.copies).count == 2)
            for node in assignment.copies { load[node, default: 0] += 1 }
        }
        let cap = Int(((1 + epsilon) * Double(spaces.count * 2) / 10).rounded(.up))
        #expect(load.values.allSatisfy { $0 <= cap }, "\(load.values.max() ?? 0) > \(cap)")
        // The input order does not change the result.
        let shuffled = try ring.assign(spaces.reversed())
        #expect(spaces.allSatisfy { directory.lookup($0) == shuffled.lookup($0) })
    }

    @Test("bad input returns typed errors")
    func errors() {
        #expect(throws: PlacementError(.emptyCluster, "membership has no node")) {
            try Ring(nodes: [])
        }
        #expect { try Ring(nodes: makeNodes(2, racks: 1), configuration: RingConfiguration(replicationFactor: 3)) }
            throws: { ($0 as? PlacementError)?.code == .replicationFactorTooLarge }
        #expect { try Ring(nodes: [Node(id: 1), Node(id: 1)], configuration: RingConfiguration(replicationFactor: 1)) }
            throws: { ($0 as? PlacementError)?.code == .duplicateNode }
        #expect { try Ring(nodes: [Node(id: 1, capacity: 0)], configuration: RingConfiguration(replicationFactor: 1)) }
            throws: { ($0 as? PlacementError)?.code == .invalidCapacity }
        #expect { try Ring(nodes: [Node(id: 1, capacity: .nan)], configuration: RingConfiguration(replicationFactor: 1)) }
            throws: { ($0 as? PlacementError)?.code == .invalidCapacity }
        #expect { try Ring(nodes: makeNodes(3, racks: 1), configuration: RingConfiguration(virtualNodes: 0, replicationFactor: 1)) }
            throws: { ($0 as? PlacementError)?.code == .invalidConfiguration }
        #expect { try Ring(nodes: makeNodes(9, racks: 1), configuration: RingConfiguration(replicationFactor: 8)) }
            throws: { ($0 as? PlacementError)?.code == .invalidConfiguration }
        #expect { try Ring(nodes: makeNodes(3, racks: 1), configuration: RingConfiguration(replicationFactor: 1, loadBound: -1)) }
            throws: { ($0 as? PlacementError)?.code == .invalidConfiguration }
        #expect { try Ring(nodes: makeNodes(3, racks: 1), configuration: RingConfiguration(replicationFactor: 3)).removing(2) }
            throws: { ($0 as? PlacementError)?.code == .replicationFactorTooLarge }
        #expect { try Ring(nodes: makeNodes(3, racks: 1), configuration: RingConfiguration(replicationFactor: 1)).removing(42) }
            throws: { ($0 as? PlacementError)?.code == .unknownNode }
        #expect { try Ring(nodes: makeNodes(3, racks: 1), configuration: RingConfiguration(replicationFactor: 1)).assign([1, 1]) }
            throws: { ($0 as? PlacementError)?.code == .duplicateSpace }
    }
}
