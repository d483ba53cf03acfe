/// How a ``Database`` runs: its shard workers, mailboxes and limits.
///
/// The defaults suit most uses: one worker per CPU, pinned, with work stealing, and callers
/// that wait (asynchronously) when a space's mailbox is full.
///
/// ```swift
/// var options = DatabaseOptions()
/// options.workers = 2
/// options.maxContentBytes = 64 * 1024
/// let database = try Database(options: options)
/// ```
public struct DatabaseOptions: Sendable, Hashable {
    /// Shard workers (threads); `nil` means one per CPU this process may use.
    public var workers: Int?
    /// Pins worker *i* to the *i*-th CPU the process may use.
    public var pinWorkers: Bool
    /// Lets an idle worker take runnable spaces from the busiest one.
    public var workStealing: Bool
    /// Entries in each space's mailbox (a power of two): how many writes may wait per space.
    public var mailboxDepth: Int
    /// The largest content of one memory, in bytes (default 1 MiB).
    public var maxContentBytes: Int
    /// Batches at least this large (default 64) are linked by the space's worker together with
    /// idle workers; 0 turns helping off.
    public var parallelBatchThreshold: Int
    /// When a mailbox is full: `true` suspends the caller until there is room (back-pressure);
    /// `false` throws ``MnemoError/Code/full``.
    public var waitWhenFull: Bool
    /// When a durable database (``Database/init(path:options:)``) acknowledges a write;
    /// ignored in memory. Default ``DurabilityMode/sync``.
    public var durability: DurabilityMode = .sync
    /// Durable databases: on open, cut a log at a corrupt record (dropping it and everything
    /// after it in that log) instead of throwing ``MnemoError/Code/corrupt``. Default `false`.
    public var repairLog: Bool = false
    /// The most bytes of writes (their vectors, ids and contents) that may wait in one space's
    /// mailbox; `nil` means the default, 1 GiB. Past it a write waits or throws
    /// ``MnemoError/Code/full`` as for a full mailbox (see ``waitWhenFull``); one write larger
    /// than the whole limit throws ``MnemoError/Code/tooLarge``.
    public var maxQueuedBytes: Int? = nil
    /// The most bytes one space may hold (memories, contents, ids and its index, as
    /// ``SpaceStats/bytes`` counts them, plus its queued writes); `nil` means the default,
    /// 64 GiB. A write that would take a space past it throws ``MnemoError/Code/tooLarge`` and
    /// changes nothing; deletes always pass.
    public var maxSpaceBytes: Int? = nil

    /// Creates options; every parameter has the default described on its property.
    ///
    /// ```swift
    /// let options = DatabaseOptions(workers: 4, waitWhenFull: false)
    /// ```
    public init(workers: Int? = nil, pinWorkers: Bool = true, workStealing: Bool = true,
                mailboxDepth: Int = 1024, maxContentBytes: Int = 1 << 20,
                parallelBatchThreshold: Int = 64, waitWhenFull: Bool = true) {
        self.workers = workers
        self.pinWorkers = pinWorkers
        self.workStealing = workStealing
        self.mailboxDepth = mailboxDepth
        self.maxContentBytes = maxContentBytes
        self.parallelBatchThreshold = parallelBatchThreshold
        self.waitWhenFull = waitWhenFull
    }
}
