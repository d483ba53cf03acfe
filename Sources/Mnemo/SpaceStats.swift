/// A snapshot of one space: how many memories it holds, their bytes, its pending writes and
/// its home worker.
///
/// ```swift
/// let stats = space.stats()
/// print("\(stats.count) memories, \(stats.bytes) bytes, \(stats.queueDepth) queued")
/// ```
public struct SpaceStats: Sendable, Hashable {
    /// The space's name.
    public let name: String
    /// Live memories.
    public let count: Int
    /// Bytes held by its records (ids, content) and its index.
    public let bytes: Int
    /// Writes waiting in its mailbox.
    public let queueDepth: Int
    /// Writes applied since it was created (including rejected ones).
    public let operationsApplied: Int
    /// The worker its name hashes to (XXH64 of the name, modulo the worker count).
    public let homeWorker: Int
    /// The vector dimension.
    public let dimension: Int
    /// The distance metric.
    public let metric: Metric

    /// Creates space statistics (they come from ``Space/stats()``; this is for tests).
    public init(name: String, count: Int, bytes: Int, queueDepth: Int, operationsApplied: Int,
                homeWorker: Int, dimension: Int, metric: Metric) {
        self.name = name
        self.count = count
        self.bytes = bytes
        self.queueDepth = queueDepth
        self.operationsApplied = operationsApplied
        self.homeWorker = homeWorker
        self.dimension = dimension
        self.metric = metric
    }
}
