import Foundation

/// A Mnemo database: named memory spaces served by one shard worker per CPU.
///
/// Each space is an isolated context (one user's or agent's memories) with its own index;
/// its writes are applied in order by one worker at a time, and reads run concurrently on the
/// caller's task. See <doc:WorkerModel>.
///
/// ```swift
/// let database = try Database()
/// let notes = try await database.createSpace("agent-7/notes", dimension: 384, metric: .cosine)
/// try await notes.insert(Memory(id: "n1", vector: embedding, text: "Buy milk"))
/// let hits = try await notes.search(queryEmbedding, k: 5)
/// ```
///
/// `Database(options:)` is in memory; ``init(path:options:)`` opens a durable one.
///
/// Nothing here blocks a thread of Swift's cooperative pool: the calls that wait for the disk or
/// for the workers (opening, loading a space, creating and dropping one, syncing, checkpoints,
/// closing, export and import) are `async` and run on threads of their own.
public final class Database: Sendable {
    let engine: EngineHandle
    /// The options it was opened with.
    public let options: DatabaseOptions

    /// Opens an in-memory database and starts its workers. Does not block: nothing is read or
    /// written.
    ///
    /// ```swift
    /// let database = try Database(options: DatabaseOptions(workers: 4))
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/invalidArgument`` for a mailbox depth that is not a power of
    ///   two or a content limit over 64 MiB, ``MnemoError/Code/tooLarge`` for too many workers.
    public init(options: DatabaseOptions = DatabaseOptions()) throws(MnemoError) {
        self.options = options
        self.engine = try CCore.createEngine(options)
    }

    /// Wraps an engine opened elsewhere (``init(path:options:)``).
    init(engine: EngineHandle, options: DatabaseOptions) {
        self.options = options
        self.engine = engine
    }

    /// Creates a space and returns it. In a durable database the creation is logged and synced
    /// first, on a thread of its own (the calling task suspends meanwhile).
    ///
    /// ```swift
    /// let space = try await database.createSpace("alice", dimension: 3, metric: .l2)
    /// ```
    ///
    /// - Parameters:
    ///   - name: 1 to 128 bytes of UTF-8, unique in the database.
    ///   - dimension: the length of every vector in the space (1 ... 4096).
    ///   - metric: how distances are measured.
    ///   - parameters: the HNSW parameters of the space's index.
    /// - Throws: ``MnemoError/Code/duplicateID`` if the name exists, ``MnemoError/Code/tooLarge``
    ///   or ``MnemoError/Code/invalidArgument`` for a bad name, ``MnemoError/Code/wrongDimension``,
    ///   ``MnemoError/Code/closed``.
    public func createSpace(_ name: String, dimension: Int, metric: Metric = .cosine,
                            parameters: HNSWIndex.Parameters = HNSWIndex.Parameters()) async throws(MnemoError) -> Space {
        let engine = self.engine
        let handle = try await BlockingExecutor.run { () throws(MnemoError) -> SpaceHandle in
            try CCore.createSpace(engine, name: name, dimension: dimension, metric: metric, parameters: parameters)
        }
        return Space(handle: handle, name: name, waitWhenFull: options.waitWhenFull)
    }

    /// Returns the space named `name`. In a durable database a space not used since it was
    /// last checkpointed may be unloaded: it loads from its checkpoint file first, on a thread
    /// of its own (the calling task suspends meanwhile).
    ///
    /// ```swift
    /// let space = try await database.space("alice")
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/unknownSpace`` if there is none, ``MnemoError/Code/closed``,
    ///   and for a space that must load, ``MnemoError/Code/io``, ``MnemoError/Code/corrupt`` or
    ///   ``MnemoError/Code/outOfMemory``.
    public func space(_ name: String) async throws(MnemoError) -> Space {
        let engine = self.engine
        let handle = try await BlockingExecutor.run { () throws(MnemoError) -> SpaceHandle in
            try CCore.openSpace(engine, name: name)
        }
        return Space(handle: handle, name: name, waitWhenFull: options.waitWhenFull)
    }

    /// Drops a space. Writes already queued are still applied; later writes through existing
    /// ``Space`` values throw ``MnemoError/Code/unknownSpace``, and the name is free again. In a
    /// durable database the drop is logged and synced first, on a thread of its own.
    ///
    /// ```swift
    /// try await database.dropSpace("scratch")
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/unknownSpace`` if there is no such space.
    public func dropSpace(_ name: String) async throws(MnemoError) {
        let engine = self.engine
        try await BlockingExecutor.run { () throws(MnemoError) in try CCore.dropSpace(engine, name: name) }
    }

    /// The names of every space, sorted. The space table is locked while it is read, and a
    /// durable database holds that lock while it logs a drop or loads a space, so the listing
    /// runs on a thread of its own.
    ///
    /// ```swift
    /// for name in await database.spaces() { print(name) }
    /// ```
    public func spaces() async -> [String] {
        let engine = self.engine
        return await BlockingExecutor.run { CCore.spaceNames(engine) }
    }

    /// The number of spaces and every worker's counters. Counting spaces takes the space
    /// table's lock (see ``spaces()``), so this runs on a thread of its own.
    ///
    /// ```swift
    /// let busiest = await database.stats().workers.max { $0.operations < $1.operations }
    /// ```
    public func stats() async -> DatabaseStats {
        let engine = self.engine
        return await BlockingExecutor.run {
            DatabaseStats(spaceCount: CCore.spaceCount(engine), workers: CCore.workerStats(engine))
        }
    }

    /// Statistics of every space loaded in memory, sorted by name: its memories, bytes and
    /// queued writes. Unlike opening each space, this never loads a checkpointed space that
    /// nobody has used since open (it is left out), so a metrics scrape costs no disk reads.
    /// Collecting the spaces takes the space table's lock (see ``spaces()``), so this runs on a
    /// thread of its own.
    ///
    /// ```swift
    /// let largest = await database.loadedSpaceStats().max { $0.bytes < $1.bytes }
    /// ```
    public func loadedSpaceStats() async -> [SpaceStats] {
        let engine = self.engine
        return await BlockingExecutor.run { CCore.loadedSpaceStats(engine) }
    }

    /// The write-ahead log's `fdatasync` latency histogram and the checkpoint counters (all
    /// zero for an in-memory database). Reads atomics without a lock: does not block, so a
    /// metrics scrape may call it on any thread.
    ///
    /// ```swift
    /// let age = database.durabilityStats().checkpointAge()
    /// ```
    public func durabilityStats() -> DurabilityStats {
        CCore.durabilityStats(engine)
    }

    /// The worker a space of this name is (or would be) homed on. Does not block.
    ///
    /// ```swift
    /// let worker = try database.homeWorker(of: "alice")
    /// ```
    public func homeWorker(of name: String) throws(MnemoError) -> Int {
        try CCore.homeWorker(engine, of: name)
    }

    /// Stops accepting writes, applies every queued one, and stops the workers. Later writes
    /// throw ``MnemoError/Code/closed``; reads keep working. Waiting happens on a thread of its
    /// own, not on the cooperative pool.
    ///
    /// ```swift
    /// await database.close()
    /// ```
    public func close() async {
        let engine = self.engine
        await BlockingExecutor.run { CCore.closeEngine(engine) }
    }
}
