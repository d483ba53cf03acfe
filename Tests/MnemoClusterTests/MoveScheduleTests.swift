// ClusterController.schedule: which planned moves start now and at which rate. A priority's rate
// is never exceeded, and a move never starts with a crumb of rate (the leftovers of rounded
// shares once held nodes' move slots at a few bytes a second).

@testable import MnemoCluster
import MnemoPlacement
import Testing

@Suite("Move schedule")
struct MoveScheduleTests {
    private static func planned(_ space: SpaceID, from: NodeID, to: NodeID,
                                priority: Move.Priority = .low) -> ClusterController.PlannedMove {
        let move = Move(space: space, from: from, to: to, source: from, bytes: 100_000, priority: priority)
        return ClusterController.PlannedMove(move: move, from: from, to: to, assignmentRevision: 1, version: 1)
    }

    private static func pending(_ space: SpaceID, from: NodeID, to: NodeID, rate: UInt64) -> MoveRecord {
        MoveRecord(space: space, from: from, to: to, priority: .low, bytes: 100_000, rate: rate, version: 1)
    }

    @Test func sharesThePriorityRateAndNeverExceedsIt() {
        let limits = MoveLimits(maxConcurrentMovesPerNode: 8, lowBytesPerSecond: 10_000_000)
        let queue = (0..<3).map { Self.planned(SpaceID(rawValue: UInt64($0)), from: NodeID(rawValue: UInt32($0 + 1)), to: 9) }
        let started = ClusterController.schedule(queue, pending: [], limits: limits)
        #expect(started.count == 3)
        #expect(started.allSatisfy { $0.rate == 3_333_333 })
        #expect(started.reduce(0) { $0 + $1.rate } <= 10_000_000)
    }

    @Test func aCrumbOfRateStartsNothing() {
        // Three moves took 3 × 3,333,333 B/s of 10 MB/s: 1 B/s is left, below the minimum.
        let limits = MoveLimits(maxConcurrentMovesPerNode: 8, lowBytesPerSecond: 10_000_000)
        let pending = (0..<3).map { Self.pending(SpaceID(rawValue: UInt64($0)), from: 1, to: 9, rate: 3_333_333) }
        let queue = [Self.planned(10, from: 2, to: 8)]
        #expect(ClusterController.schedule(queue, pending: pending, limits: limits).isEmpty)
        #expect(ClusterController.retryRate(Self.pending(11, from: 3, to: 7, rate: 0), pending: pending,
                                            limits: limits) == nil)
    }

    @Test func onlyAsManyStartAsGetTheMinimumMostUrgentFirst() {
        let limits = MoveLimits(maxConcurrentMovesPerNode: 100, lowBytesPerSecond: 10_000_000,
                                minimumMoveBytesPerSecond: 1_000_000)
        let pending = [Self.pending(100, from: 1, to: 9, rate: 5_500_000)]
        let queue = (0..<8).map { Self.planned(SpaceID(rawValue: UInt64($0)), from: 2, to: 8) }
        let started = ClusterController.schedule(queue, pending: pending, limits: limits)
        // 4.5 MB/s left: four moves at 1.125 MB/s, the first four of the queue.
        #expect(started.map(\.planned.move.space) == [0, 1, 2, 3])
        #expect(started.allSatisfy { $0.rate == 1_125_000 })
    }

    @Test func theMinimumMustFitEveryRate() {
        #expect(throws: PlacementError.self) {
            try MoveLimits(lowBytesPerSecond: 500_000).validate()
        }
        #expect(throws: Never.self) { try MoveLimits().validate() }
    }
}
