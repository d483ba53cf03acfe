// What each space weighs: bytes on disk and operations per second. The planner balances all three
// of copies, bytes and load, so it needs these; spaces not listed weigh `defaultStats`.

/// The size and load of each space.
///
/// ```swift
/// var workload = Workload(defaultStats: .init(bytes: 1 << 20, opsPerSecond: 1))
/// workload[SpaceID(name: "hot")] = .init(bytes: 8 << 20, opsPerSecond: 5_000)
/// ```
public struct Workload: Sendable {
    /// One space's weight.
    public struct Stats: Hashable, Sendable {
        /// Bytes stored per copy.
        public var bytes: UInt64
        /// Operations per second served by each copy.
        public var opsPerSecond: Double

        /// Creates stats.
        public init(bytes: UInt64, opsPerSecond: Double) {
            self.bytes = bytes
            self.opsPerSecond = opsPerSecond
        }
    }

    /// The stats of spaces not listed in ``stats``.
    public var defaultStats: Stats
    /// Per-space stats.
    public var stats: [SpaceID: Stats]

    /// Creates a workload.
    public init(defaultStats: Stats = Stats(bytes: 0, opsPerSecond: 0), stats: [SpaceID: Stats] = [:]) {
        self.defaultStats = defaultStats
        self.stats = stats
    }

    /// The stats of `space` (``defaultStats`` when unlisted); setting records them.
    public subscript(space: SpaceID) -> Stats {
        get { stats[space] ?? defaultStats }
        set { stats[space] = newValue }
    }
}
