// Proves execution under limits: the token bucket never grants more than depth + rate × t over
// random request sequences; running real plans never exceeds the per-node concurrency or any
// priority's byte rate, never leaves a space below the replication factor (make before break),
// restores lost copies before the rest finishes, ends at the directory the plan describes; and the
// estimated time matches hand-computed figures.

import MnemoPlacement
import Testing

@Suite("RebalanceRunner")
struct RebalanceRunnerTests {
    @Test("token bucket: granted ≤ depth + rate × t for any request sequence", arguments: UInt64(0)..<8)
    func tokenBucket(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var bucket = TokenBucket(bytesPerSecond: 10_000_000, burstSeconds: 0.5)
        var now = 0.0
        for _ in 0..<2_000 {
            let step = Double.random(in: 0..<0.2, using: &rng)
            now += step
            let asked = Double.random(in: 0..<5_000_000, using: &rng)
            let got = bucket.take(asked, over: step)
            #expect(got >= 0 && got <= asked)
            #expect(bucket.granted <= bucket.depth + 10_000_000 * now + 1e-3)
        }
        // A saturated bucket runs at its rate.
        #expect(bucket.granted >= 10_000_000 * now * 0.5)
        var unlimited = TokenBucket(bytesPerSecond: nil, burstSeconds: 1)
        #expect(unlimited.take(1e12, over: 0) == 1e12)
    }

    @Test("plans run within concurrency and rate limits, never below the factor",
          arguments: [(rf: 3, concurrency: 1), (rf: 3, concurrency: 2), (rf: 2, concurrency: 3), (rf: 1, concurrency: 2)])
    func limits(rf: Int, concurrency: Int) throws {
        let cluster = try Cluster(spaces: 800, rf: rf, seed: UInt64(rf * 10 + concurrency))
        var configuration = PlannerConfiguration(replicationFactor: rf)
        configuration.limits = MoveLimits(maxConcurrentMovesPerNode: concurrency, criticalBytesPerSecond: 200_000_000,
                                          highBytesPerSecond: 50_000_000, mediumBytesPerSecond: 20_000_000,
                                          lowBytesPerSecond: 10_000_000, burstSeconds: 0.25,
                                          perMoveBytesPerSecond: 30_000_000)
        let dead: Set<NodeID> = rf > 1 ? [2] : []
        var membership = try Membership(nodes: cluster.nodes).adding(Node(id: 30, rack: "r3"))
        for node in dead { membership = try membership.setting(node, to: .dead) }
        let plan = try RebalancePlanner(configuration: configuration)
            .plan(directory: cluster.directory, membership: membership, workload: cluster.workload)
        #expect(!plan.isEmpty)
        var executor = SimulatedExecutor(directory: cluster.directory, dead: dead, replicationFactor: rf)
        let report = try RebalanceRunner().run(plan, directory: cluster.directory, executor: &executor)
        #expect(report.finishedMoves == plan.moves.count)
        #expect(executor.finished == plan.moves.count)
        #expect(report.peakConcurrentMovesPerNode <= concurrency)
        #expect(report.peakConcurrentMovesPerNode >= 1)
        #expect(report.peakRateExcessBytes <= 1)
        #expect(executor.violations == 0)
        #expect(executor.minimumLiveCopies >= (dead.isEmpty ? rf : rf - 1))
        #expect(UInt64(executor.copiedBytes) == plan.totalBytes)
        if !dead.isEmpty {
            #expect(report.secondsToRestore > 0)
            #expect(report.secondsToRestore <= report.seconds)
        }
        let expected = try cluster.directory.applying(plan.moves)
        #expect(expected.allSatisfy { report.directory.lookup($0.space)?.copies.sorted() == $0.assignment.copies.sorted() })
        // Low moves alone cannot beat their rate: bytes / rate ≤ time (minus the burst).
        let lowBytes = Double(plan.bytes(of: .low))
        #expect(report.seconds >= (lowBytes - 10_000_000 * 0.25) / 10_000_000 - 1e-6)
    }

    @Test("estimated time: one 100 MB Low move at 10 MB/s with a 1 s burst takes 9 s")
    func estimate() throws {
        let directory = try Directory([(1, CopySet([1])), (2, CopySet([2]))])
        let limits = MoveLimits(maxConcurrentMovesPerNode: 1, lowBytesPerSecond: 10_000_000, burstSeconds: 1)
        let plan = RebalancePlan(moves: [Move(space: 1, from: 1, to: 3, source: 1, bytes: 100_000_000, priority: .low)],
                                 limits: limits, replicationFactor: 1)
        var executor = SimulatedExecutor(directory: directory, replicationFactor: 1)
        let report = try RebalanceRunner().run(plan, directory: directory, executor: &executor)
        #expect(abs(report.seconds - 9) < 0.01)
        #expect(report.directory.lookup(1)?.primary == 3)

        // Two moves through the same receiver with concurrency 1 run one after the other; a
        // Critical one (unlimited rate, 200 MB/s stream) goes first.
        let both = RebalancePlan(moves: [
            Move(space: 1, from: 1, to: 3, source: 1, bytes: 100_000_000, priority: .low),
            Move(space: 2, from: 2, to: 3, source: nil, bytes: 200_000_000, priority: .critical),
        ], limits: limits, replicationFactor: 1)
        var second = SimulatedExecutor(directory: directory, dead: [2], replicationFactor: 1)
        let sequential = try RebalanceRunner().run(both, directory: directory, executor: &second)
        #expect(abs(sequential.secondsToRestore - 1) < 0.01)
        #expect(abs(sequential.seconds - 10) < 0.05)
    }

    @Test("a failing executor's error surfaces")
    func executorErrors() throws {
        let directory = try Directory([(1, CopySet([1]))])
        let plan = RebalancePlan(moves: [Move(space: 1, from: 1, to: 2, source: 5, bytes: 10, priority: .low)],
                                 limits: MoveLimits(), replicationFactor: 1)
        var executor = SimulatedExecutor(directory: directory, replicationFactor: 1)
        #expect { try RebalanceRunner().run(plan, directory: directory, executor: &executor) }
            throws: { ($0 as? PlacementError)?.code == .executorFailed }
        var bad = MoveLimits()
        bad.maxConcurrentMovesPerNode = 0
        let badPlan = RebalancePlan(moves: [], limits: bad, replicationFactor: 1)
        #expect { try RebalanceRunner().run(badPlan, directory: directory, executor: &executor) }
            throws: { ($0 as? PlacementError)?.code == .invalidConfiguration }
    }
}
