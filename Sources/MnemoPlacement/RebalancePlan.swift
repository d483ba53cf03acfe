// The planner's output: an ordered list of moves plus the limits they must run under.

/// Moves to run, most urgent first, and the limits to run them under.
///
/// ```swift
/// let plan = try planner.plan(directory: directory, membership: membership, workload: workload)
/// print(plan.count(of: .critical), "critical moves,", plan.totalBytes, "bytes")
/// ```
public struct RebalancePlan: Sendable {
    /// The moves, sorted by priority (Critical first), then in planning order.
    public let moves: [Move]
    /// The limits the moves must run under.
    public let limits: MoveLimits
    /// The replication factor the plan restores and keeps.
    public let replicationFactor: Int

    /// Creates a plan (moves are stably sorted by priority).
    public init(moves: [Move], limits: MoveLimits, replicationFactor: Int) {
        var ordered = moves.enumerated().map { ($0.offset, $0.element) }
        ordered.sort { $0.1.priority != $1.1.priority ? $0.1.priority < $1.1.priority : $0.0 < $1.0 }
        self.moves = ordered.map(\.1)
        self.limits = limits
        self.replicationFactor = replicationFactor
    }

    /// Whether there is nothing to do.
    public var isEmpty: Bool { moves.isEmpty }

    /// The number of moves of `priority`.
    public func count(of priority: Move.Priority) -> Int {
        moves.reduce(0) { $0 + ($1.priority == priority ? 1 : 0) }
    }

    /// The bytes moved by moves of `priority`.
    public func bytes(of priority: Move.Priority) -> UInt64 {
        moves.reduce(0) { $0 + ($1.priority == priority ? $1.bytes : 0) }
    }

    /// All bytes moved.
    public var totalBytes: UInt64 { moves.reduce(0) { $0 + $1.bytes } }
}
