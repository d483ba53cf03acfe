import Foundation

/// The counters of a durable database's write-ahead logs and checkpoints since it was opened:
/// what a metrics page shows about durability (log `fdatasync` latency, checkpoint age, log
/// growth). Read without locks, so reading them never waits on a write or a checkpoint.
///
/// ```swift
/// let d = database.durabilityStats()
/// print("\(d.fsyncs) log syncs, mean \(d.meanFsyncLatency), checkpoint age \(d.checkpointAge())")
/// ```
public struct DurabilityStats: Sendable, Hashable {
    /// Whether the database has a data directory; every other property is zero when it has not.
    public let isDurable: Bool
    /// `fdatasync`s of the log segments, all workers' logs together.
    public let fsyncs: Int
    /// Their total latency.
    public let fsyncTotal: Duration
    /// A log2 histogram of `fdatasync` latency: `fsyncBuckets[i]` counts syncs that took at
    /// least 2^i and less than 2^(i+1) nanoseconds (bucket 0 also counts 0 ns); the last bucket
    /// also counts every longer one. Its counts add up to ``fsyncs``, but for a sync finishing
    /// while they are read. See ``fsyncBucketUpperBound(_:)``.
    public let fsyncBuckets: [Int]
    /// Checkpoints completed since open (one run by the open itself included).
    public let checkpoints: Int
    /// Checkpoints that failed (a file could not be written).
    public let checkpointFailures: Int
    /// When the last checkpoint completed; `nil` when none has since open.
    public let lastCheckpoint: Date?
    /// How long the last checkpoint took (zero when none has).
    public let lastCheckpointDuration: Duration
    /// When the database was opened.
    public let opened: Date?
    /// Bytes appended to the logs since open (plus the log read at open, as the automatic
    /// checkpoint trigger counts it).
    public let loggedBytes: Int
    /// Of those, the bytes logged since the last checkpoint began: about what a restart would
    /// replay.
    public let logBytesSinceCheckpoint: Int

    /// Creates durability statistics (they come from ``Database/durabilityStats()``; this is
    /// for tests).
    public init(isDurable: Bool, fsyncs: Int, fsyncTotal: Duration, fsyncBuckets: [Int],
                checkpoints: Int, checkpointFailures: Int, lastCheckpoint: Date?,
                lastCheckpointDuration: Duration, opened: Date?, loggedBytes: Int,
                logBytesSinceCheckpoint: Int) {
        self.isDurable = isDurable
        self.fsyncs = fsyncs
        self.fsyncTotal = fsyncTotal
        self.fsyncBuckets = fsyncBuckets
        self.checkpoints = checkpoints
        self.checkpointFailures = checkpointFailures
        self.lastCheckpoint = lastCheckpoint
        self.lastCheckpointDuration = lastCheckpointDuration
        self.opened = opened
        self.loggedBytes = loggedBytes
        self.logBytesSinceCheckpoint = logBytesSinceCheckpoint
    }

    /// The exclusive upper bound of histogram bucket `index` of ``fsyncBuckets``: 2^(index+1)
    /// nanoseconds (the last bucket has none: it also counts everything longer).
    ///
    /// ```swift
    /// let bound = DurabilityStats.fsyncBucketUpperBound(19)   // 1.048576 ms
    /// ```
    public static func fsyncBucketUpperBound(_ index: Int) -> Duration {
        .nanoseconds(Int64(1) << Int64(min(max(index, 0), 62) + 1))
    }

    /// The mean `fdatasync` latency (zero before the first).
    public var meanFsyncLatency: Duration {
        fsyncs == 0 ? .zero : fsyncTotal / fsyncs
    }

    /// Time since the last checkpoint completed, or since the database was opened when none
    /// has; `nil` for an in-memory database.
    ///
    /// ```swift
    /// if let age = database.durabilityStats().checkpointAge(), age > .seconds(600) { ... }
    /// ```
    public func checkpointAge(now: Date = Date()) -> Duration? {
        guard isDurable, let since = lastCheckpoint ?? opened else { return nil }
        let seconds = max(0, now.timeIntervalSince(since))
        return .nanoseconds(Int64(seconds * 1e9))
    }
}
