// WorkloadSmoother: the first sample is taken whole, later ones are blended by elapsed time over
// the time constant, a noisy uniform load averages out, a space that turns hot takes over its
// share, and bytes pass through unsmoothed.

import MnemoCluster
import MnemoPlacement
import Testing

@Suite("WorkloadSmoother")
struct WorkloadSmootherTests {
    private static func workload(_ ops: [SpaceID: Double], bytes: UInt64 = 100) -> Workload {
        Workload(stats: ops.mapValues { Workload.Stats(bytes: bytes, opsPerSecond: $0) })
    }

    @Test func firstSampleWholeThenBlendedByElapsedTime() {
        var smoother = WorkloadSmoother(timeConstant: .seconds(30))
        #expect(smoother.windowSeconds == 60)
        let start = ContinuousClock.now
        let first = smoother.smooth(Self.workload([1: 10]), at: start)
        #expect(first[1].opsPerSecond == 10)
        // One time constant later the new sample weighs 1 - 1/e.
        let second = smoother.smooth(Self.workload([1: 0]), at: start + .seconds(30))
        #expect(abs(second[1].opsPerSecond - 10 / 2.718281828) < 1e-6)
        // No time passed: the sample weighs nothing.
        let third = smoother.smooth(Self.workload([1: 1000]), at: start + .seconds(30))
        #expect(abs(third[1].opsPerSecond - second[1].opsPerSecond) < 1e-9)
    }

    @Test func noiseAveragesOutAndAHotSpaceTakesOver() {
        var smoother = WorkloadSmoother(timeConstant: .seconds(30))
        var generator = SplitMix64(seed: 7)
        let start = ContinuousClock.now
        var last = Workload()
        // 2 s reports of two equally loaded spaces, each report ±30% noise.
        for step in 0..<60 {
            let noise = { Double(generator.next() % 61) / 100 - 0.3 }
            last = smoother.smooth(Self.workload([1: 100 * (1 + noise()), 2: 100 * (1 + noise())]),
                                   at: start + .seconds(2 * step))
        }
        #expect(abs(last[1].opsPerSecond - last[2].opsPerSecond) < 20)
        // Space 2 turns hot (10×): after two time constants it carries over 80% of the load.
        for step in 60..<90 {
            last = smoother.smooth(Self.workload([1: 100, 2: 1000]), at: start + .seconds(2 * step))
        }
        let share = last[2].opsPerSecond / (last[1].opsPerSecond + last[2].opsPerSecond)
        #expect(share > 0.8 && share < 1000.0 / 1100)
        #expect(last[2].bytes == 100)
    }

    @Test func quietSpacesFadeAndResetForgets() {
        var smoother = WorkloadSmoother(timeConstant: .seconds(1))
        let start = ContinuousClock.now
        _ = smoother.smooth(Self.workload([1: 1, 2: 5]), at: start)
        let later = smoother.smooth(Self.workload([2: 5]), at: start + .seconds(60))
        #expect(later.stats[1] == nil)
        #expect(abs(later[2].opsPerSecond - 5) < 1e-9)
        smoother.reset()
        let fresh = smoother.smooth(Self.workload([3: 7]), at: start + .seconds(61))
        #expect(fresh.stats.keys.sorted() == [3])
    }
}
