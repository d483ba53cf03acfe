// Proves export and import through the Swift API: a space with memories, upserts, deletes and
// links exports to a stream that imports (in the same or another database, from bytes or a
// file) into a space answering every search, recall and get identically, whose own export is
// the same bytes; corrupt, truncated, foreign and trailing-byte streams and a taken name throw
// their typed errors and create nothing.
import Foundation
import Mnemo
import Testing

@Suite struct ExportTests {
    static let options = DatabaseOptions(workers: 2)
    static let dimension = 12

    private func makeSpace(_ database: Database) async throws -> Space {
        let space = try await database.createSpace("source", dimension: Self.dimension, metric: .cosine)
        let vectors = EngineVectors.make(300, dimension: Self.dimension, seed: 11)
        try await space.insert(contentsOf: vectors.enumerated().map { index, vector in
            Memory(id: "m\(index)", vector: vector, text: index % 3 == 0 ? "" : "memory number \(index)")
        })
        for index in stride(from: 0, to: 60, by: 3) {
            try await space.upsert(Memory(id: "m\(index)", vector: vectors[index + 1], text: "edited \(index)"))
        }
        for index in stride(from: 100, to: 140, by: 2) { try await space.delete("m\(index)") }
        for index in stride(from: 1, to: 90, by: 4) {
            try await space.link("m\(index)", to: "m\(index + 4)", weight: 0.7)
            try await space.link("m\(index + 2)", to: "m\(index)", weight: 0.3)
        }
        return space
    }

    private func expectIdentical(_ a: Space, _ b: Space) async throws {
        #expect(a.stats().count == b.stats().count)
        #expect(a.linkCount == b.linkCount)
        for query in EngineVectors.make(25, dimension: Self.dimension, seed: 99) {
            let hitsA = try await a.search(query, k: 10)
            let hitsB = try await b.search(query, k: 10)
            #expect(hitsA == hitsB && hitsA.count == 10)
            let recallA = try await a.recall(cue: query, seeds: 3, hops: 3, limit: 50)
            let recallB = try await b.recall(cue: query, seeds: 3, hops: 3, limit: 50)
            #expect(recallA == recallB && !recallA.isEmpty)
        }
        for index in 0..<300 {
            let memoryA = try await a.get("m\(index)")
            let memoryB = try await b.get("m\(index)")
            #expect(memoryA == memoryB)
        }
    }

    @Test func importedSpaceAnswersExactlyAsTheOriginal() async throws {
        let database = try Database(options: Self.options)
        let space = try await makeSpace(database)
        let stream = try await space.export()
        #expect(try await space.export() == stream) // deterministic
        let copy = try await database.importSpace("copy", from: stream)
        try await expectIdentical(space, copy)
        #expect(try await copy.export() == stream)

        // Another database, through a file.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mnemo-export-\(UUID()).mnemo")
        defer { try? FileManager.default.removeItem(at: url) }
        try await space.export(to: url)
        let other = try Database(options: DatabaseOptions(workers: 1))
        let far = try await other.importSpace("source", contentsOf: url)
        try await expectIdentical(space, far)

        // The copy keeps working.
        try await copy.insert(Memory(id: "fresh", vector: EngineVectors.make(1, dimension: Self.dimension, seed: 5)[0]))
        try await copy.link("fresh", to: "m1", weight: 0.5)
        #expect(copy.stats().count == space.stats().count + 1)
    }

    @Test func badStreamsThrowTypedErrors() async throws {
        let database = try Database(options: Self.options)
        let space = try await makeSpace(database)
        let stream = try await space.export()
        func expectFailure(_ bytes: [UInt8], name: String = "bad", _ codes: Set<MnemoError.Code>) async {
            do {
                _ = try await database.importSpace(name, from: bytes)
                Issue.record("a bad stream was imported")
            } catch {
                #expect(codes.contains(error.code), "\(error)")
            }
        }
        await expectFailure(Array(stream.prefix(stream.count / 2)), [.truncated])
        await expectFailure([], [.truncated])
        await expectFailure(stream + [0], [.corrupt])
        var flipped = stream
        flipped[stream.count / 3] ^= 0x10
        await expectFailure(flipped, [.corrupt, .truncated, .tooLarge])
        var foreign = stream
        foreign[0] = UInt8(ascii: "X")
        await expectFailure(foreign, [.unsupportedVersion])
        await expectFailure(stream, name: "source", [.duplicateID])
        #expect(await database.spaces() == ["source"])
    }
}
