// The knobs of the rebalance planner.

/// How the ``RebalancePlanner`` plans.
///
/// ```swift
/// var configuration = PlannerConfiguration(replicationFactor: 3)
/// configuration.bytesTolerance = 0.01
/// configuration.limits.lowBytesPerSecond = 20_000_000
/// ```
public struct PlannerConfiguration: Hashable, Sendable {
    /// Copies every space must have (1 ... ``CopySet/capacity``).
    public var replicationFactor: Int
    /// Whether copies of a space must stay in distinct racks when enough racks are alive.
    public var rackAware: Bool
    /// Balanced when every node's copy count is within this fraction of its target (±1 copy).
    public var countTolerance: Double
    /// Balanced when every node's bytes are within this fraction of its target.
    public var bytesTolerance: Double
    /// Balanced when every node's load (ops/s) is within this fraction of its target.
    public var loadTolerance: Double
    /// A source node this far above its target makes its moves High (0.30: 30%).
    public var highThreshold: Double
    /// A source node this far above its target makes its moves Medium (0.20: 20%).
    public var mediumThreshold: Double
    /// Spaces of a source node weighed per balancing move (the best one moves).
    public var candidateWindow: Int
    /// The least share of the potential Φ a plan's balancing moves must remove to be made at
    /// all (0: any gain). Where the tolerances cannot all be met (a hot space worth a node's
    /// whole load share) the balanced state is a compromise, and each new measurement's noise
    /// offers a few moves of tiny gain: a floor such as 0.05 keeps those from running forever,
    /// while a join, a drain's aftermath or a real drift remove most of Φ.
    public var minimumBalanceGain: Double
    /// The most moves in one plan (nil: no cap).
    public var maxMoves: Int?
    /// Execution limits carried by every plan.
    public var limits: MoveLimits

    /// Creates a configuration.
    public init(replicationFactor: Int = 3, rackAware: Bool = true, countTolerance: Double = 0.01,
                bytesTolerance: Double = 0.015, loadTolerance: Double = 0.05,
                highThreshold: Double = 0.30, mediumThreshold: Double = 0.20,
                candidateWindow: Int = 16, minimumBalanceGain: Double = 0, maxMoves: Int? = nil,
                limits: MoveLimits = MoveLimits())
    {
        self.replicationFactor = replicationFactor
        self.rackAware = rackAware
        self.countTolerance = countTolerance
        self.bytesTolerance = bytesTolerance
        self.loadTolerance = loadTolerance
        self.highThreshold = highThreshold
        self.mediumThreshold = mediumThreshold
        self.candidateWindow = candidateWindow
        self.minimumBalanceGain = minimumBalanceGain
        self.maxMoves = maxMoves
        self.limits = limits
    }

    /// Checks the configuration.
    ///
    /// - Throws: `.invalidConfiguration` for a value out of range.
    public func validate() throws(PlacementError) {
        guard replicationFactor >= 1 && replicationFactor <= CopySet.capacity else {
            throw PlacementError(.invalidConfiguration, "replicationFactor must be in 1...\(CopySet.capacity)")
        }
        for tolerance in [countTolerance, bytesTolerance, loadTolerance, highThreshold, mediumThreshold]
        where !(tolerance > 0) || !tolerance.isFinite {
            throw PlacementError(.invalidConfiguration, "tolerances and thresholds must be positive")
        }
        guard minimumBalanceGain >= 0 && minimumBalanceGain < 1 else {
            throw PlacementError(.invalidConfiguration, "minimumBalanceGain must be in 0..<1")
        }
        guard candidateWindow >= 1 else {
            throw PlacementError(.invalidConfiguration, "candidateWindow must be ≥ 1")
        }
        if let maxMoves, maxMoves < 0 {
            throw PlacementError(.invalidConfiguration, "maxMoves must be ≥ 0")
        }
        try limits.validate()
    }
}
