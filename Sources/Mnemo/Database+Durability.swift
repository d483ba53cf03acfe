import Foundation

extension Database {
    /// Opens or creates a durable database in the directory `path`.
    ///
    /// Every write goes to a write-ahead log (one per worker) before it is applied; a write is
    /// acknowledged per ``DatabaseOptions/durability``. Opening replays the log: every
    /// acknowledged write of an earlier run comes back. A torn last record (a crash mid-write)
    /// is truncated; damage anywhere else throws ``MnemoError/Code/corrupt`` naming the file
    /// and offset, unless ``DatabaseOptions/repairLog`` is set, which cuts the log there.
    ///
    /// ```swift
    /// let database = try await Database(path: "/var/lib/mnemo")
    /// let notes = try await database.createSpace("agent-7/notes", dimension: 384)
    /// try await notes.insert(Memory(id: "n1", vector: embedding, text: "Buy milk"))
    /// // after a crash or restart:
    /// let again = try await Database(path: "/var/lib/mnemo")
    /// let memory = try await again.space("agent-7/notes").get("n1")
    /// ```
    ///
    /// A directory must be open in one database at a time. Opening reads the directory on a
    /// thread of its own (the calling task suspends meanwhile).
    ///
    /// - Throws: ``MnemoError/Code/io`` when the directory cannot be created or read,
    ///   ``MnemoError/Code/corrupt``, ``MnemoError/Code/unsupportedVersion``,
    ///   ``MnemoError/Code/invalidArgument`` for a bad option, ``MnemoError/Code/tooLarge``
    ///   for a path over 3,968 bytes.
    public convenience init(path: String, options: DatabaseOptions = DatabaseOptions()) async throws(MnemoError) {
        let engine = try await BlockingExecutor.run { () throws(MnemoError) -> EngineHandle in
            try CCore.openEngine(path: path, options)
        }
        self.init(engine: engine, options: options)
    }

    /// Whether the database was opened with a path (writes are logged). Does not block.
    ///
    /// ```swift
    /// if database.isDurable { try await database.sync() }
    /// ```
    public var isDurable: Bool { CCore.isDurable(engine) }

    /// Forces every logged write to disk now (useful in ``DurabilityMode/batched(milliseconds:)``
    /// mode before a planned shutdown). A no-op for in-memory databases and ``DurabilityMode/none``.
    /// The `fdatasync`s run on a thread of their own.
    ///
    /// ```swift
    /// try await database.sync()
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/io`` when an `fdatasync` failed.
    public func sync() async throws(MnemoError) {
        let engine = self.engine
        try await BlockingExecutor.run { () throws(MnemoError) in try CCore.syncEngine(engine) }
    }

    /// Saves every space changed since its last checkpoint into one pack file
    /// (`<path>/spaces/<number>.pack`: written, synced once, renamed into place, with an index
    /// of every checkpointed space; packs nothing points into any more are deleted) and deletes the log
    /// segments that are no longer needed, so the next open loads the checkpoints and replays
    /// only the writes made after them. Writes to other spaces go on meanwhile. A background
    /// thread does the same on its own after every 8 MiB of log (counted across restarts: an
    /// open that finds more checkpoints before it returns); call this before a planned
    /// shutdown to make the next open fast. A no-op for in-memory databases. Runs on a thread
    /// of its own.
    ///
    /// ```swift
    /// let database = try await Database(path: "/var/lib/mnemo")
    /// try await database.space("notes").insert(contentsOf: memories)
    /// try await database.checkpoint()   // the log behind these writes is deleted
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/io`` when a checkpoint file cannot be written (no log
    ///   segment is deleted then), ``MnemoError/Code/closed`` after ``close()``.
    public func checkpoint() async throws(MnemoError) {
        let engine = self.engine
        try await BlockingExecutor.run { () throws(MnemoError) in try CCore.checkpointEngine(engine) }
    }

    /// Unloads every idle space: one with no open ``Space`` value, nothing queued and nothing
    /// written since the last ``checkpoint()``. An unloaded space costs the open database a
    /// small record (its id and name) and loads again from its checkpoint on first use. Runs on
    /// a thread of its own (it waits for a space being loaded or checkpointed).
    ///
    /// ```swift
    /// try await database.checkpoint()
    /// let unloaded = try await database.unloadIdleSpaces()   // memory back from idle tenants
    /// let alice = try await database.space("alice")          // loads alice again
    /// ```
    ///
    /// - Returns: how many spaces were unloaded (0 for an in-memory database).
    /// - Throws: ``MnemoError/Code/closed`` after ``close()``.
    @discardableResult
    public func unloadIdleSpaces() async throws(MnemoError) -> Int {
        let engine = self.engine
        return try await BlockingExecutor.run { () throws(MnemoError) -> Int in try CCore.unloadIdleSpaces(engine) }
    }
}
