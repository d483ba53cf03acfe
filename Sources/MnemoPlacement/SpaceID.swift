// Space identity: 64 bits. A space named by a string gets the xxHash64 of its UTF-8 name (seed 0),
// exactly as the C core derives it, so both sides agree on the id without talking.

/// The identity of a memory space, the unit of placement.
///
/// ```swift
/// let space = SpaceID(name: "agent-42/episodic")
/// let other: SpaceID = 1234
/// ```
public struct SpaceID: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    /// The 64-bit id.
    public var rawValue: UInt64

    /// Creates an id from its number.
    @inlinable
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Creates an id from an integer literal.
    @inlinable
    public init(integerLiteral value: UInt64) { self.rawValue = value }

    /// The id of a named space: xxHash64 of the name's UTF-8 bytes with seed 0.
    public init(name: String) { self.rawValue = XXHash64.hash(name, seed: 0) }

    /// Orders ids by number.
    @inlinable
    public static func < (lhs: SpaceID, rhs: SpaceID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// `s` followed by the number in hex.
    public var description: String { "s" + String(rawValue, radix: 16) }
}
