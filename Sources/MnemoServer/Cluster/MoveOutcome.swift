// MoveOutcome and SpaceMoveError: what SpaceMover.move reports, and why it failed.

/// What a space move did (``SpaceMover/move(space:to:moveID:rate:freeze:cutOver:)``).
public struct MoveOutcome: Sendable, Hashable {
    /// Bytes sent: the export stream plus the log frames.
    public var bytes: UInt64 = 0
    /// Log records shipped after the export.
    public var records: Int = 0
    /// The space's sequence at the cut-over (equal on both nodes).
    public var sequence: UInt64 = 0
    /// Seconds from the start of the export to the end.
    public var seconds: Double = 0
    /// Milliseconds the space's writes were frozen.
    public var frozenMilliseconds: Double = 0
    /// Exports started (more than 1 after back-pressure or records cut by a checkpoint).
    public var attempts: Int = 0

    /// Nothing yet.
    public init() {}
}

/// Why a space move failed: the target refused, the copies' sequences differ, or the cut-over
/// was refused.
public struct SpaceMoveError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, naming the move and the space.
    public let message: String

    /// Creates an error.
    public init(message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
