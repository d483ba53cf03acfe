/// The counters of one shard worker, read without stopping it.
///
/// ```swift
/// for worker in await database.stats().workers {
///     print(worker.index, worker.operations, worker.steals, worker.busy)
/// }
/// ```
public struct WorkerStats: Sendable, Hashable {
    /// The worker's number, 0 ..< workers.
    public let index: Int
    /// Mailbox records applied (a batch counts once).
    public let operations: Int
    /// Batch records applied.
    public let batches: Int
    /// Memories inserted, upserted or deleted.
    public let memories: Int
    /// Spaces this worker took from another worker's run queue.
    public let steals: Int
    /// Large batches of other workers this worker helped to link.
    public let helps: Int
    /// Single inserts and upserts applied in groups (queued behind each other in one space:
    /// one log record and shared linking for the group).
    public let grouped: Int
    /// Of the grouped writes, those whose vector a later write to the same id in the group
    /// superseded: they did no graph work of their own.
    public let coalesced: Int
    /// Spaces waiting in this worker's run queue now.
    public let queueDepth: Int
    /// Time spent applying records.
    public let busy: Duration
    /// The CPU the worker is pinned to, if pinned.
    public let cpu: Int?
    /// The worker's NUMA node, where the machine has NUMA.
    public let numaNode: Int?

    /// Creates worker statistics (they come from ``Database/stats()``; this is for tests).
    public init(index: Int, operations: Int, batches: Int, memories: Int, steals: Int, helps: Int,
                grouped: Int = 0, coalesced: Int = 0, queueDepth: Int, busy: Duration, cpu: Int?,
                numaNode: Int?) {
        self.index = index
        self.operations = operations
        self.batches = batches
        self.memories = memories
        self.steals = steals
        self.helps = helps
        self.grouped = grouped
        self.coalesced = coalesced
        self.queueDepth = queueDepth
        self.busy = busy
        self.cpu = cpu
        self.numaNode = numaNode
    }
}
