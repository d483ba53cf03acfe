// Proves the quality bars of the HNSW index on real data (../shared/data, exact ground truth),
// with M = 16 and ef_construction = 200, built by 2 threads inserting concurrently:
// sift5k recall@10 >= 0.95 at ef 160; wordnet384 >= 0.97 at ef 40 and >= 0.99 at ef 160; and
// the same bars after removing and reinserting 10% of the vectors, and after save/load.
import Mnemo
import Testing

@Suite(.serialized, .enabled(if: TestData.enabled, TestData.skipMessage))
struct RecallTests {
    static func build(_ set: TestData.Dataset, metric: Metric) throws -> HNSWIndex {
        let index = try HNSWIndex(dimension: set.base.dimension, metric: metric)
        try index.insert(ids: (0..<set.base.count).map(UInt64.init), vectors: set.base.values, threads: 2)
        return index
    }

    /// Removes every tenth vector and inserts it again.
    static func churn(_ index: HNSWIndex, _ set: TestData.Dataset) throws {
        let ids = stride(from: 0, to: set.base.count, by: 10).map(UInt64.init)
        for id in ids { try index.remove(id: id) }
        for id in ids { try index.insert(id: id, vector: Array(set.base[Int(id)])) }
        #expect(index.count == set.base.count)
    }

    static func expectBars(_ index: HNSWIndex, _ set: TestData.Dataset, _ bars: [(ef: Int, recall: Double)],
                           stage: String) throws {
        for bar in bars {
            let recall = try set.recall(index, k: 10, ef: bar.ef)
            #expect(recall >= bar.recall, "\(stage): recall@10 \(recall) at ef \(bar.ef), bar \(bar.recall)")
        }
    }

    @Test func sift5k() throws {
        let set = try TestData.Dataset("sift5k")
        let index = try Self.build(set, metric: .l2)
        let bars = [(ef: 160, recall: 0.95)]
        try Self.expectBars(index, set, bars, stage: "built")
        try Self.expectBars(HNSWIndex(serialized: index.serialized()), set, bars, stage: "loaded")
        try Self.churn(index, set)
        try Self.expectBars(index, set, bars, stage: "after churn")
    }

    @Test func wordnet384() throws {
        let set = try TestData.Dataset("wordnet384")
        let index = try Self.build(set, metric: .cosine)
        let bars = [(ef: 40, recall: 0.97), (ef: 160, recall: 0.99)]
        try Self.expectBars(index, set, bars, stage: "built")
        try Self.expectBars(HNSWIndex(serialized: index.serialized()), set, bars, stage: "loaded")
        try Self.churn(index, set)
        try Self.expectBars(index, set, bars, stage: "after churn")
    }
}
