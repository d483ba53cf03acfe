// WriteLoad: the benchmark's clients. Each write is a PUT of a fresh id (client number + its own
// counter) into a space chosen uniformly (or, while a hot share is set, the hot space with that
// probability), sent to a random node; PUT is an idempotent upsert, so a write whose answer was
// lost or refused for the moment (429, 503, a dropped connection) is simply sent again, never
// applied twice. What a space must hold at the end is what was acknowledged; writes that never
// got a final answer are indeterminate.
import Foundation
import MnemoPlacement
import Synchronization

/// The benchmark's writers and their ledger.
final class WriteLoad: Sendable {
    /// Counters of the writes sent so far.
    struct Counters: Sendable {
        var requests = 0
        var failed = 0
        var indeterminate = 0
        var retried = 0

        static func - (lhs: Counters, rhs: Counters) -> Counters {
            Counters(requests: lhs.requests - rhs.requests, failed: lhs.failed - rhs.failed,
                     indeterminate: lhs.indeterminate - rhs.indeterminate, retried: lhs.retried - rhs.retried)
        }
    }

    private struct Ledger {
        var counters = Counters()
        /// Memories each space must hold (seeded + acknowledged).
        var expected: [Int]
        /// Writes per space since the hot share was last set (the workload the planner sees).
        var recent: [Int]
        var recentSince = ContinuousClock.now
        var hotShare = 0.0
        var stopped = false
    }

    let names: [String]
    let dimension: Int
    private let ledger: Mutex<Ledger>
    /// Attempts per write before it counts as failed (or indeterminate).
    static let attempts = 8

    init(names: [String], dimension: Int) {
        self.names = names
        self.dimension = dimension
        ledger = Mutex(Ledger(expected: [Int](repeating: 0, count: names.count),
                              recent: [Int](repeating: 0, count: names.count)))
    }

    /// Creates every space through random nodes and seeds it with `memoriesPerSpace` memories.
    func createSpaces(on cluster: BenchCluster, memoriesPerSpace: Int, concurrency: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                let index = next
                next += 1
                group.addTask { try await self.create(index, on: cluster, memories: memoriesPerSpace) }
            }
            for _ in 0..<min(concurrency, names.count) { add() }
            while try await group.next() != nil {
                if next < names.count { add() }
            }
        }
    }

    private func create(_ index: Int, on cluster: BenchCluster, memories: Int) async throws {
        let name = names[index]
        try await send(.post, "/v1/spaces", try ServerClient.encodeJSON(CreateSpaceBody(name: name, dimension: dimension, metric: "l2")),
                       on: cluster)
        let items = (0..<memories).map { MemoryBody(id: "seed-\($0)", vectorBase64: ServerClient.base64(vector())) }
        try await send(.post, ServerClient.spacePath(name) + "/memories", try ServerClient.encodeJSON(BatchBody(memories: items)),
                       on: cluster)
        ledger.withLock { $0.expected[index] = memories }
    }

    /// One setup request, retried on 429/503 and dropped connections; anything else throws.
    private func send(_ method: ServerClient.HTTPMethodName, _ path: String, _ body: [UInt8],
                      on cluster: BenchCluster) async throws {
        var last = "no node"
        for attempt in 0..<Self.attempts {
            guard let node = cluster.randomNode() else { break }
            do {
                let reply = try await node.client.send(method.nio, path, body: body)
                if (200..<300).contains(reply.status) { return }
                last = ServerClient.failure(reply).description
                if reply.status != 429 && reply.status != 503 { break }
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(50 << attempt))
        }
        throw ClusterBenchError("\(method) \(path): \(last)")
    }

    /// Runs `clients` writers until ``stop()``.
    func write(on cluster: BenchCluster, clients: Int) async {
        await withTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask { await self.writer(client, on: cluster) }
            }
        }
    }

    private func writer(_ client: Int, on cluster: BenchCluster) async {
        var sequence = 0
        while !ledger.withLock({ $0.stopped }) && !Task.isCancelled {
            let hotShare = ledger.withLock { $0.hotShare }
            let index = Double.random(in: 0..<1) < hotShare ? 0 : Int.random(in: 0..<names.count)
            sequence += 1
            let path = ServerClient.spacePath(names[index]) + "/memories/c\(client)-\(sequence)"
            guard let body = try? ServerClient.encodeJSON(MemoryBody(vectorBase64: ServerClient.base64(vector()))) else { continue }
            var outcome = Outcome.indeterminate
            var unanswered = false
            var retries = 0
            for attempt in 0..<Self.attempts {
                guard let node = cluster.randomNode() else { break }
                do {
                    let reply = try await node.client.send(.PUT, path, body: body)
                    if (200..<300).contains(reply.status) {
                        outcome = .acknowledged
                        break
                    }
                    guard reply.status == 429 || reply.status == 503 || reply.status == 421 else {
                        outcome = .failed
                        break
                    }
                    outcome = .failed
                } catch {
                    unanswered = true
                    outcome = .indeterminate
                }
                retries += 1
                try? await Task.sleep(for: .milliseconds(20 << min(attempt, 5)))
            }
            // A write sent once without an answer may be applied: unless a later attempt was
            // acknowledged, it is indeterminate, not failed.
            if unanswered && outcome == .failed { outcome = .indeterminate }
            ledger.withLock { ledger in
                ledger.counters.requests += 1
                ledger.counters.retried += retries
                ledger.recent[index] += 1
                switch outcome {
                case .acknowledged: ledger.expected[index] += 1
                case .failed: ledger.counters.failed += 1
                case .indeterminate: ledger.counters.indeterminate += 1
                }
            }
        }
    }

    private enum Outcome { case acknowledged, failed, indeterminate }

    /// Stops the writers after their current write.
    func stop() { ledger.withLock { $0.stopped = true } }

    /// The counters so far.
    func counters() -> Counters { ledger.withLock { $0.counters } }

    /// Sends `share` of the writes to space 0 from now on, and restarts the workload window.
    func setHot(share: Double) {
        ledger.withLock { ledger in
            ledger.hotShare = share
            ledger.recent = [Int](repeating: 0, count: names.count)
            ledger.recentSince = .now
        }
    }

    /// The write rates per space (ops per second) since the hot share was last set, and the
    /// seconds they were counted over.
    func opsPerSecond() -> (rates: [SpaceID: Double], seconds: Double) {
        ledger.withLock { ledger in
            let seconds = max((ContinuousClock.now - ledger.recentSince).seconds, 1e-3)
            var rates: [SpaceID: Double] = [:]
            for (index, count) in ledger.recent.enumerated() where count > 0 {
                rates[SpaceID(name: names[index])] = Double(count) / seconds
            }
            return (rates, seconds)
        }
    }

    /// Acknowledged writes missing at the end: each space's count read back (through a random
    /// node) against what it must hold.
    func lostWrites(on cluster: BenchCluster) async throws -> Int {
        struct Info: Decodable { var count: Int }
        let expected = ledger.withLock { $0.expected }
        var lost = 0
        try await withThrowingTaskGroup(of: Int.self) { group in
            var next = 0
            func add() {
                let index = next
                next += 1
                group.addTask {
                    do {
                        let info = try await cluster.json(Info.self, .GET, ServerClient.spacePath(self.names[index]),
                                                          attempts: Self.attempts) { .milliseconds(50 << $0) }
                        return max(0, expected[index] - info.count)
                    } catch {
                        throw ClusterBenchError("reading \(self.names[index]) back: \(error)")
                    }
                }
            }
            for _ in 0..<min(16, names.count) { add() }
            while let missing = try await group.next() {
                lost += missing
                if next < names.count { add() }
            }
        }
        return lost
    }

    private func vector() -> [Float] { (0..<dimension).map { _ in Float.random(in: -1...1) } }
}
