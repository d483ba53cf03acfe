// A tiny seeded random generator (Steele, Lea, Flood 2014) so that simulations and tests are
// reproducible from one seed on every platform.

/// SplitMix64: a fast, seedable `RandomNumberGenerator`.
///
/// ```swift
/// var rng = SplitMix64(seed: 42)
/// let x = Int.random(in: 0..<100, using: &rng)
/// ```
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The internal state.
    public private(set) var state: UInt64

    /// Creates a generator.
    public init(seed: UInt64) { self.state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
