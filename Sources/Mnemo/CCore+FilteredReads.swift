import CMnemo

// The C calls of filtered reads and delete by filter (mn_engine.h, "filtered reads"): search
// with the planner's stats, list by cursor, count, and the one-write delete. Reads run on the
// caller's task like ``CCore/search(_:query:k:ef:)`` (an RCU read section each, never
// blocking); the filter is compiled once per call by the C parser (``Filter/compiled()``), so
// a bad filter throws `.invalidFilter` naming its field before the engine is asked anything.

extension CCore {
    /// The stats of a C filtered search.
    private static func searchStats(_ s: mn_search_stats) -> SearchStats {
        SearchStats(strategy: s.strategy == MN_SEARCH_STRATEGY_EXACT_SCAN ? .exactScan : .traversal,
                    live: Int(clamping: s.live), sampled: Int(clamping: s.sampled),
                    estimatedMatches: Int(clamping: s.estimated_matches), matches: Int(clamping: s.matches),
                    visited: Int(clamping: s.index.visited), distances: Int(clamping: s.index.distances),
                    twoHopExpansions: Int(clamping: s.index.two_hop), exactFallback: s.index.exact_fallback != 0,
                    indexLeaves: Int(s.index_leaves),
                    usedIndexes: s.index_flags & UInt32(MN_SEARCH_INDEX_ESTIMATE) != 0,
                    indexCollected: s.index_flags & UInt32(MN_SEARCH_INDEX_COLLECT) != 0,
                    indexExact: s.index_flags & UInt32(MN_SEARCH_INDEX_EXACT) != 0)
    }

    /// The k nearest memories matching `filter` (`nil`: all), nearest first, and the stats.
    static func searchFiltered(_ space: SpaceHandle, query: [Float], k: Int, ef: Int?,
                               filter: Filter?) throws(MnemoError) -> SearchResult {
        guard let dimension = UInt32(exactly: query.count) else {
            throw MnemoError(.wrongDimension, "query of \(query.count) floats")
        }
        guard let kValue = UInt32(exactly: k), k > 0 else {
            throw MnemoError(.invalidArgument, "k = \(k)")
        }
        guard let efValue = UInt32(exactly: ef ?? 0) else {
            throw MnemoError(.invalidArgument, "ef = \(ef ?? 0)")
        }
        let compiled = try filter?.compiled()
        var collector = VisitCollector()
        collector.hits.reserveCapacity(min(k, 1024))
        var found: UInt32 = 0
        var stats = mn_search_stats()
        let status = withExtendedLifetime(compiled) {
            query.withUnsafeBufferPointer { queryBuffer in
                withUnsafeMutablePointer(to: &collector) { collectorPointer in
                    mn_space_search_filtered(space.pointer, queryBuffer.baseAddress, dimension, kValue, efValue,
                                             compiled?.pointer, { context, view in
                        guard let context, let view else { return }
                        context.assumingMemoryBound(to: VisitCollector.self).pointee.visit(view)
                    }, collectorPointer, &found, &stats)
                }
            }
        }
        try check(status, "filtered search")
        if collector.corruptMetadata { throw MnemoError(.corrupt, "search: a metadata document does not decode") }
        return SearchResult(hits: collector.hits, stats: searchStats(stats))
    }

    /// The number of memories matching `filter` (`nil`: all).
    static func count(_ space: SpaceHandle, filter: Filter?) throws(MnemoError) -> Int {
        let compiled = try filter?.compiled()
        var count: UInt64 = 0
        let status = withExtendedLifetime(compiled) {
            mn_space_count_filtered(space.pointer, compiled?.pointer, &count)
        }
        try check(status, "count")
        return Int(clamping: count)
    }

    /// The most memories one page may hold: one below the C limit, because a page asks C for
    /// one memory more to know whether another page follows.
    static let listLimitMax = Int(MN_ENGINE_LIST_LIMIT_MAX) - 1

    /// One page of the memories matching `filter`, after `cursor`, with their vectors.
    static func list(_ space: SpaceHandle, filter: Filter?, cursor: MemoryPage.Cursor?, limit: Int,
                     dimension: Int) throws(MnemoError) -> MemoryPage {
        guard limit > 0, limit <= listLimitMax else {
            throw MnemoError(.invalidArgument, "list limit \(limit) (1 ... \(listLimitMax))")
        }
        let compiled = try filter?.compiled()
        var collector = VisitCollector()
        collector.hits.reserveCapacity(min(limit + 1, 1024))
        var found: UInt32 = 0
        var next: UInt64 = 0
        // One more than asked: its presence says another page follows.
        let status = withExtendedLifetime(compiled) {
            withUnsafeMutablePointer(to: &collector) { collectorPointer in
                mn_space_list_filtered(space.pointer, compiled?.pointer, cursor?.position ?? 0, UInt32(limit + 1), { context, view in
                    guard let context, let view else { return }
                    context.assumingMemoryBound(to: VisitCollector.self).pointee.visit(view)
                }, collectorPointer, &found, &next)
            }
        }
        try check(status, "list")
        if collector.corruptMetadata { throw MnemoError(.corrupt, "list: a metadata document does not decode") }
        var hits = collector.hits
        var nextCursor: MemoryPage.Cursor?
        if hits.count > limit {
            // `next` is the position of the extra memory; the cursor just before it resumes
            // exactly there (positions are integers and grow with every insert, so nothing
            // can appear between the two).
            hits.removeLast(hits.count - limit)
            nextCursor = MemoryPage.Cursor(position: next - 1)
        }
        var memories: [Memory] = []
        memories.reserveCapacity(hits.count)
        for hit in hits {
            // The vector lives in the index, not the listed record: read it now. A memory
            // deleted since the page was read is left out.
            guard let vector = try vector(space, id: hit.id, dimension: dimension) else { continue }
            memories.append(Memory(id: hit.id, vector: vector, content: hit.content, createdAt: hit.createdAt,
                                   metadata: hit.metadata))
        }
        return MemoryPage(memories: memories, nextCursor: nextCursor)
    }

    /// The stored vector of memory `id`, or `nil` when it is absent.
    private static func vector(_ space: SpaceHandle, id: String, dimension: Int) throws(MnemoError) -> [Float]? {
        var vector = [Float](repeating: 0, count: dimension)
        let status = withUTF8(id) { idPointer, idBytes in
            vector.withUnsafeMutableBufferPointer { buffer in
                mn_space_get(space.pointer, idPointer, idBytes, buffer.baseAddress, UInt32(dimension), nil, nil)
            }
        }
        if status == MN_ERR_NOT_FOUND { return nil }
        try check(status, "list: vector of \"\(id)\"")
        return vector
    }

    /// Deletes every memory matching `filter` as one write; the number deleted.
    static func deleteFiltered(_ space: SpaceHandle, filter: Filter, waitWhenFull: Bool) async throws(MnemoError) -> Int {
        let json = filter.json
        // Checked here first so a bad filter is `.invalidFilter` naming its field (the C call
        // parses the same text again and would refuse it the same way, queueing nothing).
        _ = try compileFilter(json)
        var text = Array(json.utf8)
        let count = text.count
        text.append(0) // keeps the base address valid; C reads `count` bytes
        let detail = try await submit("delete by filter", waitWhenFull: waitWhenFull) { done, context in
            text.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) {
                    mn_space_delete_filtered(space.pointer, $0.baseAddress, count, 0, done, context, nil)
                }
            }
        }
        return Int(clamping: detail)
    }
}
