import Foundation
import Mnemo

/// The filtered half of `mnemo ann-bench` (`--filter-selectivity`): filtered k-NN through the
/// engine's Space API, where the planner picks the exact scan or the filtered traversal.
///
/// Why through the engine and not ``HNSWIndex``: the planner (estimate the matches, pick the
/// strategy) lives in the engine's filtered search, which is what users call.
///
/// How each selectivity is made exact: every base vector i gets the integer metadata field
/// `bucket` = perm(i), where perm is a fixed pseudo-random permutation of 0 ..< n (Fisher-Yates
/// driven by splitmix64, seed 42), and selectivity s is the filter `bucket < round(s * n)`. The
/// buckets are distinct, so exactly round(s * n) vectors match, spread over the set
/// independently of where they lie in space: s is exact whenever s * n is a whole number
/// (sift5k, 5,000 vectors: 2,500 / 500 / 50 / 5; wordnet384, 30,000: 15,000 / 3,000 / 300 / 30).
///
/// With `--filter-index`, `bucket` has a numeric field index (created after the inserts, so
/// its backfill is part of the build time), and the planner counts and collects from it.
///
/// QPS is queries per CPU second of the process (the one searching thread; the engine's workers
/// sleep while nobody writes), one query after another: steadier than the wall clock on a
/// shared machine (`qps_wall` is printed too).
///
/// The ground truth is computed here by brute force: every query's distance to every base
/// vector (the space's metric: squared L2, 1 - cosine, or 1 - dot), then the k nearest among the
/// matches (ties by smaller id, as the datasets' ground truth).
struct FilteredAnnBench {
    let base: VectorFile<Float>
    let queries: VectorFile<Float>
    let metric: Metric
    let m: Int
    let efConstruction: Int
    let efs: [Int]
    let k: Int
    let threads: Int
    let selectivities: [Double]
    /// Whether `bucket` gets a numeric field index before the queries (`--filter-index`): the
    /// planner then counts and collects the matches from it instead of checking every record.
    let indexed: Bool
    let json: Bool

    /// One measured row.
    struct Row {
        let selectivity: Double
        let matches: Int
        let ef: Int
        let recall: Double
        /// Queries per CPU second of the process.
        let qps: Double
        /// Queries per wall-clock second.
        let wallQPS: Double
        let strategy: String
        let estimatedMatches: Int
    }

    /// CPU seconds used by this process so far (its searching thread, since the engine's
    /// workers sleep while nobody writes): on a shared machine, a steadier clock than the wall.
    static func processCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }

    /// splitmix64, for the permutation.
    private struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// bucket[i]: a permutation of 0 ..< n.
    static func buckets(_ n: Int) -> [Int] {
        var perm = Array(0..<n)
        var rng = SplitMix64(state: 42)
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                perm.swapAt(i, j)
            }
        }
        return perm
    }

    /// The distance the space ranks by, for the ground truth.
    private func distances(_ query: ArraySlice<Float>, norms: [Float], into out: inout [Float]) {
        let d = base.dimension
        let n = base.count
        var qNorm: Float = 0
        let q = Array(query)
        for x in q { qNorm += x * x }
        qNorm = qNorm.squareRoot()
        base.values.withUnsafeBufferPointer { b in
            q.withUnsafeBufferPointer { qp in
                guard let rows = b.baseAddress else { return }
                for i in 0..<n {
                    let row = rows + i * d
                    var acc: Float = 0
                    switch metric {
                    case .l2:
                        for j in 0..<d {
                            let t = row[j] - qp[j]
                            acc += t * t
                        }
                        out[i] = acc
                    case .innerProduct:
                        for j in 0..<d { acc += row[j] * qp[j] }
                        out[i] = 1 - acc
                    case .cosine:
                        for j in 0..<d { acc += row[j] * qp[j] }
                        let denominator = norms[i] * qNorm
                        out[i] = denominator > 0 ? 1 - acc / denominator : 1
                    }
                }
            }
        }
    }

    /// The k nearest of `ids` by `distance` (ties: smaller id first).
    private static func topK(_ ids: [Int], _ distance: [Float], _ k: Int) -> [Int] {
        var best: [(Float, Int)] = []
        best.reserveCapacity(k + 1)
        for id in ids {
            let dist = distance[id]
            if best.count == k, let last = best.last, !(dist < last.0 || (dist == last.0 && id < last.1)) { continue }
            var at = best.count
            while at > 0 && (dist < best[at - 1].0 || (dist == best[at - 1].0 && id < best[at - 1].1)) { at -= 1 }
            best.insert((dist, id), at: at)
            if best.count > k { best.removeLast() }
        }
        return best.map(\.1)
    }

    func run() async throws -> [Row] {
        let n = base.count
        let d = base.dimension
        let bucket = Self.buckets(n)
        let cutoffs = selectivities.map { max(1, Int(($0 * Double(n)).rounded())) }
        let clock = ContinuousClock()

        // Ground truth, per selectivity and query.
        let truthStart = clock.now
        var norms = [Float](repeating: 1, count: n)
        if metric == .cosine {
            for i in 0..<n { norms[i] = base[i].reduce(0) { $0 + $1 * $1 }.squareRoot() }
        }
        let matching = cutoffs.map { cutoff in (0..<n).filter { bucket[$0] < cutoff } }
        var truth = [[Set<Int>]](repeating: [], count: cutoffs.count)
        var distance = [Float](repeating: 0, count: n)
        for q in 0..<queries.count {
            distances(queries[q], norms: norms, into: &distance)
            for s in cutoffs.indices { truth[s].append(Set(Self.topK(matching[s], distance, k))) }
        }
        let truthSeconds = (clock.now - truthStart).seconds

        // The engine: one in-memory space, the base vectors with their bucket.
        let database = try Database(options: DatabaseOptions(workers: max(1, threads)))
        let space = try await database.createSpace("bench", dimension: d, metric: metric,
                                                   parameters: .init(m: m, efConstruction: efConstruction))
        let buildStart = clock.now
        let batch = 1_000
        for start in stride(from: 0, to: n, by: batch) {
            let memories = (start..<min(start + batch, n)).map { i in
                Memory(id: String(i), vector: Array(base[i]), metadata: ["bucket": .int(Int64(bucket[i]))])
            }
            try await space.insert(contentsOf: memories)
        }
        if indexed { try await space.createIndex("bucket", kind: .numeric) }
        let buildSeconds = (clock.now - buildStart).seconds
        header(n: n, d: d, buildSeconds: buildSeconds, truthSeconds: truthSeconds)

        let queryVectors = (0..<queries.count).map { Array(queries[$0]) }
        var rows: [Row] = []
        for (s, cutoff) in cutoffs.enumerated() {
            let filter = Filter.field("bucket") < cutoff
            for ef in efs {
                var hits = 0
                var strategies = Set<String>()
                var estimated = 0
                let start = clock.now
                let cpuStart = Self.processCPUSeconds()
                for (q, vector) in queryVectors.enumerated() {
                    let result = try await space.searchWithStats(vector, k: k, ef: ef, filter: filter)
                    strategies.insert(result.stats.strategy.description)
                    estimated = result.stats.estimatedMatches
                    for hit in result.hits where truth[s][q].contains(Int(hit.id) ?? -1) { hits += 1 }
                }
                let elapsed = (clock.now - start).seconds
                let cpu = max(Self.processCPUSeconds() - cpuStart, 1e-9)
                let row = Row(selectivity: selectivities[s], matches: matching[s].count, ef: ef,
                              recall: Double(hits) / Double(queryVectors.count * min(k, matching[s].count)),
                              qps: Double(queryVectors.count) / cpu, wallQPS: Double(queryVectors.count) / elapsed,
                              strategy: strategies.count == 1 ? strategies.first ?? "" : "mixed",
                              estimatedMatches: estimated)
                print(line(row))
                rows.append(row)
            }
        }
        await database.close()
        return rows
    }

    private func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
    private func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    private func header(n: Int, d: Int, buildSeconds: Double, truthSeconds: Double) {
        if json {
            print(#"{"bench":"filtered_build","vectors":\#(n),"dimension":\#(d),"metric":"\#(metric.rawValue)","m":\#(m),"ef_construction":\#(efConstruction),"workers":\#(threads),"build_seconds":\#(format(buildSeconds, 3)),"groundtruth_seconds":\#(format(truthSeconds, 3))}"#)
        } else {
            print("mnemo ann-bench (filtered, engine Space API): \(n) x \(d) \(metric.rawValue), M \(m), ef_construction \(efConstruction), \(threads) worker(s)")
            print("build: \(format(buildSeconds, 2)) s; exact filtered ground truth: \(format(truthSeconds, 2)) s")
            print(pad("select", 8) + pad("matches", 9) + pad("ef", 6) + pad("recall", 9) + pad("qps", 10) + pad("strategy", 12))
        }
    }

    private func line(_ row: Row) -> String {
        if json {
            return #"{"bench":"filtered_search","selectivity":\#(row.selectivity),"matches":\#(row.matches),"estimated_matches":\#(row.estimatedMatches),"ef":\#(row.ef),"k":\#(k),"recall":\#(format(row.recall, 4)),"qps":\#(format(row.qps, 1)),"qps_wall":\#(format(row.wallQPS, 1)),"strategy":"\#(row.strategy)"}"#
        }
        return pad("\(row.selectivity)", 8) + pad("\(row.matches)", 9) + pad("\(row.ef)", 6)
            + pad(format(row.recall, 4), 9) + pad(format(row.qps, 0), 10) + pad(row.strategy, 12)
    }
}
