// SetWorkload: the fault scenarios' clients, a Jepsen-style set workload. Each client inserts
// distinct memories (ids `f<client>-<n>`, never reused) into spaces chosen at random, through
// random live nodes. A write answered 2xx is acknowledged and must be present at the end; a
// write refused for the moment (429, 503, 421) or unanswered (a dropped connection, a timeout)
// is sent again, to another node, up to `attempts` times: the PUT of one id with one body is an
// idempotent upsert, so a retry cannot apply it twice. A write that never got a final answer is
// indeterminate (it may or may not be there), never counted as acknowledged or lost. After the
// faults have healed, every space's ids are read back in full and each acknowledged id that is
// missing is a lost write.
import Foundation
import MnemoPlacement
import Synchronization

/// The set workload's writers and their ledger.
final class SetWorkload: Sendable {
    /// One acknowledgement: which space, the version its owner served it under, and when the
    /// acknowledged attempt was sent.
    struct Ack: Sendable {
        let space: Int
        let version: UInt64?
        let sent: ContinuousClock.Instant
    }

    private struct Ledger {
        var acknowledged: [Set<String>]
        var counters = WriteLoad.Counters()
        var stopped = false
        /// Acknowledgements recorded while `recording` (a pause scenario checks their versions).
        var recording = false
        var acks: [Ack] = []
    }

    let names: [String]
    let dimension: Int
    private let ledger: Mutex<Ledger>
    /// Attempts per write (the pauses between them grow to 2 s: ~15 s in all, past a failover).
    static let attempts = 10

    init(names: [String], dimension: Int, seeded: Int) {
        self.names = names
        self.dimension = dimension
        let seeds = Set((0..<seeded).map { "seed-\($0)" })
        ledger = Mutex(Ledger(acknowledged: [Set<String>](repeating: seeds, count: names.count)))
    }

    /// Runs `clients` writers until ``stop()``.
    func write(on cluster: BenchCluster, clients: Int) async {
        await withTaskGroup(of: Void.self) { group in
            for client in 0..<clients { group.addTask { await self.writer(client, on: cluster) } }
        }
    }

    /// Stops the writers after their current write.
    func stop() { ledger.withLock { $0.stopped = true } }

    /// The counters so far.
    func counters() -> WriteLoad.Counters { ledger.withLock { $0.counters } }

    /// Starts (or stops) recording acknowledgements; returns those recorded since the last start.
    @discardableResult
    func record(_ on: Bool) -> [Ack] {
        ledger.withLock { ledger in
            defer { ledger.acks = [] }
            ledger.recording = on
            return ledger.acks
        }
    }

    /// Acknowledged writes in all.
    var acknowledgedCount: Int { ledger.withLock { $0.acknowledged.reduce(0) { $0 + $1.count } } }

    private func writer(_ client: Int, on cluster: BenchCluster) async {
        var sequence = 0
        while !ledger.withLock({ $0.stopped }) && !Task.isCancelled {
            let index = Int.random(in: 0..<names.count)
            sequence += 1
            let id = "f\(client)-\(sequence)"
            let path = ServerClient.spacePath(names[index]) + "/memories/" + id
            let vector = (0..<dimension).map { _ in Float.random(in: -1...1) }
            guard let body = try? ServerClient.encodeJSON(MemoryBody(vectorBase64: ServerClient.base64(vector))) else {
                continue
            }
            var acknowledged: (reply: ServerClient.Reply, sent: ContinuousClock.Instant)?
            var failed = false, unanswered = false
            var retries = 0
            for attempt in 0..<Self.attempts {
                guard let node = cluster.randomNode() else { break }
                do {
                    let sent = ContinuousClock.now
                    let reply = try await node.client.send(.PUT, path, body: body)
                    if (200..<300).contains(reply.status) {
                        acknowledged = (reply, sent)
                        break
                    }
                    if ![421, 429, 503].contains(reply.status) {
                        failed = true
                        break
                    }
                } catch {
                    unanswered = true
                }
                retries += 1
                try? await Task.sleep(for: .milliseconds(min(2000, 25 << attempt)))
            }
            ledger.withLock { ledger in
                ledger.counters.requests += 1
                ledger.counters.retried += retries
                if let acknowledged {
                    ledger.acknowledged[index].insert(id)
                    if ledger.recording {
                        ledger.acks.append(Ack(space: index, version: acknowledged.reply.assignmentVersion,
                                               sent: acknowledged.sent))
                    }
                } else if failed && !unanswered {
                    ledger.counters.failed += 1
                } else {
                    ledger.counters.indeterminate += 1
                }
            }
        }
    }

    /// Acknowledged ids missing now: every space's ids read back in full through random nodes.
    func lostWrites(on cluster: BenchCluster) async throws -> Int {
        struct Page: Decodable {
            struct Item: Decodable { var id: String }
            var memories: [Item]
            var nextCursor: String?
        }
        struct ListBody: Encodable {
            var limit: Int
            var include: [String]
            var cursor: String?
        }
        let expected = ledger.withLock { $0.acknowledged }
        var lost = 0
        try await withThrowingTaskGroup(of: Int.self) { group in
            var next = 0
            func add() {
                let index = next
                next += 1
                group.addTask {
                    var present = Set<String>()
                    var cursor: String?
                    repeat {
                        let body = try ServerClient.encodeJSON(ListBody(limit: 10_000, include: [], cursor: cursor))
                        let page: Page
                        do {
                            page = try await cluster.json(Page.self, .POST, ServerClient.spacePath(self.names[index]) + "/list",
                                                          body: body, attempts: Self.attempts) { .milliseconds(min(2000, 50 << $0)) }
                        } catch {
                            throw ClusterBenchError("reading \(self.names[index]) back: \(error)")
                        }
                        present.formUnion(page.memories.map(\.id))
                        cursor = page.nextCursor
                    } while cursor != nil
                    let missing = expected[index].subtracting(present)
                    if !missing.isEmpty {
                        FileHandle.standardError.write(Data(
                            "cluster bench: lost from \(self.names[index]): \(missing.sorted().prefix(5).joined(separator: ", "))\n".utf8))
                    }
                    return missing.count
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
}
