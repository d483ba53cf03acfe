/// The answer of ``Space/searchWithStats(_:k:ef:filter:)``: the hits, nearest first, and what
/// the search did to find them.
///
/// ```swift
/// let result = try await space.searchWithStats(query, k: 10, filter: Filter.field("tags").contains("travel"))
/// print(result.hits.map(\.id), result.stats.strategy)
/// ```
public struct SearchResult: Sendable, Hashable {
    /// The matching memories nearest to the query, nearest first.
    public let hits: [SearchHit]
    /// The planner's choice and the work done.
    public let stats: SearchStats

    /// Creates a result (results come from ``Space/searchWithStats(_:k:ef:filter:)``; this is
    /// for tests and mocks).
    ///
    /// ```swift
    /// let result = SearchResult(hits: [], stats: SearchStats(strategy: .exactScan, live: 0, sampled: 0,
    ///                                                        estimatedMatches: 0, matches: 0))
    /// ```
    public init(hits: [SearchHit], stats: SearchStats) {
        self.hits = hits
        self.stats = stats
    }
}
