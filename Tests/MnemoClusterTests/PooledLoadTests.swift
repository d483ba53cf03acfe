// ClusterController.pooled: light spaces whose loads differ only by counting noise are seen as
// equals (their node's mean), a space measurably busier keeps its own load, and every node's
// total load and every space's bytes are unchanged.

import MnemoCluster
import MnemoPlacement
import Testing

@Suite("Pooled load")
struct PooledLoadTests {
    /// Node 1 holds the hot space 0 and spaces 1..<500, node 2 spaces 500..<1000; light spaces
    /// get counts of 0...6 requests over a 60 s window (rates 0 ... 0.1, mean 0.05).
    private static func cluster() -> (Workload, AssignmentSnapshot) {
        var generator = SplitMix64(seed: 3)
        var stats: [SpaceID: Workload.Stats] = [:]
        var table = AssignmentSnapshot()
        for i in 0..<1_000 {
            let space = SpaceID(rawValue: UInt64(i))
            let node: NodeID = i < 500 ? 1 : 2
            table.entries[space] = StoredAssignment(space: space, assignment: Assignment(copies: CopySet([node]), version: 1),
                                                    modRevision: 1)
            let count = Double(generator.next() % 7)
            stats[space] = Workload.Stats(bytes: UInt64(1_000 + i), opsPerSecond: i == 0 ? 120 : count / 60)
        }
        return (Workload(stats: stats), table)
    }

    private static func total(_ workload: Workload, _ table: AssignmentSnapshot, _ node: NodeID) -> Double {
        table.entries.filter { $0.value.assignment.primary == node }.keys.reduce(0.0) { $0 + workload[$1].opsPerSecond }
    }

    @Test func lightSpacesBecomeTheirNodesMeanAndTheHotSpaceStays() {
        let (raw, table) = Self.cluster()
        let pooled = ClusterController.pooled(raw, assignments: table, windowSeconds: 60)
        #expect(pooled[0].opsPerSecond == 120)
        #expect(Set((1..<500).map { pooled[SpaceID(rawValue: UInt64($0))].opsPerSecond }).count == 1)
        #expect(Set((500..<1_000).map { pooled[SpaceID(rawValue: UInt64($0))].opsPerSecond }).count == 1)
        for node: NodeID in [1, 2] {
            #expect(abs(Self.total(pooled, table, node) - Self.total(raw, table, node)) < 1e-9)
        }
        #expect((0..<1_000).allSatisfy {
            pooled[SpaceID(rawValue: UInt64($0))].bytes == raw[SpaceID(rawValue: UInt64($0))].bytes
        })
    }

    @Test func aMeasurablyBusierSpaceKeepsItsLoad() {
        var (raw, table) = Self.cluster()
        // 60 requests in 60 s where the others see about 3: far beyond counting noise.
        raw[SpaceID(rawValue: 700)] = Workload.Stats(bytes: 1_700, opsPerSecond: 1)
        let pooled = ClusterController.pooled(raw, assignments: table, windowSeconds: 60)
        #expect(pooled[SpaceID(rawValue: 700)].opsPerSecond == 1)
        #expect(pooled[SpaceID(rawValue: 701)].opsPerSecond < 0.1)
        // Without a window the workload is returned as it is.
        #expect(ClusterController.pooled(raw, assignments: table, windowSeconds: 0)[SpaceID(rawValue: 701)].opsPerSecond
                == raw[SpaceID(rawValue: 701)].opsPerSecond)
    }
}
