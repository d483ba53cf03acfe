// Proves the byte limits of DatabaseOptions reach the engine: `maxSpaceBytes` stops a space that
// would grow past it with `.tooLarge`, leaving it as it was (count, the refused id absent), with
// its stats under the cap; `maxQueuedBytes` refuses one write larger than the whole queue with
// `.tooLarge`; `nil` keeps the defaults. (The back-pressure of a queue full of bytes is checked
// deterministically in the C test test_engine_limits.)
import Mnemo
import Testing

@Suite struct ByteLimitTests {
    @Test func spaceStopsAtItsByteCap() async throws {
        var options = DatabaseOptions(workers: 1)
        options.maxSpaceBytes = 1 << 20
        let database = try Database(options: options)
        let space = try await database.createSpace("capped", dimension: 8, metric: .l2)
        let vectors = EngineVectors.make(4096, dimension: 8, seed: 12)
        let content = [UInt8](repeating: 1, count: 1024)
        var stored = 0
        var refusal: MnemoError?
        for i in 0..<4096 {
            do {
                try await space.insert(Memory(id: "m\(i)", vector: vectors[i], content: content))
                stored += 1
            } catch {
                refusal = error
                break
            }
        }
        #expect(refusal?.code == .tooLarge)
        #expect(stored > 100)
        #expect(space.stats().count == stored)
        #expect(space.stats().bytes <= 1 << 20)
        #expect(try await space.get("m\(stored)") == nil)
        _ = try await space.delete("m0") // deletes always pass
        #expect(space.stats().count == stored - 1)
    }

    @Test func oneWriteLargerThanTheQueueIsTooLarge() async throws {
        var options = DatabaseOptions(workers: 1)
        options.maxQueuedBytes = 4096
        let database = try Database(options: options)
        let space = try await database.createSpace("narrow", dimension: 8, metric: .l2)
        let vector = EngineVectors.make(1, dimension: 8, seed: 13)[0]
        await #expect(throws: MnemoError.self) {
            try await space.insert(Memory(id: "big", vector: vector, content: [UInt8](repeating: 2, count: 8192)))
        }
        do {
            try await space.insert(Memory(id: "big", vector: vector, content: [UInt8](repeating: 2, count: 8192)))
        } catch {
            #expect(error.code == .tooLarge)
        }
        try await space.insert(Memory(id: "small", vector: vector, content: [1, 2, 3]))
        #expect(space.stats().count == 1)
        #expect(DatabaseOptions().maxQueuedBytes == nil && DatabaseOptions().maxSpaceBytes == nil)
    }
}
