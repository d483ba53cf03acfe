// The seam between planning and doing: the runner decides when a move may start and how many
// bytes it may send; an executor does the transfer. The cluster layer implements this with real
// streams between nodes; SimulatedExecutor implements it in memory.

/// How far a move has got.
public struct MoveProgress: Hashable, Sendable {
    /// Bytes copied to the new copy so far.
    public var copiedBytes: UInt64
    /// Whether the new copy has caught up (the move may finish).
    public var caughtUp: Bool

    /// Creates a progress report.
    public init(copiedBytes: UInt64, caughtUp: Bool) {
        self.copiedBytes = copiedBytes
        self.caughtUp = caughtUp
    }
}

/// Carries out moves, make before break: ``start(_:)`` creates the new copy, ``transfer(_:upTo:)``
/// copies bytes into it until it has caught up, and only ``finish(_:)`` routes to it and drops
/// the old copy.
///
/// ```swift
/// struct Logging: MoveExecutor {
///     var copied: [Move: UInt64] = [:]
///     mutating func start(_ move: Move) throws(PlacementError) { print("start", move) }
///     mutating func transfer(_ move: Move, upTo bytes: UInt64) throws(PlacementError) -> MoveProgress {
///         let done = min(move.bytes, copied[move, default: 0] + bytes)
///         copied[move] = done
///         return MoveProgress(copiedBytes: done, caughtUp: done == move.bytes)
///     }
///     mutating func finish(_ move: Move) throws(PlacementError) { print("done", move) }
/// }
/// ```
public protocol MoveExecutor {
    /// Begins `move`: allocates the new copy on `move.to` and opens a stream from `move.source`.
    mutating func start(_ move: Move) throws(PlacementError)
    /// Copies at most `bytes` more of `move` and reports its progress.
    mutating func transfer(_ move: Move, upTo bytes: UInt64) throws(PlacementError) -> MoveProgress
    /// Completes a caught-up `move`: the new copy serves, then the old copy is dropped.
    mutating func finish(_ move: Move) throws(PlacementError)
}
