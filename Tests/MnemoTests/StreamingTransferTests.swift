// Proves the streaming export and import (Space.export(chunkBytes:bufferedChunks:),
// Database.importSpace(_:from: some AsyncSequence)): a 20,000-memory space streamed out chunk
// by chunk and streamed back in is byte-for-byte the same stream and answers as the original;
// the export never runs more than `bufferedChunks` chunks ahead of a consumer (counted while
// consuming); a consumer that stops early leaves nothing blocked (the space takes writes and
// exports again); a truncated, damaged, over-long or failing stream throws its typed error
// and creates no space.
import Foundation
@testable import Mnemo
import Testing

@Suite struct StreamingTransferTests {
    static let dimension = 8

    /// An async sequence of the given chunks, one at a time, that can fail after them.
    struct Chunks: AsyncSequence, Sendable {
        typealias Element = [UInt8]
        let chunks: [[UInt8]]
        var failure: MnemoError?
        struct AsyncIterator: AsyncIteratorProtocol {
            var rest: ArraySlice<[UInt8]>
            var failure: MnemoError?
            mutating func next() async throws -> [UInt8]? {
                await Task.yield()
                if let chunk = rest.popFirst() { return chunk }
                if let failure {
                    self.failure = nil
                    throw failure
                }
                return nil
            }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: chunks[...], failure: failure) }

        /// `bytes` cut into chunks of `size`.
        init(_ bytes: [UInt8], size: Int, failure: MnemoError? = nil) {
            chunks = stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<Swift.min($0 + size, bytes.count)]) }
            self.failure = failure
        }
    }

    private func makeSpace(_ database: Database, count: Int) async throws -> Space {
        let space = try await database.createSpace("big", dimension: Self.dimension, metric: .cosine)
        let vectors = EngineVectors.make(count, dimension: Self.dimension, seed: 5)
        for start in stride(from: 0, to: count, by: 1000) {
            try await space.insert(contentsOf: (start..<min(start + 1000, count)).map { index in
                Memory(id: "m\(index)", vector: vectors[index], text: "memory \(index)")
            })
        }
        return space
    }

    @Test func twentyThousandMemoriesStreamOutAndBackIn() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2))
        let space = try await makeSpace(database, count: 20_000)
        let whole = try await space.export()
        var streamed: [UInt8] = []
        var chunks = 0
        for try await chunk in try await space.export(chunkBytes: 64 * 1024) {
            #expect(chunk.count <= 64 * 1024 && !chunk.isEmpty)
            streamed += chunk
            chunks += 1
        }
        #expect(streamed == whole)
        #expect(chunks == (whole.count + 64 * 1024 - 1) / (64 * 1024))

        // Straight from one space's export into another's import.
        let copy = try await database.importSpace("copy", from: try await space.export(chunkBytes: 4096))
        #expect(copy.stats().count == 20_000)
        #expect(try await copy.export() == whole)
        for query in EngineVectors.make(10, dimension: Self.dimension, seed: 77) {
            #expect(try await copy.search(query, k: 10) == (try await space.search(query, k: 10)))
        }
        #expect(try await copy.get("m19999") == (try await space.get("m19999")))
    }

    @Test func theExportNeverRunsMoreThanItsBufferAhead() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2))
        let space = try await makeSpace(database, count: 3000)
        let buffered = 3
        let export = try await space.export(chunkBytes: 1024, bufferedChunks: buffered)
        var consumed = 0
        for try await _ in export {
            consumed += 1
            // Give the exporting thread every chance to run ahead, then count what it holds.
            for _ in 0..<20 { await Task.yield() }
            let outstanding = export.pipe.produced - consumed
            #expect(outstanding <= buffered, "\(outstanding) chunks outstanding after \(consumed)")
        }
        #expect(consumed > 10 * buffered)
        #expect(export.pipe.peakQueued <= buffered)
    }

    @Test func aConsumerThatStopsEarlyLeavesNothingBlocked() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2))
        let space = try await makeSpace(database, count: 3000)
        let whole = try await space.export()
        do {
            let export = try await space.export(chunkBytes: 512, bufferedChunks: 2)
            var iterator = export.makeAsyncIterator()
            #expect(try await iterator.next() != nil)
            // Dropped here after one chunk: the export must end and the space resume.
        }
        // The space takes writes again (they wait while an export is unfinished) and exports whole.
        try await space.insert(Memory(id: "after", vector: EngineVectors.make(1, dimension: Self.dimension, seed: 3)[0], text: "x"))
        #expect(try await space.get("after") != nil)
        #expect(try await space.export().count > whole.count)

        // cancel() mid-stream ends the sequence with an error, and the space goes on too.
        let export = try await space.export(chunkBytes: 512, bufferedChunks: 2)
        var iterator = export.makeAsyncIterator()
        #expect(try await iterator.next() != nil)
        export.cancel()
        await #expect(throws: MnemoError.self) { while try await iterator.next() != nil {} }
        try await space.upsert(Memory(id: "after", vector: EngineVectors.make(1, dimension: Self.dimension, seed: 4)[0], text: "y"))
    }

    @Test func badStreamsThrowAndCreateNothing() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2))
        let space = try await makeSpace(database, count: 500)
        let whole = try await space.export()

        func expectFailure(_ name: String, _ chunks: Chunks, _ code: MnemoError.Code) async {
            do {
                _ = try await database.importSpace(name, from: chunks, bufferedChunks: 2)
                Issue.record("\(name) imported")
            } catch {
                #expect(error.code == code, "\(name): \(error)")
            }
            #expect(await !database.spaces().contains(name))
        }
        await expectFailure("truncated", Chunks(Array(whole.prefix(whole.count - 100)), size: 1000), .truncated)
        await expectFailure("half", Chunks(Array(whole.prefix(whole.count / 2)), size: 333), .truncated)
        await expectFailure("empty", Chunks([], size: 1), .truncated)
        var damaged = whole
        damaged[whole.count / 2] ^= 0x40
        await expectFailure("damaged", Chunks(damaged, size: 777), .corrupt)
        await expectFailure("trailing", Chunks(whole + [1, 2, 3], size: 1000), .corrupt)
        await expectFailure("trailing-chunk", Chunks(whole + Array(repeating: 9, count: 5000), size: 4096), .corrupt)
        await expectFailure("failing", Chunks(Array(whole.prefix(3000)), size: 1000, failure: MnemoError(.tooLarge, "over")), .tooLarge)
        await #expect(throws: MnemoError.self) { _ = try await database.importSpace("big", from: Chunks(whole, size: 1000)) }
        #expect(await database.spaces() == ["big"])

        // The whole stream in tiny chunks imports.
        let copy = try await database.importSpace("copy", from: Chunks(whole, size: 7), bufferedChunks: 1)
        #expect(try await copy.export() == whole)
    }
}
