// Timing loops for lookups and planning (STYLE rule 20: benchmarks print figures, never assert).
// Each lookup figure is the median, over passes, of one pass's time divided by its lookups; a pass
// walks the ids in a shuffled order and folds every answer into a checksum that is returned, so
// the optimiser cannot drop the loop.

/// Lookup and planning timers used by `mnemo placement bench` and the simulator.
///
/// ```swift
/// let (ns, _) = PlacementBenchmark.directoryLookup(directory, ids: ids, passes: 20)
/// print("directory lookup: \(ns) ns")
/// ```
public enum PlacementBenchmark {
    /// Median nanoseconds per ``Directory/lookup(_:)`` over `passes` passes through `ids`.
    @inline(never)
    public static func directoryLookup(_ directory: Directory, ids: [SpaceID], passes: Int)
        -> (nanoseconds: Double, checksum: UInt64)
    {
        var checksum: UInt64 = 0
        let ns = medianPass(passes: passes, count: ids.count) {
            for id in ids {
                if let a = directory.lookup(id) { checksum &+= UInt64(a.primary.rawValue) &+ a.version }
            }
        }
        return (ns, checksum)
    }

    /// Median nanoseconds per lookup through a ``DirectoryReader`` (generation check included).
    @inline(never)
    public static func readerLookup(_ publisher: DirectoryPublisher, ids: [SpaceID], passes: Int)
        -> (nanoseconds: Double, checksum: UInt64)
    {
        var reader = publisher.reader()
        var checksum: UInt64 = 0
        let ns = medianPass(passes: passes, count: ids.count) {
            for id in ids {
                if let a = reader.lookup(id) { checksum &+= UInt64(a.primary.rawValue) }
            }
        }
        return (ns, checksum)
    }

    /// Median nanoseconds per ``Ring/copies(for:)`` (binary search plus the replica walk).
    @inline(never)
    public static func ringLookup(_ ring: Ring, ids: [SpaceID], passes: Int) -> (nanoseconds: Double, checksum: UInt64) {
        var checksum: UInt64 = 0
        let ns = medianPass(passes: passes, count: ids.count) {
            for id in ids { checksum &+= UInt64(ring.copies(for: id)[0].rawValue) }
        }
        return (ns, checksum)
    }

    /// Median nanoseconds per ``Ring/primary(for:)`` (the plain binary search of the design).
    @inline(never)
    public static func ringPrimaryLookup(_ ring: Ring, ids: [SpaceID], passes: Int)
        -> (nanoseconds: Double, checksum: UInt64)
    {
        var checksum: UInt64 = 0
        let ns = medianPass(passes: passes, count: ids.count) {
            for id in ids { checksum &+= UInt64(ring.primary(for: id).rawValue) }
        }
        return (ns, checksum)
    }

    /// Median milliseconds of `body` over `runs` runs.
    public static func medianMilliseconds(runs: Int, _ body: () throws(PlacementError) -> Void) throws(PlacementError)
        -> Double
    {
        var times: [Double] = []
        for _ in 0..<max(1, runs) {
            let start = ContinuousClock.now
            try body()
            times.append(seconds(ContinuousClock.now - start) * 1000)
        }
        return median(times)
    }

    static func medianPass(passes: Int, count: Int, _ body: () -> Void) -> Double {
        var times: [Double] = []
        for _ in 0..<max(1, passes) {
            let start = ContinuousClock.now
            body()
            times.append(seconds(ContinuousClock.now - start) * 1e9 / Double(max(1, count)))
        }
        return median(times)
    }

    /// Seconds in a duration.
    static func seconds(_ duration: Duration) -> Double {
        let (s, attoseconds) = duration.components
        return Double(s) + Double(attoseconds) * 1e-18
    }

    /// The median of `values` (0 when empty).
    static func median(_ values: [Double]) -> Double {
        if values.isEmpty { return 0 }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}
