/// One memory space: an isolated set of memories with its own index and an ordered write queue.
///
/// Get a space from ``Database/createSpace(_:dimension:metric:parameters:)`` or
/// ``Database/space(_:)``. Writes are applied in the order they were submitted (per caller)
/// by the space's worker; once a write returns, reads from anywhere see it.
///
/// ```swift
/// let space = try await database.createSpace("bob", dimension: 3, metric: .l2)
/// try await space.insert(Memory(id: "a", vector: [1, 0, 0], text: "first"))
/// let nearest = try await space.search([0.9, 0.1, 0], k: 1)
/// ```
public struct Space: Sendable {
    let handle: SpaceHandle
    let waitWhenFull: Bool
    /// The space's name.
    public let name: String
    /// The length of its vectors.
    public let dimension: Int
    /// Its distance metric.
    public let metric: Metric

    init(handle: SpaceHandle, name: String, waitWhenFull: Bool) {
        self.handle = handle
        self.name = name
        self.waitWhenFull = waitWhenFull
        (dimension, metric) = CCore.spaceDescription(handle)
    }

    /// Inserts a new memory; returns once it is applied (and visible to reads).
    ///
    /// ```swift
    /// try await space.insert(Memory(id: "m1", vector: embedding, text: "hello"))
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/duplicateID`` if the id exists (nothing changes),
    ///   ``MnemoError/Code/wrongDimension``, ``MnemoError/Code/nonFinite``,
    ///   ``MnemoError/Code/zeroVector`` (cosine), ``MnemoError/Code/tooLarge`` (id over 256
    ///   bytes or content over the limit), ``MnemoError/Code/invalidArgument`` (empty id),
    ///   ``MnemoError/Code/full`` (when not waiting), ``MnemoError/Code/unknownSpace`` (dropped),
    ///   ``MnemoError/Code/closed``, ``MnemoError/Code/invalidMetadata`` (a bad metadata field,
    ///   named in ``MnemoError/field``).
    public func insert(_ memory: Memory) async throws(MnemoError) {
        if memory.createdAt != nil {
            // Only the batch record carries explicit creation times.
            try await insert(contentsOf: [memory])
            return
        }
        _ = try await CCore.write(handle, .insert, memory, waitWhenFull: waitWhenFull)
    }

    /// Inserts a batch all-or-nothing: it is validated whole first, crosses into the engine
    /// once and is applied as one write. Large batches are linked by several workers.
    ///
    /// ```swift
    /// let batch = (0..<500).map { Memory(id: "doc-\($0)", vector: embeddings[$0]) }
    /// try await space.insert(contentsOf: batch)
    /// ```
    ///
    /// - Throws: the errors of ``insert(_:)`` for the first bad memory, with
    ///   ``MnemoError/offendingIndex`` set to its position (also for an id repeated in the
    ///   batch or already in the space); the space is then unchanged.
    public func insert(contentsOf memories: [Memory]) async throws(MnemoError) {
        _ = try await CCore.writeBatch(handle, memories, kind: .insert, dimension: dimension,
                                       waitWhenFull: waitWhenFull)
    }

    /// Upserts a batch as one write: each memory replaces the memory with its id (as
    /// ``upsert(_:)`` does: same place, creation time and links) or is inserted. It is validated
    /// whole first, crosses into the engine once and is logged as one record, so a crash keeps
    /// all of it or none.
    ///
    /// ```swift
    /// let replaced = try await space.upsert(contentsOf: corrected)
    /// ```
    ///
    /// - Returns: how many memories were replaced (the rest were inserted).
    /// - Throws: the errors of ``insert(contentsOf:)`` except an id already in the space (an id
    ///   repeated within the batch is still ``MnemoError/Code/duplicateID``); the space is then
    ///   unchanged. Out of memory part-way is the engine's one exception
    ///   (`mn_space_upsert_batch_meta`): its new memories and a prefix of its replacements may
    ///   be in place, and a reopen applies the whole batch from the log.
    @discardableResult
    public func upsert(contentsOf memories: [Memory]) async throws(MnemoError) -> Int {
        Int(try await CCore.writeBatch(handle, memories, kind: .upsert, dimension: dimension,
                                       waitWhenFull: waitWhenFull))
    }

    /// Inserts a memory, or replaces the vector, content and metadata of the memory with its id
    /// (keeping the original creation time; a memory without metadata removes the old fields).
    ///
    /// ```swift
    /// let replaced = try await space.upsert(Memory(id: "m1", vector: newEmbedding, text: "edited"))
    /// ```
    ///
    /// - Returns: `true` if a memory was replaced, `false` if it was inserted (with its
    ///   `createdAt`, when given).
    /// - Throws: the errors of ``insert(_:)`` except ``MnemoError/Code/duplicateID``.
    @discardableResult
    public func upsert(_ memory: Memory) async throws(MnemoError) -> Bool {
        if memory.createdAt != nil {
            // Only the batch record carries explicit creation times.
            return try await upsert(contentsOf: [memory]) == 1
        }
        return try await CCore.write(handle, .upsert, memory, waitWhenFull: waitWhenFull) == 1
    }

    /// Deletes a memory.
    ///
    /// ```swift
    /// let existed = try await space.delete("m1")
    /// ```
    ///
    /// - Returns: `true` if it existed.
    /// - Throws: ``MnemoError/Code/invalidArgument`` (empty id), ``MnemoError/Code/tooLarge``,
    ///   ``MnemoError/Code/full``, ``MnemoError/Code/unknownSpace``, ``MnemoError/Code/closed``.
    @discardableResult
    public func delete(_ id: String) async throws(MnemoError) -> Bool {
        try await CCore.delete(handle, id: id, waitWhenFull: waitWhenFull)
    }

    /// Reads a memory by id, concurrently with writes.
    ///
    /// ```swift
    /// if let memory = try await space.get("m1") { print(memory.text ?? "") }
    /// ```
    ///
    /// - Returns: the memory (its vector is unit-normalised in a cosine space), or `nil`.
    /// - Throws: ``MnemoError/Code/invalidArgument`` (empty id), ``MnemoError/Code/tooLarge``,
    ///   ``MnemoError/Code/unknownSpace`` (dropped).
    public func get(_ id: String) async throws(MnemoError) -> Memory? {
        try CCore.get(handle, id: id, dimension: dimension)
    }

    /// Finds the `k` memories nearest to `vector` that match `filter`, nearest first,
    /// concurrently with writes.
    ///
    /// With a filter, the engine estimates how many memories match and either scores the
    /// matching ones exactly (few matches) or traverses the index checking the filter on every
    /// memory it reaches (many); ``searchWithStats(_:k:ef:filter:)`` says which ran. A memory
    /// that does not match is never returned: the filter is checked on the very record handed
    /// back, so one patched out of the filter during the search is left out (fewer than `k`
    /// hits then).
    ///
    /// ```swift
    /// let hits = try await space.search(query, k: 10, ef: 128)
    /// let facts = try await space.search(query, k: 10,
    ///                                    filter: Filter.field("kind") == "fact" && Filter.createdAt >= lastWeek)
    /// ```
    ///
    /// - Parameters:
    ///   - vector: the query, of the space's dimension.
    ///   - k: how many results (1 ... 32768).
    ///   - ef: the search beam; larger is slower and more accurate. `nil` uses max(k, 64).
    ///   - filter: only memories it matches are returned; `nil` (or ``Filter/all``) matches all.
    /// - Throws: ``MnemoError/Code/invalidFilter`` naming the field for a filter the parser
    ///   refuses (nothing is searched), ``MnemoError/Code/wrongDimension``,
    ///   ``MnemoError/Code/nonFinite``, ``MnemoError/Code/zeroVector``,
    ///   ``MnemoError/Code/invalidArgument`` (k or ef out of range),
    ///   ``MnemoError/Code/unknownSpace`` (dropped).
    public func search(_ vector: [Float], k: Int = 10, ef: Int? = nil,
                       filter: Filter? = nil) async throws(MnemoError) -> [SearchHit] {
        try searchWithoutSuspending(vector, k: k, ef: ef, filter: filter)
    }

    /// ``search(_:k:ef:filter:)`` for a caller that must not suspend: code running inside a
    /// SwiftNIO channel handler, on the event loop that read the request (the HTTP server's
    /// search route). The search never blocks (an RCU read of the index, no lock and no I/O);
    /// it costs what the search costs, so keep `k` and `ef` bounded where that thread serves
    /// others too.
    ///
    /// ```swift
    /// let hits = try space.searchWithoutSuspending(query, k: 10)
    /// ```
    public func searchWithoutSuspending(_ vector: [Float], k: Int = 10, ef: Int? = nil,
                                        filter: Filter? = nil) throws(MnemoError) -> [SearchHit] {
        guard let filter else { return try CCore.search(handle, query: vector, k: k, ef: ef) }
        return try CCore.searchFiltered(handle, query: vector, k: k, ef: ef, filter: filter).hits
    }

    /// A snapshot of the space's count, bytes, queue depth and home worker.
    ///
    /// ```swift
    /// print(space.stats().count)
    /// ```
    public func stats() -> SpaceStats {
        CCore.spaceStats(handle, name: name)
    }
}
