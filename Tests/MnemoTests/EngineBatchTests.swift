// Proves batch inserts through the Swift API: a batch is all-or-nothing (a bad vector, an
// oversized id or content, an id repeated within the batch, or an id already in the space
// rejects it with the offender's index and leaves the space unchanged); a large batch is
// linked with the idle worker's help and is searchable afterwards; writes queued after a batch
// are applied after it. An upsert batch replaces the ids it shares with the space (keeping their
// creation times) and inserts the rest, reports how many it replaced, refuses a bad batch whole,
// and is all there after a reopen.
import Foundation
import Mnemo
import Testing

@Suite struct EngineBatchTests {
    static func batch(_ prefix: String, _ count: Int, dimension: Int, seed: UInt64) -> [Memory] {
        EngineVectors.make(count, dimension: dimension, seed: seed).enumerated().map {
            Memory(id: "\(prefix)-\($0.offset)", vector: $0.element, text: "\(prefix) \($0.offset)")
        }
    }

    @Test func batchesAreAllOrNothing() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2, maxContentBytes: 64))
        let space = try await database.createSpace("batches", dimension: 8, metric: .l2)
        try await space.insert(contentsOf: Self.batch("ok", 40, dimension: 8, seed: 1))
        #expect(space.stats().count == 40)
        let applied = space.stats().operationsApplied

        func expectRejected(_ memories: [Memory], _ code: MnemoError.Code, at index: Int,
                            sourceLocation: SourceLocation = #_sourceLocation) async {
            do {
                try await space.insert(contentsOf: memories)
                Issue.record("batch accepted", sourceLocation: sourceLocation)
            } catch {
                #expect(error.code == code, sourceLocation: sourceLocation)
                #expect(error.offendingIndex == index, sourceLocation: sourceLocation)
            }
        }
        var bad = Self.batch("b", 30, dimension: 8, seed: 2)
        bad[11].vector[3] = .nan
        await expectRejected(bad, .nonFinite, at: 11)
        bad = Self.batch("b", 30, dimension: 8, seed: 2)
        bad[4].vector = [1, 2, 3]
        await expectRejected(bad, .wrongDimension, at: 4)
        bad = Self.batch("b", 30, dimension: 8, seed: 2)
        bad[20].id = String(repeating: "z", count: 300)
        await expectRejected(bad, .tooLarge, at: 20)
        bad = Self.batch("b", 30, dimension: 8, seed: 2)
        bad[9].content = Array(repeating: 7, count: 65)
        await expectRejected(bad, .tooLarge, at: 9)
        bad = Self.batch("b", 30, dimension: 8, seed: 2)
        bad[17].id = "b-2"
        await expectRejected(bad, .duplicateID, at: 17)
        #expect(space.stats().operationsApplied == applied) // none of these reached the worker

        bad = Self.batch("b", 30, dimension: 8, seed: 2)
        bad[25].id = "ok-5" // already in the space: found by the worker
        await expectRejected(bad, .duplicateID, at: 25)
        #expect(space.stats().count == 40)
        #expect(try await space.get("b-0") == nil)
        try await space.insert(contentsOf: [])  // an empty batch is a no-op
        #expect(space.stats().count == 40)
    }

    @Test func largeBatchIsLinkedWithHelpAndStaysOrdered() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2, parallelBatchThreshold: 1000))
        let space = try await database.createSpace("bulk", dimension: 16, metric: .cosine)
        let memories = Self.batch("doc", 3000, dimension: 16, seed: 3)
        async let bulk: Void = space.insert(contentsOf: memories)
        try await bulk
        // Queued after the batch: applied after it, so the delete finds doc-7.
        #expect(try await space.delete("doc-7") == true)
        #expect(space.stats().count == 2999)
        var found = 0
        for i in stride(from: 0, to: 3000, by: 30) where i != 7 {
            if try await space.search(memories[i].vector, k: 1).first?.id == "doc-\(i)" { found += 1 }
        }
        #expect(found >= 95)
        let stats = await database.stats()
        #expect(stats.workers.reduce(0) { $0 + $1.batches } == 1)
        #expect(stats.workers.reduce(0) { $0 + $1.helps } >= 1)
    }

    @Test func upsertBatchReplacesAndInsertsAsOneWrite() async throws {
        let path = try DurabilityTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let vectors = EngineVectors.make(700, dimension: 8, seed: 11)
        var created: Date?
        do {
            let database = try await Database(path: path, options: DurabilityTests.options(.sync))
            let space = try await database.createSpace("u", dimension: 8, metric: .l2)
            try await space.insert(contentsOf: (0..<300).map { Memory(id: "m\($0)", vector: vectors[$0], text: "old") })
            created = try await space.get("m7")?.createdAt
            var bad = (0..<400).map { Memory(id: "m\($0 + 200)", vector: vectors[$0 + 300], text: "new") }
            bad[321].id = "m210"
            do {
                try await space.upsert(contentsOf: bad)
                Issue.record("a batch with a repeated id was accepted")
            } catch {
                #expect(error.code == .duplicateID)
                #expect(error.offendingIndex == 321)
            }
            bad = (0..<400).map { Memory(id: "m\($0 + 200)", vector: vectors[$0 + 300], text: "new") }
            bad[77].vector[2] = .infinity
            await #expect(throws: MnemoError.self) { try await space.upsert(contentsOf: bad) }
            #expect(space.stats().count == 300)
            let batch = (0..<500).map { Memory(id: "m\($0)", vector: vectors[$0 + 200], text: "new \($0)") }
            #expect(try await space.upsert(contentsOf: batch) == 300)
            #expect(space.stats().count == 500)
            await database.close()
        }
        let reopened = try await Database(path: path, options: DurabilityTests.options(.sync))
        let space = try await reopened.space("u")
        #expect(space.stats().count == 500)
        for i in [0, 7, 299, 300, 499] {
            let memory = try await space.get("m\(i)")
            #expect(memory?.vector == vectors[i + 200])
            #expect(memory?.text == "new \(i)")
        }
        #expect(try await space.get("m7")?.createdAt == created)
        await reopened.close()
    }
}
