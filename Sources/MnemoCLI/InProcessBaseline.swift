// InProcessBaseline: the in-process half of `mnemo load-test --compare-in-process`: the same
// batch ingest (same rows, batch size and batches in flight) and the same searches (same
// queries, k, ef, concurrency, duration) against an in-memory database in this process, so
// the HTTP figures of the same run have their baseline next to them.
import Foundation
import Mnemo

/// Ingest and search rates without HTTP.
struct InProcessBaseline: Sendable {
    let data: LoadData
    let clients: Int
    let batch: Int
    let k: Int
    let ef: Int

    /// What it measured.
    struct Figures: Sendable {
        var ingestMemories: Int
        var ingestSeconds: Double
        var searches: LatencySamples
        var searchSeconds: Double
        var ingestRate: Double { Double(ingestMemories) / max(ingestSeconds, 1e-9) }
        var searchRate: Double { Double(searches.count) / max(searchSeconds, 1e-9) }
    }

    func run(seconds: Double, ingestRows: Int) async throws -> Figures {
        let database = try Database(options: DatabaseOptions())
        let space = try await database.createSpace("baseline", dimension: data.dimension, metric: .cosine)
        let rows = 0..<min(ingestRows, data.base.count)
        let batches = stride(from: rows.lowerBound, to: rows.upperBound, by: batch).map {
            $0..<min($0 + batch, rows.upperBound)
        }
        let data = self.data
        let clock = ContinuousClock()
        let ingestStart = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func submit() {
                guard next < batches.count else { return }
                let range = batches[next]
                next += 1
                group.addTask {
                    // The same work as the server's batch route: Memory values from the rows.
                    try await space.insert(contentsOf: range.map {
                        Memory(id: "m\($0)", vector: Array(data.base[$0]), text: "memory \($0)")
                    })
                }
            }
            for _ in 0..<max(1, clients) { submit() }
            while try await group.next() != nil { submit() }
        }
        let ingestSeconds = ProgressBar.seconds(clock.now - ingestStart)

        let queries = (0..<min(data.queries.count, 1000)).map { Array(data.queries[$0]) }
        let searchStart = clock.now
        let deadline = searchStart + .nanoseconds(Int64(seconds * 1e9))
        let (k, ef) = (self.k, self.ef)
        let samples = try await withThrowingTaskGroup(of: LatencySamples.self) { group in
            for c in 0..<clients {
                group.addTask {
                    var random = LoadRandom(state: UInt64(c) &* 0x1234_5678_9ABC + 1)
                    var samples = LatencySamples()
                    while clock.now < deadline {
                        let query = queries[Int(random.next() % UInt64(queries.count))]
                        let sent = clock.now
                        _ = try await space.search(query, k: k, ef: ef)
                        samples.record(clock.now - sent)
                    }
                    return samples
                }
            }
            var all = LatencySamples()
            for try await part in group { all.merge(part) }
            return all
        }
        let searchSeconds = ProgressBar.seconds(clock.now - searchStart)
        await database.close()
        return Figures(ingestMemories: rows.count, ingestSeconds: ingestSeconds, searches: samples,
                       searchSeconds: searchSeconds)
    }
}
