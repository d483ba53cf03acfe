// How fast moves may run: concurrent moves per node and a byte rate per priority. The planner
// puts these on every plan; the runner enforces them with one token bucket per priority.

/// Limits on executing moves. Rates are in bytes per second (1 MB = 10⁶ bytes); nil is unlimited.
///
/// ```swift
/// var limits = MoveLimits()
/// limits.maxConcurrentMovesPerNode = 4
/// limits.lowBytesPerSecond = 5_000_000      // 5 MB/s for gentle optimisation
/// ```
public struct MoveLimits: Hashable, Sendable {
    /// Moves a node takes part in at once, as receiver or as source.
    public var maxConcurrentMovesPerNode: Int
    /// Byte rate of Critical moves (unlimited by default).
    public var criticalBytesPerSecond: Double?
    /// Byte rate of High moves (100 MB/s by default).
    public var highBytesPerSecond: Double?
    /// Byte rate of Medium moves (40 MB/s by default).
    public var mediumBytesPerSecond: Double?
    /// Byte rate of Low moves (10 MB/s by default).
    public var lowBytesPerSecond: Double?
    /// Token-bucket depth, in seconds of rate: the largest burst a priority may send at once.
    public var burstSeconds: Double
    /// The speed of one transfer stream (what bounds an unlimited priority), 200 MB/s by default.
    public var perMoveBytesPerSecond: Double
    /// The least rate a move starts with (1 MB/s by default): a priority whose rate is nearly
    /// taken by the moves in flight starts no more until they end, instead of starting one at a
    /// few bytes a second that would hold its nodes' slots for hours.
    public var minimumMoveBytesPerSecond: Double

    /// Creates limits (defaults as documented on each property).
    public init(maxConcurrentMovesPerNode: Int = 2,
                criticalBytesPerSecond: Double? = nil,
                highBytesPerSecond: Double? = 100_000_000,
                mediumBytesPerSecond: Double? = 40_000_000,
                lowBytesPerSecond: Double? = 10_000_000,
                burstSeconds: Double = 1,
                perMoveBytesPerSecond: Double = 200_000_000,
                minimumMoveBytesPerSecond: Double = 1_000_000)
    {
        self.maxConcurrentMovesPerNode = maxConcurrentMovesPerNode
        self.criticalBytesPerSecond = criticalBytesPerSecond
        self.highBytesPerSecond = highBytesPerSecond
        self.mediumBytesPerSecond = mediumBytesPerSecond
        self.lowBytesPerSecond = lowBytesPerSecond
        self.burstSeconds = burstSeconds
        self.perMoveBytesPerSecond = perMoveBytesPerSecond
        self.minimumMoveBytesPerSecond = minimumMoveBytesPerSecond
    }

    /// The byte rate of `priority` (nil: unlimited).
    public func bytesPerSecond(_ priority: Move.Priority) -> Double? {
        switch priority {
        case .critical: criticalBytesPerSecond
        case .high: highBytesPerSecond
        case .medium: mediumBytesPerSecond
        case .low: lowBytesPerSecond
        }
    }

    /// Checks the limits.
    ///
    /// - Throws: `.invalidConfiguration` for a concurrency below 1, a rate, burst or stream
    ///   speed that is not a positive finite number, or a minimum move rate above a priority's
    ///   rate or the stream speed.
    public func validate() throws(PlacementError) {
        guard maxConcurrentMovesPerNode >= 1 else {
            throw PlacementError(.invalidConfiguration, "maxConcurrentMovesPerNode must be ≥ 1")
        }
        let rates = Move.Priority.allCases.compactMap(bytesPerSecond)
        for value in [burstSeconds, perMoveBytesPerSecond, minimumMoveBytesPerSecond] + rates
        where !(value > 0) || !value.isFinite {
            throw PlacementError(.invalidConfiguration, "rates and burst must be positive and finite")
        }
        guard (rates + [perMoveBytesPerSecond]).allSatisfy({ minimumMoveBytesPerSecond <= $0 }) else {
            throw PlacementError(.invalidConfiguration,
                                 "minimumMoveBytesPerSecond must not exceed any priority's rate or the stream speed")
        }
    }
}
