// Reads and deletes by filter: search with the planner's stats, list by cursor, count, and
// delete as one write (the C core's mn_space_search_filtered, _list_filtered, _count_filtered
// and _delete_filtered; docs/filters.md, "Swift filtered reads"). Filtered search without
// stats and filtered recall are parameters of ``Space/search(_:k:ef:filter:)`` and
// ``Space/recall(cue:seeds:hops:decay:threshold:limit:fanOut:overSimilarity:filter:)``.

extension Space {
    /// ``search(_:k:ef:filter:)`` returning what the search did too: the strategy the planner
    /// picked (``SearchStats/Strategy/exactScan`` of the matching memories when they are few,
    /// ``SearchStats/Strategy/traversal`` of the index when they are many), its estimate of the
    /// matches and the work done.
    ///
    /// ```swift
    /// let result = try await space.searchWithStats(query, k: 10, filter: Filter.field("project") == "x")
    /// print(result.stats.strategy, result.stats.estimatedMatches, result.hits.count)
    /// ```
    ///
    /// - Parameters:
    ///   - vector: the query, of the space's dimension.
    ///   - k: how many results (1 ... 32768).
    ///   - ef: the traversal's beam; larger is slower and more accurate. `nil` uses max(k, 64).
    ///     The exact scan ignores it.
    ///   - filter: only memories it matches are returned; `nil` matches all (then the planner
    ///     always traverses).
    /// - Returns: the hits, nearest first, and the stats.
    /// - Throws: the errors of ``search(_:k:ef:filter:)``.
    public func searchWithStats(_ vector: [Float], k: Int = 10, ef: Int? = nil,
                                filter: Filter? = nil) async throws(MnemoError) -> SearchResult {
        try CCore.searchFiltered(handle, query: vector, k: k, ef: ef, filter: filter)
    }

    /// Lists the memories matching `filter` one page at a time, in a stable order: the order
    /// in which they were first inserted (an upsert or a metadata patch keeps a memory's
    /// place). Pass the page's ``MemoryPage/nextCursor`` to get the next page; it is `nil`
    /// after the last matching memory. Across pages, each memory that matches throughout is
    /// listed exactly once; memories inserted meanwhile appear on later pages, deleted ones
    /// vanish. Each call checks every memory of the space (O(memories)), unless the filter's
    /// fields are indexed (``createIndex(_:kind:)``): then only the indexes' candidates.
    ///
    /// ```swift
    /// var cursor: MemoryPage.Cursor? = nil
    /// repeat {
    ///     let page = try await space.list(filter: Filter.field("tags").contains("travel"), cursor: cursor)
    ///     for memory in page.memories { print(memory.id, memory.text ?? "") }
    ///     cursor = page.nextCursor
    /// } while cursor != nil
    /// ```
    ///
    /// - Parameters:
    ///   - filter: the memories to list; `nil` lists all.
    ///   - cursor: where to resume; `nil` starts at the beginning.
    ///   - limit: the most memories on the page (1 ... 65,535).
    /// - Returns: the page. Its memories carry their vectors, read right after the page (a
    ///   memory upserted in that instant has its new vector; one deleted is left out).
    /// - Throws: ``MnemoError/Code/invalidFilter`` naming the field for a filter the parser
    ///   refuses, ``MnemoError/Code/invalidArgument`` (limit out of range),
    ///   ``MnemoError/Code/unknownSpace`` (dropped), ``MnemoError/Code/outOfMemory``.
    public func list(filter: Filter? = nil, cursor: MemoryPage.Cursor? = nil,
                     limit: Int = 100) async throws(MnemoError) -> MemoryPage {
        try CCore.list(handle, filter: filter, cursor: cursor, limit: limit, dimension: dimension)
    }

    /// The number of memories matching `filter` (`nil`: all), counted exactly by checking
    /// every memory (each at the instant it is read; writes run concurrently), or from the
    /// field indexes alone when every condition is on an indexed field
    /// (``createIndex(_:kind:)``).
    ///
    /// ```swift
    /// let facts = try await space.count(filter: Filter.field("kind") == "fact")
    /// ```
    ///
    /// - Throws: ``MnemoError/Code/invalidFilter`` naming the field for a filter the parser
    ///   refuses, ``MnemoError/Code/unknownSpace`` (dropped).
    public func count(filter: Filter? = nil) async throws(MnemoError) -> Int {
        try CCore.count(handle, filter: filter)
    }

    /// Deletes every memory matching `filter` as ONE write: queued in order with the space's
    /// other writes, logged as one record in a durable database (so a reopen replays it whole)
    /// and applied all-or-nothing to the memories present when it runs. Their links go with
    /// them. ``Filter/all`` deletes every memory of the space.
    ///
    /// ```swift
    /// let removed = try await space.delete(filter: Filter.field("session") == "s-42" && Filter.createdAt < cutoff)
    /// ```
    ///
    /// - Returns: the number of memories deleted (0 when none matched).
    /// - Throws: ``MnemoError/Code/invalidFilter`` naming the field for a filter the parser
    ///   refuses (nothing is queued, nothing changes), ``MnemoError/Code/outOfMemory`` (nothing
    ///   deleted), ``MnemoError/Code/tooLarge`` (a filter over the write queue's byte limit),
    ///   ``MnemoError/Code/full`` (when not waiting), ``MnemoError/Code/unknownSpace``
    ///   (dropped), ``MnemoError/Code/closed``.
    @discardableResult
    public func delete(filter: Filter) async throws(MnemoError) -> Int {
        try await CCore.deleteFiltered(handle, filter: filter, waitWhenFull: waitWhenFull)
    }
}
