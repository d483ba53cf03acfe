/// A snapshot of a database: its spaces and the counters of each shard worker.
///
/// ```swift
/// let stats = await database.stats()
/// print("\(stats.spaceCount) spaces, \(stats.totalOperations) writes applied")
/// ```
public struct DatabaseStats: Sendable, Hashable {
    /// The number of spaces.
    public let spaceCount: Int
    /// One entry per worker, in worker order.
    public let workers: [WorkerStats]

    /// Creates database statistics (they come from ``Database/stats()``; this is for tests).
    public init(spaceCount: Int, workers: [WorkerStats]) {
        self.spaceCount = spaceCount
        self.workers = workers
    }

    /// Records applied by all workers.
    public var totalOperations: Int { workers.reduce(0) { $0 + $1.operations } }
    /// Steals by all workers.
    public var totalSteals: Int { workers.reduce(0) { $0 + $1.steals } }
}
