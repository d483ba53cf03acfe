// SpaceReads: the filtered reads and deletes of a space as the routes call them, in one place:
// filtered search and recall, list by cursor, count and delete by filter, from the Mnemo
// module's filtered-read API (docs/filters.md, "Swift filtered reads"). Cursors travel as the
// decimal text of MemoryPage.Cursor; anything else is a 400 naming `cursor`.
import Mnemo

/// Filtered reads of a space.
enum SpaceReads {
    /// The `k` nearest memories matching `filter` (all when `nil`).
    static func search(_ space: Space, _ vector: [Float], k: Int, ef: Int?, filter: Filter?) async throws(MnemoError) -> [SearchHit] {
        try await space.search(vector, k: k, ef: ef, filter: filter)
    }

    /// Recall, returning only memories matching `filter` (activation still spreads through
    /// the others).
    static func recall(_ space: Space, cue: [Float], seeds: Int, hops: Int, decay: Float, threshold: Float,
                       limit: Int, fanOut: Int, overSimilarity: Bool, filter: Filter?) async throws(MnemoError) -> [Recollection] {
        try await space.recall(cue: cue, seeds: seeds, hops: hops, decay: decay, threshold: threshold,
                               limit: limit, fanOut: fanOut, overSimilarity: overSimilarity, filter: filter)
    }

    /// One page of the memories matching `filter`, in the engine's stable order.
    static func list(_ space: Space, filter: Filter?, cursor: String?, limit: Int) async throws(MnemoError) -> (memories: [Memory], next: String?) {
        var position: MemoryPage.Cursor?
        if let cursor, !cursor.isEmpty {
            guard let parsed = MemoryPage.Cursor(cursor) else {
                throw MnemoError(.invalidArgument, "cursor \"\(cursor)\" is not one this server returned")
            }
            position = parsed
        }
        let page = try await space.list(filter: filter, cursor: position, limit: limit)
        return (page.memories, page.nextCursor?.description)
    }

    /// How many memories match `filter`.
    static func count(_ space: Space, filter: Filter?) async throws(MnemoError) -> Int {
        try await space.count(filter: filter)
    }

    /// Deletes every memory matching `filter` as one write; how many were deleted.
    static func delete(_ space: Space, filter: Filter) async throws(MnemoError) -> Int {
        try await space.delete(filter: filter)
    }
}
