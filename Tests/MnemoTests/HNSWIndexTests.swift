// Proves the Swift HNSWIndex over the C core: exact answers on small data, every bad input
// mapped to its typed error with the index unchanged, all-or-nothing batches naming the
// offender, removal, and a byte-exact save/load round trip that rejects damaged streams.
import Mnemo
import Testing

@Suite struct HNSWIndexTests {
    /// A deterministic set of clustered vectors.
    static func vectors(_ count: Int, dimension: Int, seed: UInt64) -> [[Float]] {
        var state = seed
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float((state >> 40) & 0xFFFF) / 65536 - 0.5
        }
        let centers = (0..<8).map { _ in (0..<dimension).map { _ in next() * 4 } }
        return (0..<count).map { i in centers[i % 8].map { $0 + next() } }
    }

    /// The metric's distance, computed in Swift as the oracle.
    static func distance(_ a: [Float], _ b: [Float], _ metric: Metric) -> Float {
        let dot = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        switch metric {
        case .l2: return zip(a, b).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        case .innerProduct: return 1 - dot
        case .cosine:
            let norms = (a.reduce(0) { $0 + $1 * $1 } * b.reduce(0) { $0 + $1 * $1 }).squareRoot()
            return 1 - dot / norms
        }
    }

    @Test(arguments: Metric.allCases)
    func agreesWithBruteForce(metric: Metric) throws {
        let data = Self.vectors(500, dimension: 12, seed: 7)
        let index = try HNSWIndex(dimension: 12, metric: metric)
        try index.insert(ids: (0..<500).map(UInt64.init), vectors: data.flatMap { $0 }, threads: 2)
        #expect(index.count == 500)
        var agreed = 0
        for query in Self.vectors(100, dimension: 12, seed: 99) {
            let hits = try index.search(query, k: 5, ef: 64)
            #expect(hits.count == 5)
            #expect(zip(hits, hits.dropFirst()).allSatisfy { $0.distance <= $1.distance })
            let exact = data.indices.min { Self.distance(query, data[$0], metric) < Self.distance(query, data[$1], metric) }
            if let first = hits.first, first.id == UInt64(exact ?? -1) {
                agreed += 1
                #expect(abs(first.distance - Self.distance(query, data[Int(first.id)], metric)) < 1e-4)
            }
        }
        // Inner product on raw vectors is not a metric: graph search is weaker there (hnswlib too).
        #expect(agreed >= (metric == .innerProduct ? 90 : 98), "top-1 agreed with brute force on \(agreed) of 100 queries")
    }

    @Test func badInputIsRejectedAndChangesNothing() throws {
        let index = try HNSWIndex(dimension: 3, metric: .cosine)
        try index.insert(id: 1, vector: [1, 2, 3])
        #expect(throws: MnemoError.self) { try index.insert(id: 1, vector: [1, 2, 3]) }
        let cases: [([Float], MnemoError.Code)] = [
            ([1, .nan, 3], .nonFinite), ([1, .infinity, 3], .nonFinite),
            ([0, 0, 0], .zeroVector), ([1, 2], .wrongDimension), ([1, 2, 3, 4], .wrongDimension),
        ]
        for (vector, code) in cases {
            do {
                try index.insert(id: 2, vector: vector)
                Issue.record("accepted \(vector)")
            } catch {
                #expect(error.code == code)
            }
        }
        do { try index.insert(id: 1, vector: [3, 2, 1]) } catch { #expect(error.code == .duplicateID) }
        do { _ = try index.search([1, 2, 3], k: 0) } catch { #expect(error.code == .invalidArgument) }
        do { try index.remove(id: 99) } catch { #expect(error.code == .notFound) }
        do { _ = try index.vector(for: 99) } catch { #expect(error.code == .notFound) }
        #expect(throws: MnemoError.self) { _ = try HNSWIndex(dimension: 0, metric: .l2) }
        #expect(throws: MnemoError.self) { _ = try HNSWIndex(dimension: 4097, metric: .l2) }
        #expect(throws: MnemoError.self) {
            _ = try HNSWIndex(dimension: 4, metric: .l2, parameters: .init(m: 1))
        }
        #expect(index.count == 1)
        #expect(index.contains(1) && !index.contains(2))
    }

    @Test func batchesAreAllOrNothing() throws {
        let index = try HNSWIndex(dimension: 2, metric: .l2)
        try index.insert(id: 5, vector: [5, 5])
        var vectors: [Float] = [0, 0, 1, 1, 2, 2, 3, 3]
        vectors[5] = .nan
        do {
            try index.insert(ids: [1, 2, 3, 4], vectors: vectors)
            Issue.record("NaN batch accepted")
        } catch {
            #expect(error.code == .nonFinite)
            #expect(error.offendingIndex == 2)
        }
        vectors[5] = 2
        do {
            try index.insert(ids: [1, 2, 5, 4], vectors: vectors)
            Issue.record("duplicate batch accepted")
        } catch {
            #expect(error.code == .duplicateID)
            #expect(error.offendingIndex == 2)
        }
        do { try index.insert(ids: [1, 2, 3], vectors: vectors) } catch { #expect(error.code == .wrongDimension) }
        #expect(index.count == 1)
        try index.insert(ids: [1, 2, 3, 4], vectors: vectors)
        #expect(index.count == 5)
        #expect(try index.vector(for: 3) == [2, 2])
    }

    @Test func removedVectorsNeverComeBack() throws {
        let data = Self.vectors(400, dimension: 8, seed: 3)
        let index = try HNSWIndex(dimension: 8, metric: .l2)
        try index.insert(ids: (0..<400).map(UInt64.init), vectors: data.flatMap { $0 })
        for id in stride(from: 0, to: 400, by: 3) { try index.remove(id: UInt64(id)) }
        for vector in data {
            let hits = try index.search(vector, k: 10, ef: 50)
            #expect(hits.allSatisfy { $0.id % 3 != 0 })
        }
        #expect(index.count == 400 - 134)
        #expect(!index.contains(0))
        #expect(try !index.neighbors(of: 1).contains { $0 % 3 == 0 })
    }

    @Test func serializedIndexAnswersIdentically() throws {
        let data = Self.vectors(600, dimension: 16, seed: 11)
        let index = try HNSWIndex(dimension: 16, metric: .cosine, parameters: .init(m: 8, efConstruction: 100))
        try index.insert(ids: (0..<600).map { UInt64($0) * 7 }, vectors: data.flatMap { $0 })
        try index.remove(id: 14)
        let bytes = try index.serialized()
        let copy = try HNSWIndex(serialized: bytes)
        #expect(copy.dimension == 16 && copy.metric == .cosine && copy.parameters == index.parameters)
        #expect(copy.count == index.count)
        for vector in data.prefix(100) {
            #expect(try copy.search(vector, k: 10, ef: 30) == index.search(vector, k: 10, ef: 30))
        }
        for cut in [0, 10, 56, bytes.count / 2, bytes.count - 1] {
            #expect(throws: MnemoError.self) { _ = try HNSWIndex(serialized: Array(bytes.prefix(cut))) }
        }
        var damaged = bytes
        damaged[bytes.count / 3] ^= 0xFF
        do {
            _ = try HNSWIndex(serialized: damaged)
            Issue.record("corrupt stream accepted")
        } catch {
            #expect(error.code == .corrupt)
        }
    }
}
