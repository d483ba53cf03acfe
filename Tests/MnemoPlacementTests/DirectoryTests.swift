// Proves the directory: lookups agree with the ring it starts from and miss unknown spaces,
// contains(_:) is exact, long runs of random changes agree with a plain dictionary model while the
// table of distinct assignments stays bounded, entries are plain values (so a lookup cannot allocate or retain), versions only grow, the diff
// of two directories is exactly the moves between them, failover promotes live replicas, and the
// publisher hands new snapshots to lock-free readers, also while readers run concurrently.

@testable import MnemoPlacement
import Testing

@Suite("Directory")
struct DirectoryTests {
    @Test("lookups agree with the ring; unknown spaces miss", arguments: [0, 1, 17, 5_000])
    func lookup(count: Int) throws {
        let ring = try Ring(nodes: makeNodes(5, racks: 5), configuration: RingConfiguration(replicationFactor: 2))
        let spaces = makeSpaces(count, seed: UInt64(count))
        let directory = try ring.assign(spaces)
        #expect(directory.count == count)
        #expect(Array(directory).count == count)
        for space in spaces {
            #expect(directory.lookup(space)?.copies == ring.copies(for: space))
            #expect(directory.lookup(space)?.version == 1)
        }
        for space in makeSpaces(500, seed: 999) where !spaces.contains(space) {
            #expect(directory.lookup(space) == nil)
        }
    }

    @Test("contains is exact, also for ids whose mixed value shares a member's tag")
    func containsIsExact() throws {
        let spaces = makeSpaces(3_000, seed: 4)
        let directory = try Directory(spaces.map { ($0, CopySet([1])) })
        #expect(spaces.allSatisfy(directory.contains))
        let hash = directory.storage.hash
        let twins = spaces.map { SpaceID(rawValue: unmix(hash.mix($0.rawValue) ^ 1, seed: hash.seed)) }
        #expect(!twins.contains(where: directory.contains))
        #expect(!makeSpaces(3_000, seed: 5).contains(where: directory.contains))
    }

    @Test("random changes agree with a dictionary model; the assignment table stays bounded",
          arguments: [1, 3])
    func model(replicationFactor: Int) throws {
        let nodes = (1...6).map { NodeID(rawValue: UInt32($0)) }
        var rng = SplitMix64(seed: UInt64(replicationFactor))
        let spaces = makeSpaces(1_500, seed: 6)
        var model: [SpaceID: Assignment] = [:]
        var entries: [(SpaceID, CopySet)] = []
        for space in spaces {
            let copies = CopySet(nodes.shuffled(using: &rng).prefix(replicationFactor))
            entries.append((space, copies))
            model[space] = Assignment(copies: copies, version: 1)
        }
        var directory = try Directory(entries)
        for round in 0..<1_500 {
            var changes: [(SpaceID, CopySet)] = []
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let space = spaces[Int.random(in: 0..<spaces.count, using: &rng)]
                let copies = CopySet(nodes.shuffled(using: &rng).prefix(replicationFactor))
                changes.append((space, copies))
            }
            directory = try directory.updating(changes)
            for (space, copies) in changes { model[space] = Assignment(copies: copies, version: directory.version) }
            #expect(directory.storage.assignmentCount <= 2 * directory.storage.compactedCount + 1024 + 8)
            if round % 100 == 99 {
                #expect(directory.count == spaces.count)
                #expect(spaces.allSatisfy { directory.lookup($0) == model[$0] })
                #expect(Dictionary(uniqueKeysWithValues: directory.map { ($0.space, $0.assignment) }) == model)
            }
        }
    }

    @Test("assignments are plain values: a lookup copies bits, never a reference")
    func plainValues() {
        #expect(_isPOD(Assignment.self))
        #expect(_isPOD(CopySet.self))
        #expect(MemoryLayout<Assignment>.size <= 48)
    }

    @Test("sequential ids (worst case for a weak hash) are found")
    func sequentialIDs() throws {
        let entries = (0..<3_000).map { (SpaceID(rawValue: UInt64($0)), CopySet([NodeID(rawValue: UInt32($0 % 7))])) }
        let directory = try Directory(entries)
        for (space, copies) in entries { #expect(directory.lookup(space)?.copies == copies) }
    }

    @Test("versions only grow; only changed entries take the new version; diff lists the moves")
    func versionsAndDiff() throws {
        let ring = try Ring(nodes: makeNodes(4, racks: 4), configuration: RingConfiguration(replicationFactor: 2))
        let spaces = makeSpaces(200, seed: 2)
        let directory = try ring.assign(spaces)
        var moves: [Move] = []
        for space in spaces.prefix(20) {
            let copies = ring.copies(for: space)
            let spare = (1...4).map { NodeID(rawValue: UInt32($0)) }.first { !copies.contains($0) }
            moves.append(Move(space: space, from: copies[1], to: spare, source: copies[0], bytes: 10, priority: .low))
        }
        let next = try directory.applying(moves)
        #expect(next.version == directory.version + 1)
        for space in spaces {
            let changed = moves.contains { $0.space == space }
            #expect(next.lookup(space)?.version == (changed ? 2 : 1))
        }
        let diff = directory.diff(next)
        #expect(diff.count == moves.count)
        #expect(Set(diff.map(\.space)) == Set(moves.map(\.space)))
        #expect(diff.allSatisfy { d in moves.contains { $0.space == d.space && $0.from == d.from && $0.to == d.to } })
        #expect(directory.diff(directory).isEmpty)
        // Applying the diff reproduces the target.
        let replay = try directory.applying(diff)
        #expect(spaces.allSatisfy { replay.lookup($0)?.copies == next.lookup($0)?.copies })
    }

    @Test("bad moves and entries return typed errors")
    func errors() throws {
        let directory = try Directory([(1, CopySet([1, 2]))])
        #expect { try directory.applying([Move(space: 9, from: 1, to: 3, source: 1, bytes: 0, priority: .low)]) }
            throws: { ($0 as? PlacementError)?.code == .unknownSpace }
        #expect { try directory.applying([Move(space: 1, from: 5, to: 3, source: 1, bytes: 0, priority: .low)]) }
            throws: { ($0 as? PlacementError)?.code == .invalidMove }
        #expect { try directory.applying([Move(space: 1, from: 1, to: 2, source: 1, bytes: 0, priority: .low)]) }
            throws: { ($0 as? PlacementError)?.code == .invalidMove }
        #expect { try Directory([(1, CopySet([1])), (1, CopySet([2]))]) }
            throws: { ($0 as? PlacementError)?.code == .duplicateSpace }
        #expect { try Directory([(1, CopySet())]) } throws: { ($0 as? PlacementError)?.code == .invalidConfiguration }
    }

    @Test("failover promotes the first live replica; a critical move replacing a lost primary keeps it")
    func failover() throws {
        let directory = try Directory([(1, CopySet([1, 2, 3])), (2, CopySet([2, 1, 3])), (3, CopySet([1]))])
        let routed = try directory.failingOver([1])
        #expect(routed.lookup(1)?.copies == CopySet([2, 3, 1]))
        #expect(routed.lookup(2)?.copies == CopySet([2, 1, 3]))
        #expect(routed.lookup(3)?.copies == CopySet([1]))
        let restored = try directory.applying([Move(space: 1, from: 1, to: 4, source: 2, bytes: 0, priority: .critical)])
        #expect(restored.lookup(1)?.copies == CopySet([2, 3, 4]))
        let rebalanced = try directory.applying([Move(space: 1, from: 1, to: 4, source: 1, bytes: 0, priority: .low)])
        #expect(rebalanced.lookup(1)?.copies == CopySet([4, 2, 3]))
    }

    @Test("readers see every published snapshot; versions must grow")
    func publisher() async throws {
        guard #available(macOS 15.0, *) else { return }
        let first = try Directory([(1, CopySet([1])), (2, CopySet([2]))])
        let publisher = DirectoryPublisher(first)
        var reader = publisher.reader()
        #expect(reader.lookup(1)?.primary == 1)
        let second = try first.applying([Move(space: 1, from: 1, to: 3, source: 1, bytes: 0, priority: .low)])
        try publisher.publish(second)
        #expect(reader.lookup(1)?.primary == 3)
        #expect(reader.snapshot.version == 2)
        #expect { try publisher.publish(first) } throws: { ($0 as? PlacementError)?.code == .invalidConfiguration }

        // Concurrent readers never see a torn or unknown entry while a writer publishes.
        let final = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var reader = publisher.reader()
                    var ok = true
                    for _ in 0..<20_000 {
                        guard let a = reader.lookup(1) else { return false }
                        ok = ok && a.copies.count == 1 && a.version == reader.snapshot.lookup(1)?.version
                    }
                    return ok
                }
            }
            var current = second
            for i in 0..<200 {
                let from = current.lookup(1)?.primary ?? 3
                let to = NodeID(rawValue: UInt32(10 + i))
                current = try current.applying([Move(space: 1, from: from, to: to, source: from, bytes: 0, priority: .low)])
                try publisher.publish(current)
            }
            var all = true
            for try await ok in group { all = all && ok }
            return all
        }
        #expect(final)
        #expect(publisher.generation == 202)
    }
}
