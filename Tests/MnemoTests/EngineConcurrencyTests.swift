// Proves the engine under concurrent Swift tasks: 8 tasks writing into each of 12 spaces at
// once (inserts, upserts of a shared id, deletes) lose no write and apply none twice (the
// per-worker operation counters add up to exactly the writes submitted, every id is present or
// absent as its own task's sequence dictates), concurrent searches see only whole memories,
// small mailboxes apply back-pressure without dropping anything, and a database configured not
// to wait reports a full mailbox with the typed `.full` error. The workers' grouping counters
// stay within what was written.
import Mnemo
import Testing

@Suite struct EngineConcurrencyTests {
    @Test func concurrentProducersLoseNothing() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2, mailboxDepth: 8))
        let spaceCount = 12, producers = 8, perProducer = 20
        var spaces: [Space] = []
        for s in 0..<spaceCount {
            spaces.append(try await database.createSpace("space-\(s)", dimension: 8, metric: .l2))
        }
        let vectors = EngineVectors.make(producers * perProducer, dimension: 8, seed: 9)
        let before = await database.stats().totalOperations
        let writes = try await withThrowingTaskGroup(of: Int.self) { group in
            for space in spaces {
                for p in 0..<producers {
                    group.addTask {
                        var count = 0
                        for i in 0..<perProducer {
                            let id = "p\(p)-\(i)"
                            try await space.insert(Memory(id: id, vector: vectors[p * perProducer + i], text: id))
                            count += 1
                            try await space.upsert(Memory(id: "shared", vector: vectors[i], text: "from \(p)"))
                            count += 1
                            if i % 5 == 4 {
                                // Deleting the id inserted just before must find it: order.
                                let existed = try await space.delete("p\(p)-\(i - 1)")
                                #expect(existed)
                                count += 1
                            }
                        }
                        return count
                    }
                }
                group.addTask {
                    // A reader racing the writers: every hit is a whole memory.
                    for round in 0..<40 {
                        for hit in try await space.search(vectors[round], k: 5) {
                            #expect(hit.text == hit.id || hit.id == "shared")
                        }
                    }
                    return 0
                }
            }
            return try await group.reduce(0, +)
        }
        let stats = await database.stats()
        #expect(stats.totalOperations - before == writes)
        #expect(stats.workers.count == 2)
        // Eight producers a space keep its mailbox busy: single writes queue behind each other
        // and are applied in groups. Only the upserts of "shared" can supersede one another.
        let grouped = stats.workers.reduce(0) { $0 + $1.grouped }
        let coalesced = stats.workers.reduce(0) { $0 + $1.coalesced }
        let sharedUpserts = spaceCount * producers * perProducer
        #expect(grouped > 0 && grouped <= 2 * sharedUpserts)
        #expect(coalesced <= min(grouped, sharedUpserts))
        for space in spaces {
            let spaceStats = space.stats()
            #expect(spaceStats.count == producers * (perProducer - perProducer / 5) + 1)
            #expect(spaceStats.queueDepth == 0)
            for p in 0..<producers {
                for i in 0..<perProducer {
                    let present = try await space.get("p\(p)-\(i)") != nil
                    #expect(present == (i % 5 != 3))
                }
            }
            let shared = try #require(try await space.get("shared"))
            #expect(shared.text?.hasPrefix("from ") == true)
        }
    }

    @Test func fullMailboxThrowsWhenNotWaiting() async throws {
        let database = try Database(options: DatabaseOptions(workers: 1, mailboxDepth: 2, waitWhenFull: false))
        let space = try await database.createSpace("narrow", dimension: 32, metric: .l2)
        let vectors = EngineVectors.make(400, dimension: 32, seed: 4)
        // Many concurrent single inserts into a 2-entry mailbox: some must be refused with
        // `.full`; every accepted one is applied and nothing else is.
        let outcomes = await withTaskGroup(of: Bool?.self) { group in
            for i in 0..<400 {
                group.addTask {
                    do {
                        try await space.insert(Memory(id: "m\(i)", vector: vectors[i]))
                        return true
                    } catch {
                        return (error as? MnemoError)?.code == .full ? false : nil
                    }
                }
            }
            var accepted = 0, full = 0, other = 0
            for await outcome in group {
                switch outcome {
                case true?: accepted += 1
                case false?: full += 1
                case nil: other += 1
                }
            }
            return (accepted, full, other)
        }
        #expect(outcomes.2 == 0)
        #expect(outcomes.0 + outcomes.1 == 400)
        #expect(space.stats().count == outcomes.0)
        if outcomes.1 == 0 {
            // The worker kept up with every producer; possible on an idle machine, so the
            // back-pressure error is also checked deterministically in the C tests.
            withKnownIssue("no insert found the mailbox full this run", isIntermittent: true) {
                #expect(outcomes.1 > 0)
            }
        }
    }

    @Test func stealingSpreadsSkewedLoadAcrossWorkers() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2))
        // Every space on worker 0: only stealing lets worker 1 apply anything.
        var names: [String] = []
        var n = 0
        while names.count < 32 {
            let name = "home0-\(n)"
            if try database.homeWorker(of: name) == 0 { names.append(name) }
            n += 1
        }
        var spaces: [Space] = []
        for name in names { spaces.append(try await database.createSpace(name, dimension: 64, metric: .l2)) }
        let vectors = EngineVectors.make(100, dimension: 64, seed: 5)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for space in spaces {
                group.addTask {
                    try await space.insert(contentsOf: (0..<100).map { Memory(id: "m\($0)", vector: vectors[$0]) })
                    for i in 0..<20 { try await space.upsert(Memory(id: "m\(i)", vector: vectors[99 - i])) }
                }
            }
            try await group.waitForAll()
        }
        for space in spaces { #expect(space.stats().count == 100) }
        let workers = await database.stats().workers
        #expect(workers.allSatisfy { $0.queueDepth == 0 })
        // Stealing depends on timing; record what happened rather than assert a schedule.
        if workers[1].operations == 0 {
            withKnownIssue("worker 1 stole nothing this run", isIntermittent: true) {
                #expect(workers[1].operations > 0)
            }
        }
    }
}
