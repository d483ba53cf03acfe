import ArgumentParser
import Foundation
import Mnemo

/// `mnemo demo`: the main job, end to end on an embedded database.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Load real sentence embeddings into memory spaces, search, recall, reopen.",
        discussion: """
            Loads wordnet384 (30,000 WordNet glosses embedded with all-MiniLM-L6-v2, cosine) into \
            one space and, split by a hash of the id, into 100 small spaces; measures recall@10 \
            against the exact ground truth and QPS; shows queries as text; links memories and \
            recalls by spreading activation; checkpoints, closes, reopens and checks every memory is back. \
            Without the dataset it generates clustered vectors instead and says so.
            """
    )

    @Option(help: "Directory of the benchmark datasets.") var data = "../shared/data"
    @Option(help: "Data directory of the embedded database (replaced).") var path = "./mnemo-data"
    @Option(help: "Small spaces to split the memories into.") var spaces = 100
    @Option(help: "Search beam for the demo queries.") var ef = 64

    func run() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        let corpus = try Corpus.load(directory: data)
        print(corpus.summary)

        try? FileManager.default.removeItem(atPath: path)
        var database = try await Database(path: path)
        let workerCount = await database.stats().workers.count
        print("database: \(path) (durability \(database.options.durability), \(workerCount) shard workers)")

        // 1. One space with everything, and 100 small spaces split by a hash of the id.
        let whole = try await database.createSpace("wordnet", dimension: corpus.dimension, metric: .cosine)
        let small = try await (0..<spaces).asyncMap { i in
            try await database.createSpace(String(format: "wordnet-%02d", i), dimension: corpus.dimension,
                                           metric: .cosine)
        }
        let memories = corpus.memories
        var progress = Progress(title: "loading", total: memories.count * 2)
        let loadStart = clock.now
        for first in stride(from: 0, to: memories.count, by: 500) {
            let batch = Array(memories[first..<min(first + 500, memories.count)])
            try await whole.insert(contentsOf: batch)
            progress.advance(by: batch.count)
        }
        let shards = Dictionary(grouping: memories.indices) { Self.shard(of: $0, spaces: spaces) }
        for (shard, rows) in shards.sorted(by: { $0.key < $1.key }) {
            try await small[shard].insert(contentsOf: rows.map { memories[$0] })
            progress.advance(by: rows.count)
        }
        progress.finish()
        let loadSeconds = (clock.now - loadStart).seconds
        print("loaded \(memories.count) memories twice (1 space + \(spaces) spaces) in \(format(loadSeconds, 1)) s: \(format(Double(memories.count * 2) / loadSeconds, 0)) inserts/s")

        // 2. The queries on the whole space: recall@10 against the exact ground truth, and QPS.
        var hits = 0
        let queryStart = clock.now
        var firstResults: [[SearchHit]] = []
        for (q, query) in corpus.queries.enumerated() {
            let found = try await whole.search(query, k: 10, ef: ef)
            if q < 3 { firstResults.append(found) }
            let truth = Set(corpus.truth[q].prefix(10))
            hits += found.filter { truth.contains($0.id) }.count
        }
        let querySeconds = (clock.now - queryStart).seconds
        print("whole space: \(corpus.queries.count) queries, recall@10 \(format(Double(hits) / Double(corpus.queries.count * 10), 4)) at ef \(ef), \(format(Double(corpus.queries.count) / querySeconds, 0)) QPS (one query at a time)")

        // 3. Every query against all small spaces at once, merged: the same answer, in parallel.
        let fanStart = clock.now
        var mergedHits = 0
        for (q, query) in corpus.queries.enumerated() {
            let merged = try await withThrowingTaskGroup(of: [SearchHit].self) { group in
                for space in small { group.addTask { try await space.search(query, k: 10, ef: ef) } }
                var all: [SearchHit] = []
                for try await found in group { all += found }
                return all.sorted { $0.distance < $1.distance }.prefix(10)
            }
            let truth = Set(corpus.truth[q].prefix(10))
            mergedHits += merged.filter { truth.contains($0.id) }.count
        }
        let fanSeconds = (clock.now - fanStart).seconds
        let searches = corpus.queries.count * spaces
        print("\(spaces) spaces in parallel: \(searches) searches in \(format(fanSeconds, 1)) s, \(format(Double(searches) / fanSeconds, 0)) searches/s; merged recall@10 \(format(Double(mergedHits) / Double(corpus.queries.count * 10), 4))")

        // 4. A few queries as text.
        for (q, found) in firstResults.enumerated() {
            print("\nquery: \(corpus.queryTexts[q])")
            for hit in found.prefix(3) {
                print("  \(format(1 - Double(hit.distance), 3))  \(hit.text ?? "?")")
            }
        }

        // 5. Associations and recall by spreading activation.
        try await Self.associate(corpus: corpus, in: whole, cueText: corpus.queryTexts[0], cue: corpus.queries[0])

        // 6. Checkpoint, close, reopen, and prove every memory is back.
        let counts = small.map { $0.stats().count } + [whole.stats().count]
        let checkpointStart = clock.now
        try await database.checkpoint()
        print("\ncheckpoint: every changed space of the \(spaces + 1) written into one pack file, log cut, in \(format((clock.now - checkpointStart).seconds, 2)) s")
        await database.close()
        let reopenStart = clock.now
        database = try await Database(path: path)
        let reopenSeconds = (clock.now - reopenStart).seconds
        let reopened = try await database.space("wordnet")
        var back = 0
        for memory in memories {
            if let stored = try await reopened.get(memory.id), stored.content == memory.content { back += 1 }
        }
        let reopenedCounts = try await (0..<spaces).asyncMap { try await database.space(String(format: "wordnet-%02d", $0)).stats().count }
            + [reopened.stats().count]
        print("reopened in \(format(reopenSeconds, 2)) s (spaces load lazily from their checkpoints): \(back) of \(memories.count) memories back with identical content; space counts \(reopenedCounts == counts ? "identical" : "DIFFERENT") (\(reopenedCounts.reduce(0, +)) memories in \(spaces + 1) spaces)")
        await database.close()
        print("demo finished in \(format((clock.now - started).seconds, 1)) s")
        if back != memories.count || reopenedCounts != counts { throw ExitCode.failure }
    }

    /// Links the cue's nearest memories to their own neighbours and prints a recall.
    static func associate(corpus: Corpus, in space: Space, cueText: String, cue: [Float]) async throws {
        let seeds = try await space.search(cue, k: 3, ef: 64)
        var links = 0
        for seed in seeds {
            guard let memory = try await space.get(seed.id) else { continue }
            for neighbour in try await space.search(memory.vector, k: 4, ef: 64) where neighbour.id != seed.id {
                _ = try await space.link(seed.id, to: neighbour.id, weight: 0.9)
                links += 1
            }
        }
        let recalled = try await space.recall(cue: cue, seeds: 3, hops: 2, decay: 0.8, threshold: 0.2, limit: 8)
        print("\nrecall by spreading activation (\(links) links; cue: \(cueText)):")
        for memory in recalled {
            print("  \(format(Double(memory.activation), 3))  hop \(memory.hops)  \(memory.text ?? "?")")
        }
    }

    /// The small space a memory row belongs to: a hash of its id, not its position.
    static func shard(of row: Int, spaces: Int) -> Int {
        var x = UInt64(row) &+ 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((x ^ (x >> 31)) % UInt64(spaces))
    }
}

/// The demo's data: wordnet384 from the shared datasets, or generated clustered vectors.
struct Corpus {
    let dimension: Int
    let memories: [Memory]
    let queries: [[Float]]
    let queryTexts: [String]
    /// For each query, the ids of its exact nearest memories, nearest first.
    let truth: [[String]]
    let summary: String

    static func load(directory: String) throws -> Corpus {
        let base = directory + "/wordnet384_base.fvecs"
        guard FileManager.default.fileExists(atPath: base) else { return generated(missing: base) }
        let vectors = try VectorFile<Float>(contentsOf: base)
        let queries = try VectorFile<Float>(contentsOf: directory + "/wordnet384_query.fvecs")
        let truth = try VectorFile<Int32>(contentsOf: directory + "/wordnet384_groundtruth.ivecs")
        let texts = try glosses(directory + "/wordnet384_base_texts.tsv")
        let queryTexts = try glosses(directory + "/wordnet384_query_texts.tsv")
        let memories = (0..<vectors.count).map { row in
            Memory(id: "wn-\(row)", vector: Array(vectors[row]), text: texts[row] ?? "")
        }
        return Corpus(dimension: vectors.dimension, memories: memories,
                      queries: (0..<queries.count).map { Array(queries[$0]) },
                      queryTexts: (0..<queries.count).map { queryTexts[$0] ?? "" },
                      truth: (0..<truth.count).map { truth[$0].map { "wn-\($0)" } },
                      summary: "data: wordnet384 from \(directory): \(vectors.count) WordNet glosses as 384-d sentence embeddings (all-MiniLM-L6-v2), \(queries.count) queries with exact ground truth")
    }

    /// Row number → gloss text, from `row<TAB>synset<TAB>text` lines.
    static func glosses(_ path: String) throws -> [Int: String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var result: [Int: String] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t", maxSplits: 2)
            if fields.count == 3, let row = Int(fields[0]) { result[row] = String(fields[2]) }
        }
        return result
    }

    /// 20,000 clustered 64-d vectors with exact ground truth, when the dataset is absent.
    static func generated(missing: String) -> Corpus {
        let dimension = 64, count = 20_000, queryCount = 200, clusters = 50
        var state: UInt64 = 42
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float((state >> 40) & 0xFFFF) / 65536 - 0.5
        }
        let centers = (0..<clusters).map { _ in (0..<dimension).map { _ in next() * 4 } }
        func sample(_ cluster: Int) -> [Float] { centers[cluster].map { $0 + next() } }
        let vectors = (0..<count).map { sample($0 % clusters) }
        let queries = (0..<queryCount).map { sample(($0 * 7) % clusters) }
        func cosine(_ a: [Float], _ b: [Float]) -> Float {
            var dot: Float = 0, na: Float = 0, nb: Float = 0
            for i in 0..<a.count { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i] }
            return 1 - dot / (na * nb).squareRoot()
        }
        let truth = queries.map { query in
            vectors.indices.map { ($0, cosine(query, vectors[$0])) }.sorted { $0.1 < $1.1 }.prefix(10).map { "gen-\($0.0)" }
        }
        return Corpus(dimension: dimension,
                      memories: vectors.enumerated().map { Memory(id: "gen-\($0)", vector: $1, text: "generated memory \($0) of cluster \($0 % clusters)") },
                      queries: queries,
                      queryTexts: (0..<queryCount).map { "generated query \($0) near cluster \(($0 * 7) % clusters)" },
                      truth: truth,
                      summary: "data: \(missing) not found, so this run uses GENERATED data: \(count) clustered \(dimension)-d vectors, \(queryCount) queries, exact ground truth by brute force")
    }
}

/// A one-line progress bar on the terminal.
struct Progress {
    let title: String
    let total: Int
    private var done = 0
    private var shown = -1

    init(title: String, total: Int) {
        self.title = title
        self.total = total
    }

    mutating func advance(by count: Int) {
        done += count
        let percent = total == 0 ? 100 : done * 100 / total
        guard percent != shown else { return }
        shown = percent
        let filled = percent * 30 / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
        FileHandle.standardError.write(Data("\r\(title) [\(bar)] \(percent)% (\(done)/\(total))".utf8))
    }

    func finish() {
        FileHandle.standardError.write(Data("\n".utf8))
    }
}

extension Sequence {
    /// Maps with an async transform, in order.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

/// A number with a fixed count of decimals.
func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
