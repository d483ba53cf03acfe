// Node identity: a 32-bit number. The cluster layer maps host names to these once (etcd keeps the
// mapping); placement only ever compares and hashes them, so a trivial integer keeps every
// assignment a plain value with no reference counting on the lookup path.

/// The identity of a physical node.
///
/// ```swift
/// let node: NodeID = 7
/// print(node)            // "n7"
/// ```
public struct NodeID: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    /// The number.
    public var rawValue: UInt32

    /// Creates an id from its number.
    @inlinable
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Creates an id from an integer literal.
    @inlinable
    public init(integerLiteral value: UInt32) { self.rawValue = value }

    /// Orders ids by number.
    @inlinable
    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// `n` followed by the number.
    public var description: String { "n\(rawValue)" }
}
