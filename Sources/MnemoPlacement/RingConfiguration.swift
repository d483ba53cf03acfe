// The knobs of the consistent-hashing ring, with the defaults of the design.

/// How a ``Ring`` places spaces.
///
/// ```swift
/// var configuration = RingConfiguration()
/// configuration.replicationFactor = 3
/// configuration.loadBound = 0.25        // bounded loads, ε = 0.25
/// ```
public struct RingConfiguration: Hashable, Sendable {
    /// Virtual nodes per unit of capacity (150 by default).
    public var virtualNodes: Int
    /// Copies of each space, primary included (1 ... ``CopySet/capacity``).
    public var replicationFactor: Int
    /// Whether replicas prefer racks not yet used by the space (falling back when racks run out).
    public var rackAware: Bool
    /// The xxHash64 seed of ring positions and space hashes.
    public var seed: UInt64
    /// Bounded loads (Mirrokni, Thorup, Zadimoghaddam 2018): when set to ε ≥ 0, ``Ring/assign(_:)``
    /// caps each node at ⌈(1 + ε) × its fair share⌉ copies and moves the overflow clockwise.
    public var loadBound: Double?

    /// Creates a configuration.
    public init(virtualNodes: Int = 150, replicationFactor: Int = 3, rackAware: Bool = true,
                seed: UInt64 = 0, loadBound: Double? = nil)
    {
        self.virtualNodes = virtualNodes
        self.replicationFactor = replicationFactor
        self.rackAware = rackAware
        self.seed = seed
        self.loadBound = loadBound
    }
}
