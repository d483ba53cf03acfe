// The controller's replication decisions, as pure functions: which replica a failover promotes
// (the live one with the highest durable sequence; none while a live replica has not answered,
// since it may hold the newest acknowledged writes; dead copies leave), and how a planned copy
// change rewrites a copy set (never dropping or replacing the primary).

@testable import MnemoCluster
import MnemoPlacement
import Testing

@Suite("Failover planning")
struct FailoverPlanningTests {
    let space: SpaceID = 7
    let assignment = Assignment(copies: CopySet([1, 2, 3, 4]), version: 9)

    @Test("the live replica with the highest sequence is promoted; dead copies leave; version + 1")
    func promotesHighest() throws {
        let next = try #require(ClusterController.promoted(
            assignment, space: space, alive: [2, 3], sequences: [2: [space: 40], 3: [space: 41]]))
        #expect(Array(next.copies) == [3, 2])
        #expect(next.version == 10)
        // Ties go to the first in copy order.
        let tie = try #require(ClusterController.promoted(
            assignment, space: space, alive: [2, 3, 4], sequences: [2: [space: 5], 3: [space: 5], 4: [space: 1]]))
        #expect(Array(tie.copies) == [2, 3, 4])
    }

    @Test("no promotion while a live replica has not answered, or when none holds a copy")
    func waitsForEveryLiveReplica() {
        #expect(ClusterController.promoted(assignment, space: space, alive: [2, 3],
                                           sequences: [2: [space: 40]]) == nil)
        #expect(ClusterController.promoted(assignment, space: space, alive: [2, 3],
                                           sequences: [2: [:], 3: [:]]) == nil)
        // A replica without a copy (a snapshot on its way) stays a copy but is not promoted.
        let next = ClusterController.promoted(assignment, space: space, alive: [2, 3],
                                              sequences: [2: [:], 3: [space: 3]])
        #expect(next.map { Array($0.copies) } == [3, 2])
    }

    @Test("with a majority quorum, a failover needs answers from enough replicas to hold every acknowledged write")
    func waitsForEnoughReplicas() {
        let three = Assignment(copies: CopySet([1, 2, 3]), version: 4)
        // Primary 1 and replica 3 gone: a write on 1 and 3 may be acknowledged, 2 cannot tell.
        #expect(ClusterController.promoted(three, space: space, alive: [2], sequences: [2: [space: 8]]) == nil)
        #expect(ClusterController.promoted(three, space: space, alive: [2], sequences: [2: [space: 8]],
                                           writeQuorum: "majority") == nil)
        // A space whose writes need only the primary loses what the primary alone held anyway.
        let next = ClusterController.promoted(three, space: space, alive: [2], sequences: [2: [space: 8]],
                                              writeQuorum: "one")
        #expect(next.map { Array($0.copies) } == [2])
        #expect([(1, 1), (2, 2), (3, 2), (4, 3), (6, 4)].allSatisfy {
            ClusterController.answersNeeded(replicas: $0.0, writeQuorum: nil) == $0.1
        })
    }

    @Test("copy changes add, drop or replace replicas, never the primary")
    func copyChanges() {
        let added = ClusterController.copyChange(
            Move(space: space, from: nil, to: 5, source: 1, bytes: 0, priority: .critical), assignment)
        #expect(added.map { Array($0.copies) } == [1, 2, 3, 4, 5])
        #expect(added?.version == 10)
        let dropped = ClusterController.copyChange(
            Move(space: space, from: 3, to: nil, source: 1, bytes: 0, priority: .low), assignment)
        #expect(dropped.map { Array($0.copies) } == [1, 2, 4])
        let replaced = ClusterController.copyChange(
            Move(space: space, from: 2, to: 6, source: 1, bytes: 0, priority: .critical), assignment)
        #expect(replaced.map { Array($0.copies) } == [1, 6, 3, 4])
        for move in [Move(space: space, from: 1, to: nil, source: 2, bytes: 0, priority: .low),
                     Move(space: space, from: 1, to: 6, source: 2, bytes: 0, priority: .critical),
                     Move(space: space, from: nil, to: 3, source: 1, bytes: 0, priority: .critical),
                     Move(space: space, from: 9, to: 6, source: 1, bytes: 0, priority: .critical)] {
            #expect(ClusterController.copyChange(move, assignment) == nil, "\(move)")
        }
    }
}
