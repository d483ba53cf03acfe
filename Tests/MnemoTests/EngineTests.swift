// Proves the async Swift API of the engine: spaces are created, listed, opened and dropped by
// name; insert, get, search, upsert and delete round-trip ids, vectors, content and creation
// times, and a read issued after a write returns sees it; every bad input throws its typed
// error (unknown space, duplicate id, wrong dimension, non-finite value, zero vector, too
// large, empty id, closed) and leaves the space unchanged (same count, same content).
import Foundation
import Mnemo
import Testing

/// Deterministic pseudo-random vectors for the engine tests.
enum EngineVectors {
    static func make(_ count: Int, dimension: Int, seed: UInt64) -> [[Float]] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float((state >> 40) & 0xFFFF) / 65536 - 0.5
        }
        return (0..<count).map { _ in (0..<dimension).map { _ in next() } }
    }
}

@Suite struct EngineTests {
    static let options = DatabaseOptions(workers: 2)

    @Test func spacesAreCreatedListedAndDropped() async throws {
        let database = try Database(options: Self.options)
        _ = try await database.createSpace("alice", dimension: 4, metric: .l2)
        _ = try await database.createSpace("bob", dimension: 8, metric: .cosine)
        #expect(await database.spaces() == ["alice", "bob"])
        #expect(await database.stats().spaceCount == 2)
        let bob = try await database.space("bob")
        #expect(bob.dimension == 8 && bob.metric == .cosine)
        #expect(bob.stats().homeWorker == (try database.homeWorker(of: "bob")))

        await #expect(throws: MnemoError.self) { _ = try await database.createSpace("alice", dimension: 4) }
        do {
            _ = try await database.createSpace("alice", dimension: 4)
        } catch {
            #expect(error.code == .duplicateID)
        }
        await #expect(throws: MnemoError.self) { _ = try await database.space("carol") }
        do { _ = try await database.space("carol") } catch { #expect(error.code == .unknownSpace) }
        do { _ = try await database.createSpace("", dimension: 4) } catch { #expect(error.code == .invalidArgument) }
        do {
            _ = try await database.createSpace(String(repeating: "x", count: 129), dimension: 4)
            Issue.record("a 129-byte name was accepted")
        } catch { #expect(error.code == .tooLarge) }
        do {
            _ = try await database.createSpace("wide", dimension: 5000)
            Issue.record("dimension 5000 was accepted")
        } catch { #expect(error.code == .wrongDimension) }

        try await database.dropSpace("alice")
        #expect(await database.spaces() == ["bob"])
        do {
            try await database.dropSpace("alice")
            Issue.record("dropping twice succeeded")
        } catch { #expect(error.code == .unknownSpace) }
        // The name is free again.
        _ = try await database.createSpace("alice", dimension: 2, metric: .l2)
        #expect(await database.spaces() == ["alice", "bob"])
    }

    @Test func insertGetSearchRoundTrip() async throws {
        let database = try Database(options: Self.options)
        let space = try await database.createSpace("notes", dimension: 16, metric: .l2)
        let vectors = EngineVectors.make(200, dimension: 16, seed: 1)
        let before = Date()
        for (i, vector) in vectors.enumerated() {
            try await space.insert(Memory(id: "note-\(i)", vector: vector, text: "content \(i)"))
            if i % 25 == 0 {
                // Read-your-writes: the insert has returned, so get sees it.
                let memory = try await space.get("note-\(i)")
                #expect(memory?.text == "content \(i)")
            }
        }
        #expect(space.stats().count == 200)
        let memory = try #require(try await space.get("note-7"))
        #expect(memory.vector == vectors[7])
        #expect(memory.id == "note-7")
        #expect(memory.createdAt.map { $0 >= before.addingTimeInterval(-1) } == true)
        #expect(try await space.get("absent") == nil)

        var selfHits = 0
        for (i, vector) in vectors.enumerated() {
            let hits = try await space.search(vector, k: 3)
            #expect(hits.count == 3)
            #expect(hits.map(\.distance) == hits.map(\.distance).sorted())
            if hits.first?.id == "note-\(i)" && hits.first?.distance == 0 { selfHits += 1 }
        }
        #expect(selfHits >= 196)
        let hit = try #require(try await space.search(vectors[3], k: 1).first)
        #expect(hit.text == "content 3")

        // Binary content and an explicit creation time survive the round trip.
        let when = Date(timeIntervalSince1970: 1_700_000_000)
        try await space.insert(Memory(id: "blob", vector: vectors[0].map { $0 + 1 }, content: [0, 255, 7],
                                      createdAt: when))
        let blob = try #require(try await space.get("blob"))
        #expect(blob.content == [0, 255, 7])
        #expect(blob.text == nil) // 0xFF is not UTF-8
        #expect(abs((blob.createdAt ?? .distantPast).timeIntervalSince(when)) < 0.001)
    }

    @Test func upsertReplacesAndDeleteRemoves() async throws {
        let database = try Database(options: Self.options)
        let space = try await database.createSpace("edits", dimension: 8, metric: .l2)
        let vectors = EngineVectors.make(60, dimension: 8, seed: 2)
        for i in 0..<50 { try await space.insert(Memory(id: "bg-\(i)", vector: vectors[i])) }
        #expect(try await space.upsert(Memory(id: "x", vector: vectors[50], text: "one")) == false)
        let first = try #require(try await space.get("x"))
        #expect(try await space.upsert(Memory(id: "x", vector: vectors[51], text: "two")) == true)
        let second = try #require(try await space.get("x"))
        #expect(second.text == "two")
        #expect(second.vector == vectors[51])
        #expect(second.createdAt == first.createdAt)
        #expect(space.stats().count == 51)
        #expect(try await space.search(vectors[51], k: 1).first?.id == "x")

        #expect(try await space.delete("x") == true)
        #expect(try await space.delete("x") == false)
        #expect(try await space.get("x") == nil)
        #expect(try await space.search(vectors[51], k: 1).first?.id != "x")
        #expect(space.stats().count == 50)
    }

    @Test func badInputsThrowTypedErrorsAndChangeNothing() async throws {
        let database = try Database(options: DatabaseOptions(workers: 1, maxContentBytes: 32))
        let space = try await database.createSpace("strict", dimension: 4, metric: .cosine)
        try await space.insert(Memory(id: "keep", vector: [1, 2, 3, 4], text: "original"))
        let applied = space.stats().operationsApplied

        func expectCode(_ code: MnemoError.Code, _ body: () async throws -> Void,
                        sourceLocation: SourceLocation = #_sourceLocation) async {
            do {
                try await body()
                Issue.record("expected \(code), nothing was thrown", sourceLocation: sourceLocation)
            } catch {
                #expect((error as? MnemoError)?.code == code, sourceLocation: sourceLocation)
            }
        }
        await expectCode(.wrongDimension) { try await space.insert(Memory(id: "a", vector: [1, 2, 3])) }
        await expectCode(.nonFinite) { try await space.insert(Memory(id: "a", vector: [1, .nan, 3, 4])) }
        await expectCode(.nonFinite) { try await space.insert(Memory(id: "a", vector: [1, 2, .infinity, 4])) }
        await expectCode(.zeroVector) { try await space.insert(Memory(id: "a", vector: [0, 0, 0, 0])) }
        await expectCode(.invalidArgument) { try await space.insert(Memory(id: "", vector: [1, 2, 3, 4])) }
        await expectCode(.tooLarge) {
            try await space.insert(Memory(id: String(repeating: "i", count: 257), vector: [1, 2, 3, 4]))
        }
        await expectCode(.tooLarge) {
            try await space.insert(Memory(id: "a", vector: [1, 2, 3, 4], content: Array(repeating: 1, count: 33)))
        }
        await expectCode(.nonFinite) { try await space.upsert(Memory(id: "keep", vector: [.nan, 1, 1, 1])) }
        await expectCode(.wrongDimension) { _ = try await space.search([1, 2], k: 1) }
        await expectCode(.invalidArgument) { _ = try await space.search([1, 2, 3, 4], k: 0) }
        await expectCode(.duplicateID) { try await space.insert(Memory(id: "keep", vector: [4, 3, 2, 1], text: "other")) }
        #expect(space.stats().count == 1)
        #expect(space.stats().operationsApplied == applied + 1) // only the duplicate reached the worker
        #expect(try await space.get("keep")?.text == "original")

        try await database.dropSpace("strict")
        await expectCode(.unknownSpace) { try await space.insert(Memory(id: "b", vector: [1, 2, 3, 4])) }
        await expectCode(.unknownSpace) { _ = try await space.get("keep") }
    }

    @Test func closedDatabaseRefusesWritesAfterApplyingQueuedOnes() async throws {
        let database = try Database(options: Self.options)
        let space = try await database.createSpace("closing", dimension: 4, metric: .l2)
        let vectors = EngineVectors.make(64, dimension: 4, seed: 3)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<64 {
                group.addTask { try await space.insert(Memory(id: "c\(i)", vector: vectors[i])) }
            }
            try await group.waitForAll()
        }
        await database.close()
        #expect(space.stats().count == 64)
        do {
            try await space.insert(Memory(id: "late", vector: [1, 1, 1, 1]))
            Issue.record("a write after close succeeded")
        } catch { #expect(error.code == .closed) }
        #expect(try await space.get("c5") != nil) // reads keep working
    }
}
