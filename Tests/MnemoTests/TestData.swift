import Foundation
import Mnemo
import Testing

/// Locates the shared ANN datasets (`../shared/data` beside the repository, or `MNEMO_DATA`).
/// Tests that need them are skipped with a message when they are absent, except under
/// `CI=true`, where they must run (and fail loudly if the data is missing).
enum TestData {
    static let directory: String = {
        if let path = ProcessInfo.processInfo.environment["MNEMO_DATA"] { return path }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return repository.deletingLastPathComponent().appendingPathComponent("shared/data").path
    }()

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    static func path(_ file: String) -> String { directory + "/" + file }

    /// Whether the data-dependent tests should run.
    static var enabled: Bool {
        isCI || FileManager.default.fileExists(atPath: path("sift5k_base.fvecs"))
    }

    static let skipMessage: Comment = "ANN datasets not found at ../shared/data (set MNEMO_DATA); skipped"

    /// One benchmark set: base vectors, queries and exact ground truth.
    struct Dataset {
        let base: VectorFile<Float>
        let queries: VectorFile<Float>
        let truth: VectorFile<Int32>

        init(_ name: String) throws {
            base = try VectorFile<Float>(contentsOf: TestData.path("\(name)_base.fvecs"))
            queries = try VectorFile<Float>(contentsOf: TestData.path("\(name)_query.fvecs"))
            truth = try VectorFile<Int32>(contentsOf: TestData.path("\(name)_groundtruth.ivecs"))
        }

        /// Mean recall@k of `index` over all queries at beam `ef`.
        func recall(_ index: HNSWIndex, k: Int, ef: Int) throws -> Double {
            var hits = 0
            for q in 0..<queries.count {
                let found = Set<UInt64>(try index.search(Array(queries[q]), k: k, ef: ef).map(\.id))
                hits += truth[q].prefix(k).filter { found.contains(UInt64($0)) }.count
            }
            return Double(hits) / Double(queries.count * k)
        }
    }
}
