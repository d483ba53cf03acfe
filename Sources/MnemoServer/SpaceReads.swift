// SpaceReads: the filtered reads and deletes of a space as the routes call them, in one place.
// Filtered search, recall, list, count and delete by filter come from the Mnemo module's
// filtered-read API; this file is the one seam between the routes and that API.
import Mnemo

/// Filtered reads of a space.
enum SpaceReads {
    /// The `k` nearest memories matching `filter` (all when `nil`).
    static func search(_ space: Space, _ vector: [Float], k: Int, ef: Int?, filter: Filter?) async throws(MnemoError) -> [SearchHit] {
        guard filter == nil else { throw unavailable("filtered search") }
        return try await space.search(vector, k: k, ef: ef)
    }

    /// Recall, returning only memories matching `filter` (activation still spreads through
    /// the others).
    static func recall(_ space: Space, cue: [Float], seeds: Int, hops: Int, decay: Float, threshold: Float,
                       limit: Int, fanOut: Int, overSimilarity: Bool, filter: Filter?) async throws(MnemoError) -> [Recollection] {
        guard filter == nil else { throw unavailable("filtered recall") }
        return try await space.recall(cue: cue, seeds: seeds, hops: hops, decay: decay, threshold: threshold,
                                      limit: limit, fanOut: fanOut, overSimilarity: overSimilarity)
    }

    /// One page of the memories matching `filter`, in a stable order.
    static func list(_ space: Space, filter: Filter?, cursor: String?, limit: Int) async throws(MnemoError) -> (memories: [Memory], next: String?) {
        throw unavailable("list")
    }

    /// How many memories match `filter`.
    static func count(_ space: Space, filter: Filter?) async throws(MnemoError) -> Int {
        guard filter == nil else { throw unavailable("filtered count") }
        return space.stats().count
    }

    /// Deletes every memory matching `filter` as one write; how many were deleted.
    static func delete(_ space: Space, filter: Filter) async throws(MnemoError) -> Int {
        throw unavailable("delete by filter")
    }

    private static func unavailable(_ what: String) -> MnemoError {
        MnemoError(.unsupported, "\(what) is not available in this build")
    }
}
