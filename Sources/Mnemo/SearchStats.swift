/// What one filtered search did: the strategy the planner picked and the work it took.
///
/// The planner estimates how many memories match the filter from a sample of the space; when
/// they are few (at most 4,096, or at most 2% of the space) it scores the matching memories
/// exactly (``Strategy/exactScan``: recall 1), otherwise it traverses the index and checks the
/// filter on each memory it reaches (``Strategy/traversal``). Conditions on indexed fields
/// (``Space/createIndex(_:kind:)``, and ``Filter/createdAt``) are counted exactly from the
/// indexes, and the exact scan takes its candidates from them when it can
/// (``usedIndexes``, ``indexLeaves``, ``indexCollected``, ``indexExact``).
///
/// ```swift
/// let result = try await space.searchWithStats(query, k: 10, filter: Filter.field("kind") == "fact")
/// if result.stats.strategy == .exactScan {
///     print("scanned \(result.stats.matches) matches of \(result.stats.live)")
/// }
/// ```
public struct SearchStats: Sendable, Hashable {
    /// How a filtered search found its results.
    ///
    /// ```swift
    /// let strategy: SearchStats.Strategy = .traversal
    /// ```
    public enum Strategy: Sendable, Hashable, CustomStringConvertible {
        /// The matching memories were collected and each scored exactly (few matches).
        case exactScan
        /// The index was traversed with the filter checked on every memory reached (many
        /// matches); non-matching memories are passed through but never returned.
        case traversal

        /// `"exact_scan"` or `"traversal"` (the names the benchmarks print).
        ///
        /// ```swift
        /// print(SearchStats.Strategy.exactScan)   // exact_scan
        /// ```
        public var description: String {
            switch self {
            case .exactScan: "exact_scan"
            case .traversal: "traversal"
            }
        }
    }

    /// The strategy that ran.
    public let strategy: Strategy
    /// The memories in the space when the search began.
    public let live: Int
    /// How many memories the selectivity estimate evaluated (0 without a filter).
    public let sampled: Int
    /// The planner's estimate of the matching memories.
    public let estimatedMatches: Int
    /// Exact scan: the matching memories collected (exact); traversal: the live matching
    /// memories the traversal reached.
    public let matches: Int
    /// Traversal: the index nodes reached (0 for the exact scan).
    public let visited: Int
    /// Traversal: the distances computed on the index's bottom layer (0 for the exact scan).
    public let distances: Int
    /// Traversal: the candidates whose neighbours' neighbours were looked at, where the
    /// matching memories are sparse (0 for the exact scan).
    public let twoHopExpansions: Int
    /// Traversal: `true` when it found fewer matches than its beam and finished with an exact
    /// scan of the rest of the index.
    public let exactFallback: Bool
    /// The filter leaves whose match counts came exactly from a field index
    /// (``Space/createIndex(_:kind:)``, or the built-in one on ``Filter/createdAt``); the
    /// others were estimated from a sample. 0 when no index applied.
    public let indexLeaves: Int
    /// `true` when some leaf's count came from a field index (``indexLeaves`` > 0).
    public let usedIndexes: Bool
    /// Exact scan: `true` when its candidates came from the field indexes instead of a walk of
    /// every memory.
    public let indexCollected: Bool
    /// Exact scan: `true` when the whole filter was answered by the field indexes (AND, OR and
    /// NOT of indexed conditions), so the candidates were exactly the matches.
    public let indexExact: Bool

    /// Creates statistics (they come from ``Space/searchWithStats(_:k:ef:filter:)``; this is for
    /// tests and mocks).
    ///
    /// ```swift
    /// let stats = SearchStats(strategy: .exactScan, live: 1000, sampled: 1000, estimatedMatches: 12, matches: 10)
    /// ```
    public init(strategy: Strategy, live: Int, sampled: Int, estimatedMatches: Int, matches: Int,
                visited: Int = 0, distances: Int = 0, twoHopExpansions: Int = 0, exactFallback: Bool = false,
                indexLeaves: Int = 0, usedIndexes: Bool = false, indexCollected: Bool = false,
                indexExact: Bool = false) {
        self.strategy = strategy
        self.live = live
        self.sampled = sampled
        self.estimatedMatches = estimatedMatches
        self.matches = matches
        self.visited = visited
        self.distances = distances
        self.twoHopExpansions = twoHopExpansions
        self.exactFallback = exactFallback
        self.indexLeaves = indexLeaves
        self.usedIndexes = usedIndexes
        self.indexCollected = indexCollected
        self.indexExact = indexExact
    }
}
