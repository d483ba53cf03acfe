// LoadRunner: the measured phase of a load test: `clients` tasks, each sending one request at a
// time over the shared keep-alive pool until the deadline or the shared request budget runs
// out, recording each request's latency (or its error status) under its kind.
import Foundation
import Synchronization

/// Runs the request mix against a server.
struct LoadRunner: Sendable {
    let client: ServerClient
    let space: String
    let data: LoadData
    let mix: LoadMix
    let k: Int
    let ef: Int
    /// Ids an upsert replaces, per client (so upserts replace rather than grow the space).
    static let upsertIdsPerClient = 1000

    /// The outcome of a run.
    struct Outcome: Sendable {
        var seconds: Double
        var kinds: [String: LatencySamples]
        var requests: Int { kinds.values.reduce(0) { $0 + $1.count + $1.errors.values.reduce(0, +) } }
    }

    func run(clients: Int, duration: Double?, requests: Int?) async throws -> Outcome {
        let budget = RequestBudget(requests ?? Int.max)
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = duration.map { start + .nanoseconds(Int64($0 * 1e9)) }
        let path = ServerClient.spacePath(space)
        // Search bodies are made once per query row (the same for every client).
        let searchBodies = try (0..<min(data.queries.count, 1000)).map { row in
            try ServerClient.encodeJSON(SearchBody(vectorBase64: ServerClient.base64(data.queries[row]),
                                                   k: k, ef: ef, include: ["content"]))
        }
        let kinds = try await withThrowingTaskGroup(of: [String: LatencySamples].self) { group in
            for c in 0..<clients {
                group.addTask {
                    var random = LoadRandom(state: UInt64(c) &* 0x1234_5678_9ABC + 1)
                    var samples: [String: LatencySamples] = [:]
                    var sequence = 0
                    while true {
                        if let deadline, clock.now >= deadline { break }
                        if !budget.take() { break }
                        let kind = mix.pick(random.next())
                        let method: ServerClient.HTTPMethodName
                        let target: String
                        let body: [UInt8]
                        switch kind {
                        case .search:
                            method = .post
                            target = path + "/search"
                            body = searchBodies[Int(random.next() % UInt64(searchBodies.count))]
                        case .upsert:
                            let row = Int(random.next() % UInt64(data.base.count))
                            method = .put
                            target = path + "/memories/lt-\(c)-\(sequence % Self.upsertIdsPerClient)"
                            body = try ServerClient.encodeJSON(MemoryBody(
                                id: nil, vectorBase64: ServerClient.base64(data.base[row]), text: "load test \(row)"))
                            sequence += 1
                        }
                        let sent = clock.now
                        do {
                            let reply = try await client.send(method.nio, target, body: body)
                            if (200..<300).contains(reply.status) {
                                samples[kind.rawValue, default: LatencySamples()].record(clock.now - sent)
                            } else {
                                samples[kind.rawValue, default: LatencySamples()].errors[reply.status, default: 0] += 1
                            }
                        } catch {
                            samples[kind.rawValue, default: LatencySamples()].errors[0, default: 0] += 1
                        }
                    }
                    return samples
                }
            }
            var all: [String: LatencySamples] = [:]
            for try await part in group {
                for (kind, samples) in part { all[kind, default: LatencySamples()].merge(samples) }
            }
            return all
        }
        return Outcome(seconds: ProgressBar.seconds(clock.now - start), kinds: kinds)
    }
}

/// The requests a run may still send, shared by its clients.
final class RequestBudget: Sendable {
    private let remaining: Atomic<Int>

    init(_ total: Int) {
        remaining = Atomic(total)
    }

    /// Takes one request; false once the budget is spent.
    func take() -> Bool {
        remaining.subtract(1, ordering: .relaxed).newValue >= 0
    }
}
