// WorkloadSmoother: the first sample is taken whole, later ones are blended by the seconds they
// cover over the time constant (a space without a new sample keeps its average: a stale report is
// not counted twice), a noisy uniform load averages out, a space that turns hot takes over its
// share, and bytes pass through unsmoothed.

import MnemoCluster
import MnemoPlacement
import Testing

@Suite("WorkloadSmoother")
struct WorkloadSmootherTests {
    private static func workload(_ ops: [SpaceID: Double], bytes: UInt64 = 100) -> Workload {
        Workload(stats: ops.mapValues { Workload.Stats(bytes: bytes, opsPerSecond: $0) })
    }

    @Test func firstSampleWholeThenBlendedBySampleSeconds() {
        var smoother = WorkloadSmoother(timeConstant: .seconds(30))
        #expect(smoother.windowSeconds == 60)
        let first = smoother.smooth(Self.workload([1: 10]), sampleSeconds: [:])
        #expect(first[1].opsPerSecond == 10)
        // A sample covering one time constant weighs 1 - 1/e.
        let second = smoother.smooth(Self.workload([1: 0]), sampleSeconds: [1: 30])
        #expect(abs(second[1].opsPerSecond - 10 / 2.718281828) < 1e-6)
        // No new sample (the same report read again): the average stays.
        let third = smoother.smooth(Self.workload([1: 1000]), sampleSeconds: [:])
        #expect(abs(third[1].opsPerSecond - second[1].opsPerSecond) < 1e-9)
    }

    @Test func aStaleReportReadAtEveryPlanIsCountedOnce() {
        // Two spaces of equal true load; space 1 is listed in a report with 1 op in 2 s, space 2
        // unlisted and read as 0. Plans every 0.5 s read that one report four times: it is one
        // 2 s sample, not four.
        var once = WorkloadSmoother(timeConstant: .seconds(30))
        var everyPlan = WorkloadSmoother(timeConstant: .seconds(30))
        let start = Self.workload([1: 0.25, 2: 0.25])
        _ = once.smooth(start, sampleSeconds: [:])
        _ = everyPlan.smooth(start, sampleSeconds: [:])
        let report = Self.workload([1: 0.5, 2: 0])
        let blendedOnce = once.smooth(report, sampleSeconds: [1: 2, 2: 2])
        var last = Workload()
        for plan in 0..<4 { last = everyPlan.smooth(report, sampleSeconds: plan == 0 ? [1: 2, 2: 2] : [:]) }
        #expect(abs(last[1].opsPerSecond - blendedOnce[1].opsPerSecond) < 1e-12)
        #expect(abs(last[1].opsPerSecond + last[2].opsPerSecond - 0.5) < 1e-12)
    }

    @Test func noiseAveragesOutAndAHotSpaceTakesOver() {
        var smoother = WorkloadSmoother(timeConstant: .seconds(30))
        var generator = SplitMix64(seed: 7)
        var last = Workload()
        // 2 s reports of two equally loaded spaces, each report ±30% noise.
        for _ in 0..<60 {
            let noise = { Double(generator.next() % 61) / 100 - 0.3 }
            last = smoother.smooth(Self.workload([1: 100 * (1 + noise()), 2: 100 * (1 + noise())]),
                                   sampleSeconds: [1: 2, 2: 2])
        }
        #expect(abs(last[1].opsPerSecond - last[2].opsPerSecond) < 20)
        // Space 2 turns hot (10×): after two time constants it carries over 80% of the load.
        for _ in 60..<90 {
            last = smoother.smooth(Self.workload([1: 100, 2: 1000]), sampleSeconds: [1: 2, 2: 2])
        }
        let share = last[2].opsPerSecond / (last[1].opsPerSecond + last[2].opsPerSecond)
        #expect(share > 0.8 && share < 1000.0 / 1100)
        #expect(last[2].bytes == 100)
    }

    @Test func unlistedSpacesAreForgottenAndResetForgets() {
        var smoother = WorkloadSmoother(timeConstant: .seconds(1))
        _ = smoother.smooth(Self.workload([1: 1, 2: 5]), sampleSeconds: [:])
        let later = smoother.smooth(Self.workload([2: 5]), sampleSeconds: [2: 60])
        #expect(later.stats[1] == nil)
        #expect(abs(later[2].opsPerSecond - 5) < 1e-9)
        smoother.reset()
        let fresh = smoother.smooth(Self.workload([2: 9, 3: 7]), sampleSeconds: [:])
        #expect(fresh[2].opsPerSecond == 9)
        #expect(fresh.stats.keys.sorted() == [2, 3])
    }
}
