import ArgumentParser
import Foundation
import Mnemo

/// `mnemo ann-bench`: builds an HNSW index from texmex files and measures recall, QPS and latency.
struct AnnBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ann-bench",
        abstract: "Build an HNSW index from .fvecs files and measure recall@k, QPS and latency per ef.",
        discussion: """
            Builds with --threads threads inserting concurrently, then runs the queries for each \
            ef, one after another on each of --search-threads threads (each thread a contiguous \
            share of them; QPS is all queries over the wall time; --min-queries cycles a small \
            query set). Figures only: it never fails on speed. With \
            --filter-selectivity, builds an in-memory engine space instead (base vector i carries \
            the field bucket = a fixed permutation of 0..<n, so `bucket < s*n` matches exactly \
            s*n vectors), computes the exact filtered ground truth by brute force, and prints \
            one row per (selectivity, ef) with recall, QPS and the planner's strategy.
            """
    )

    @Option(help: "Base vectors (.fvecs).") var base: String
    @Option(help: "Query vectors (.fvecs).") var query: String
    @Option(help: "Exact ground truth (.ivecs), nearest first.") var groundtruth: String
    @Option(help: "Distance metric: l2, ip or cosine.") var metric: String = "l2"
    @Option(help: "HNSW M (links per node on upper layers).") var m: Int = 16
    @Option(name: .customLong("ef-construction"), help: "Beam width while building.") var efConstruction: Int = 200
    @Option(help: "Comma-separated search beam widths.") var ef: String = "10,20,40,80,160,320"
    @Option(help: "Neighbours per query (recall@k).") var k: Int = 10
    @Option(help: "Threads inserting concurrently while building.") var threads: Int = 1
    @Option(name: .customLong("search-threads"), help: "Threads searching concurrently, each a share of the queries.")
    var searchThreads: Int = 1
    @Option(name: .customLong("min-queries"),
            help: "Searches per ef at least: a small query set is cycled through until then (steadier QPS).")
    var minQueries: Int = 0
    @Flag(help: "Print one JSON object per line instead of a table.") var json = false
    @Option(name: .customLong("filter-selectivity"),
            help: "Comma-separated filter selectivities in (0, 1] (e.g. 0.5,0.1,0.01,0.001): filtered search through the engine.")
    var filterSelectivity: String?
    @Flag(name: .customLong("filter-index"),
          help: "With --filter-selectivity: give the filtered field a numeric field index first.")
    var filterIndex = false

    func run() async throws {
        guard let metric = Metric(rawValue: metric) else {
            throw ValidationError("--metric must be l2, ip or cosine")
        }
        let efs = ef.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !efs.isEmpty, efs.allSatisfy({ $0 > 0 }) else { throw ValidationError("--ef needs positive integers") }
        guard threads > 0, searchThreads > 0 else { throw ValidationError("--threads and --search-threads must be positive") }
        let baseFile = try VectorFile<Float>(contentsOf: base)
        let queryFile = try VectorFile<Float>(contentsOf: query)
        let truthFile = try VectorFile<Int32>(contentsOf: groundtruth)
        guard queryFile.dimension == baseFile.dimension, truthFile.count == queryFile.count,
              truthFile.dimension >= k else {
            throw ValidationError("query, base and ground truth files do not match (dimension, rows or k)")
        }
        if let filterSelectivity {
            let selectivities = filterSelectivity.split(separator: ",").compactMap {
                Double($0.trimmingCharacters(in: .whitespaces))
            }
            guard !selectivities.isEmpty, selectivities.allSatisfy({ $0 > 0 && $0 <= 1 }) else {
                throw ValidationError("--filter-selectivity needs numbers in (0, 1]")
            }
            let bench = FilteredAnnBench(base: baseFile, queries: queryFile, metric: metric, m: m,
                                         efConstruction: efConstruction, efs: efs, k: k, threads: threads,
                                         selectivities: selectivities, indexed: filterIndex, json: json)
            _ = try await bench.run()
            return
        }
        let index = try HNSWIndex(dimension: baseFile.dimension, metric: metric,
                                  parameters: .init(m: m, efConstruction: efConstruction))
        let ids = (0..<baseFile.count).map(UInt64.init)
        let clock = ContinuousClock()
        let buildTime = try clock.measure {
            try index.insert(ids: ids, vectors: baseFile.values, threads: threads)
        }
        let buildSeconds = buildTime.seconds
        let report = Report(json: json)
        report.build(vectors: baseFile.count, dimension: baseFile.dimension, metric: metric, m: m,
                     efConstruction: efConstruction, threads: threads, searchThreads: searchThreads,
                     seconds: buildSeconds, bytes: index.bytesUsed, simd: HNSWIndex.simdLevel)
        let shares = searchThreads, k = self.k
        let searches = max(queryFile.count, minQueries)
        let queries = (0..<queryFile.count).map { Array(queryFile[$0]) }
        let truth = (0..<truthFile.count).map { Set(truthFile[$0].prefix(k).map { UInt64($0) }) }
        for ef in efs {
            let start = clock.now
            // Each task searches its contiguous share of the queries one after another.
            let results = try await withThrowingTaskGroup(of: (hits: Int, latencies: [Double]).self) { group in
                for share in 0..<shares {
                    let range = searches * share / shares..<searches * (share + 1) / shares
                    group.addTask {
                        var latencies = [Double]()
                        latencies.reserveCapacity(range.count)
                        var hits = 0
                        for search in range {
                            let q = search % queries.count
                            let begin = clock.now
                            let found = try index.search(queries[q], k: k, ef: ef)
                            latencies.append((clock.now - begin).seconds * 1e6)
                            hits += found.reduce(0) { $0 + (truth[q].contains($1.id) ? 1 : 0) }
                        }
                        return (hits, latencies)
                    }
                }
                return try await group.reduce(into: [(hits: Int, latencies: [Double])]()) { $0.append($1) }
            }
            let elapsed = (clock.now - start).seconds
            let hits = results.reduce(0) { $0 + $1.hits }
            let latencies = results.flatMap(\.latencies).sorted()
            report.search(ef: ef, recall: Double(hits) / Double(searches * k), qps: Double(searches) / elapsed,
                          p50: latencies[latencies.count / 2], p99: latencies[latencies.count * 99 / 100])
        }
    }

    /// Prints the table or the JSON lines.
    struct Report {
        let json: Bool

        func build(vectors: Int, dimension: Int, metric: Metric, m: Int, efConstruction: Int, threads: Int,
                   searchThreads: Int, seconds: Double, bytes: Int, simd: String) {
            let rate = Double(vectors) / seconds
            if json {
                print(#"{"bench":"build","vectors":\#(vectors),"dimension":\#(dimension),"metric":"\#(metric.rawValue)","m":\#(m),"ef_construction":\#(efConstruction),"threads":\#(threads),"search_threads":\#(searchThreads),"build_seconds":\#(format(seconds, 4)),"inserts_per_second":\#(format(rate, 1)),"bytes":\#(bytes),"simd":"\#(simd)"}"#)
            } else {
                print("mnemo ann-bench: \(vectors) x \(dimension) \(metric.rawValue), M \(m), ef_construction \(efConstruction), \(threads) build thread(s), \(searchThreads) search thread(s), kernels \(simd)")
                print("build: \(format(seconds, 2)) s, \(format(rate, 0)) inserts/s, \(bytes / 1024) KiB")
                print(pad("ef", 6) + pad("recall", 9) + pad("qps", 10) + pad("p50_us", 9) + pad("p99_us", 9))
            }
        }

        func search(ef: Int, recall: Double, qps: Double, p50: Double, p99: Double) {
            if json {
                print(#"{"bench":"search","ef":\#(ef),"recall":\#(format(recall, 4)),"qps":\#(format(qps, 1)),"p50_us":\#(format(p50, 2)),"p99_us":\#(format(p99, 2))}"#)
            } else {
                print(pad("\(ef)", 6) + pad(format(recall, 4), 9) + pad(format(qps, 0), 10)
                      + pad(format(p50, 1), 9) + pad(format(p99, 1), 9))
            }
        }

        private func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
        private func pad(_ text: String, _ width: Int) -> String {
            String(repeating: " ", count: max(0, width - text.count)) + text
        }
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
