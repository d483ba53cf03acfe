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
/// let workload = smoother.smooth(rawWorkload, at: .now)
/// ```
public struct WorkloadSmoother: Sendable {
    /// How long the average remembers (the weight of a sample falls by e over this time).
    public let timeConstant: Duration
    private var opsPerSecond: [SpaceID: Double] = [:]
    private var last: ContinuousClock.Instant?

    /// Averages below this many ops per second are dropped (a space that went quiet).
    static let negligible = 1e-4

    /// A smoother with an empty history (the first sample is taken as it is).
    public init(timeConstant: Duration = .seconds(30)) {
        self.timeConstant = timeConstant
    }

    /// The counting window the averages are as noisy as: an exponential average with time
    /// constant τ has the variance of a plain count over 2τ.
    public var windowSeconds: Double { 2 * Self.seconds(timeConstant) }

    /// Blends `raw` (the load of the last report period) into the average, weighted by the time
    /// since the previous call, and returns the workload with the averaged ops per second.
    public mutating func smooth(_ raw: Workload, at now: ContinuousClock.Instant) -> Workload {
        let tau = Self.seconds(timeConstant)
        let weight: Double
        if let last, tau > 0 {
            weight = 1 - exp(-max(0, Self.seconds(now - last)) / tau)
        } else {
            weight = 1
        }
        last = now
        var averaged: [SpaceID: Double] = [:]
        averaged.reserveCapacity(max(opsPerSecond.count, raw.stats.count))
        for space in Set(opsPerSecond.keys).union(raw.stats.keys) {
            let value = (opsPerSecond[space] ?? raw.defaultStats.opsPerSecond) * (1 - weight)
                + raw[space].opsPerSecond * weight
            if value >= Self.negligible || raw.stats[space] != nil { averaged[space] = value }
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
        last = nil
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
