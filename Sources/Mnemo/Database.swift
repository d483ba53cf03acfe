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
public final class Database: Sendable {
    let engine: EngineHandle
    /// The options it was opened with.
    public let options: DatabaseOptions

    /// Opens an in-memory database and starts its workers.
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

    /// Creates a space and returns it.
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
        let handle = try CCore.createSpace(engine, name: name, dimension: dimension, metric: metric,
                                           parameters: parameters)
        return Space(handle: handle, name: name, waitWhenFull: options.waitWhenFull)
    }

    /// Returns the space named `name`.
    ///
    /// ```swift
    /// let space = try database.space("alice")
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/unknownSpace`` if there is none, ``MnemoError/Code/closed``.
    public func space(_ name: String) throws(MnemoError) -> Space {
        let handle = try CCore.openSpace(engine, name: name)
        return Space(handle: handle, name: name, waitWhenFull: options.waitWhenFull)
    }

    /// Drops a space. Writes already queued are still applied; later writes through existing
    /// ``Space`` values throw ``MnemoError/Code/unknownSpace``, and the name is free again.
    ///
    /// ```swift
    /// try await database.dropSpace("scratch")
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/unknownSpace`` if there is no such space.
    public func dropSpace(_ name: String) async throws(MnemoError) {
        try CCore.dropSpace(engine, name: name)
    }

    /// The names of every space, sorted.
    ///
    /// ```swift
    /// for name in database.spaces() { print(name) }
    /// ```
    public func spaces() -> [String] {
        CCore.spaceNames(engine)
    }

    /// The number of spaces and every worker's counters.
    ///
    /// ```swift
    /// let busiest = database.stats().workers.max { $0.operations < $1.operations }
    /// ```
    public func stats() -> DatabaseStats {
        DatabaseStats(spaceCount: CCore.spaceCount(engine), workers: CCore.workerStats(engine))
    }

    /// The worker a space of this name is (or would be) homed on.
    ///
    /// ```swift
    /// let worker = try database.homeWorker(of: "alice")
    /// ```
    public func homeWorker(of name: String) throws(MnemoError) -> Int {
        try CCore.homeWorker(engine, of: name)
    }

    /// Stops accepting writes, applies every queued one, and stops the workers. Later writes
    /// throw ``MnemoError/Code/closed``; reads keep working. Waiting happens on a dedicated
    /// thread, not on the cooperative pool.
    ///
    /// ```swift
    /// await database.close()
    /// ```
    public func close() async {
        let engine = self.engine
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                CCore.closeEngine(engine)
                continuation.resume()
            }
            thread.start()
        }
    }
}
