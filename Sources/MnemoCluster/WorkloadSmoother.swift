// WorkloadSmoother: the controller's long view of load. A node's load report counts the requests
// of its last report period (2 s), and over so short a window a uniform workload looks uneven:
// a node serving ~100 requests a second varies by ~7% between reports, more than the planner's
// load tolerance, so planning on raw reports moved spaces back and forth after noise (the
// cluster bench's hot-space scenario never settled). The smoother keeps an exponentially
// weighted moving average of every space's ops per second with a time constant (30 s by
// default): noise shrinks by the square root of the window, while a space that really turns
// hot still dominates its node's load within a time constant or two. Bytes are not smoothed
// (they are a level, not a count of events).

import Foundation
import MnemoPlacement

/// An exponentially weighted moving average of per-space load.
///
/// ```swift
/// var smoother = WorkloadSmoother(timeConstant: .seconds(30))
/// let workload = smoother.smooth(rawWorkload, sampleSeconds: [SpaceID(name: "alice"): 2])
/// ```
public struct WorkloadSmoother: Sendable {
    /// How long the average remembers (the weight of a sample falls by e over this time).
    public let timeConstant: Duration
    private var opsPerSecond: [SpaceID: Double] = [:]

    /// A smoother with an empty history (the first sample is taken as it is).
    public init(timeConstant: Duration = .seconds(30)) {
        self.timeConstant = timeConstant
    }

    /// The counting window the averages are as noisy as: an exponential average with time
    /// constant τ has the variance of a plain count over 2τ.
    public var windowSeconds: Double { 2 * timeConstant.seconds }

    /// Blends `raw` into the average, each space by the sample it brings: `sampleSeconds[space]`
    /// is how many seconds of new counting `raw` holds for it (its node's report since the last
    /// call), weighted 1 − e^(−seconds/τ). A space without a new sample keeps its average (a
    /// report blended twice would count its busy spaces twice: a slow node's stale report, read
    /// at every plan, made its listed spaces look twice as busy as they were); one without
    /// history takes `raw` as it is; spaces `raw` does not list are forgotten. Returns the
    /// workload with the averaged ops per second.
    public mutating func smooth(_ raw: Workload, sampleSeconds: [SpaceID: Double]) -> Workload {
        let tau = timeConstant.seconds
        var averaged: [SpaceID: Double] = [:]
        averaged.reserveCapacity(raw.stats.count)
        for (space, sample) in raw.stats {
            guard let old = opsPerSecond[space] else {
                averaged[space] = sample.opsPerSecond
                continue
            }
            let seconds = max(0, sampleSeconds[space] ?? 0)
            let weight = tau > 0 ? 1 - exp(-seconds / tau) : (seconds > 0 ? 1 : 0)
            averaged[space] = old * (1 - weight) + sample.opsPerSecond * weight
        }
        opsPerSecond = averaged
        var stats: [SpaceID: Workload.Stats] = [:]
        stats.reserveCapacity(averaged.count)
        for (space, ops) in averaged {
            stats[space] = Workload.Stats(bytes: raw[space].bytes, opsPerSecond: ops)
        }
        let mean = averaged.isEmpty ? raw.defaultStats.opsPerSecond
            : averaged.values.reduce(0, +) / Double(averaged.count)
        return Workload(defaultStats: Workload.Stats(bytes: raw.defaultStats.bytes, opsPerSecond: mean), stats: stats)
    }

    /// Forgets the history (a new term of leadership starts from fresh reports).
    public mutating func reset() {
        opsPerSecond = [:]
    }
}
