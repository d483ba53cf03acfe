// One unit of data movement: one copy of one space goes from one node to another, make before
// break (the new copy is added and caught up before the old one is dropped).

/// A move of one copy of a space.
///
/// ```swift
/// let move = Move(space: 7, from: 1, to: 4, source: 1, bytes: 64 << 20, priority: .low)
/// ```
public struct Move: Hashable, Sendable, CustomStringConvertible {
    /// How urgent a move is; lower raw values run first.
    public enum Priority: Int, Hashable, Sendable, Comparable, CaseIterable, CustomStringConvertible {
        /// A copy was lost on a dead node: restore the replication factor.
        case critical = 0
        /// A node is over 30% above its target (or a draining node must be emptied).
        case high = 1
        /// A node is over 20% above its target.
        case medium = 2
        /// Gentle optimisation.
        case low = 3

        /// Orders by urgency: critical < high < medium < low.
        public static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.rawValue < rhs.rawValue }

        /// The lowercase name.
        public var description: String {
            switch self {
            case .critical: "critical"
            case .high: "high"
            case .medium: "medium"
            case .low: "low"
            }
        }
    }

    /// The space.
    public var space: SpaceID
    /// The copy dropped once the new one is caught up (nil: a pure addition).
    public var from: NodeID?
    /// The node receiving the new copy (nil: a pure drop).
    public var to: NodeID?
    /// The live node the data streams from (nil when no live copy is left).
    public var source: NodeID?
    /// Bytes to transfer.
    public var bytes: UInt64
    /// Urgency.
    public var priority: Priority

    /// Creates a move.
    public init(space: SpaceID, from: NodeID?, to: NodeID?, source: NodeID?, bytes: UInt64, priority: Priority) {
        self.space = space
        self.from = from
        self.to = to
        self.source = source
        self.bytes = bytes
        self.priority = priority
    }

    /// E.g. `s1f high n1→n4 (65536 B)`.
    public var description: String {
        "\(space) \(priority) \(from?.description ?? "-")→\(to?.description ?? "-") (\(bytes) B)"
    }
}
