// Proves the observability API of the Mnemo module: `durabilityStats()` of a durable database
// counts log fdatasyncs (its histogram adds up to the count) and checkpoints (time and age move
// with a checkpoint, the log bytes since it reset), an in-memory database answers zeros and no
// checkpoint age; and `loadedSpaceStats()` lists loaded spaces with their counts and bytes but
// leaves a lazy (checkpointed, unused) space out until it is opened.
import Foundation
import Mnemo
import Testing

@Suite struct ObservabilityTests {
    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("mnemo-observe-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func inMemoryDatabaseHasNoDurabilityCounters() async throws {
        let database = try Database(options: DatabaseOptions(workers: 1))
        let stats = database.durabilityStats()
        #expect(!stats.isDurable)
        #expect(stats.fsyncs == 0 && stats.checkpoints == 0 && stats.loggedBytes == 0)
        #expect(stats.fsyncBuckets.allSatisfy { $0 == 0 })
        #expect(stats.checkpointAge() == nil)
        _ = try await database.createSpace("a", dimension: 4, metric: .l2)
        #expect(await database.loadedSpaceStats().map(\.name) == ["a"])
        await database.close()
    }

    @Test func durableCountersMoveWithWritesAndCheckpoints() async throws {
        let path = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let vectors = EngineVectors.make(30, dimension: 8, seed: 3)
        do {
            let database = try await Database(path: path, options: DatabaseOptions(workers: 2))
            let before = database.durabilityStats()
            #expect(before.isDurable)
            #expect(before.opened != nil)
            #expect(before.checkpoints == 0 && before.lastCheckpoint == nil)
            let notes = try await database.createSpace("notes", dimension: 8, metric: .l2)
            for i in 0..<20 {
                try await notes.insert(Memory(id: "n\(i)", vector: vectors[i], text: "note \(i)"))
            }
            let written = database.durabilityStats()
            #expect(written.fsyncs >= before.fsyncs + 20)
            #expect(written.fsyncBuckets.reduce(0, +) == written.fsyncs)
            #expect(written.fsyncTotal > .zero)
            #expect(written.meanFsyncLatency > .zero)
            #expect(written.loggedBytes > before.loggedBytes)
            #expect(written.logBytesSinceCheckpoint == written.loggedBytes)
            let spaces = await database.loadedSpaceStats()
            #expect(spaces.map(\.name) == ["notes"])
            #expect(spaces.first?.count == 20)
            #expect((spaces.first?.bytes ?? 0) > 0)

            let start = Date()
            try await database.checkpoint()
            let checkpointed = database.durabilityStats()
            #expect(checkpointed.checkpoints == 1)
            #expect(checkpointed.checkpointFailures == 0)
            let last = try #require(checkpointed.lastCheckpoint)
            #expect(last >= start.addingTimeInterval(-0.001) && last <= Date())
            #expect(checkpointed.logBytesSinceCheckpoint == 0)
            let age = try #require(checkpointed.checkpointAge(now: last.addingTimeInterval(2)))
            #expect(age >= .milliseconds(1999) && age <= .milliseconds(2001))
            try await notes.insert(Memory(id: "late", vector: vectors[25], text: "late"))
            #expect(database.durabilityStats().logBytesSinceCheckpoint > 0)
            await database.close()
        }
        // Reopened with everything in the checkpoint but "late" (replayed, so loaded): checkpoint
        // again and reopen: the space is lazy and left out until opened.
        do {
            let database = try await Database(path: path, options: DatabaseOptions(workers: 2))
            try await database.checkpoint()
            await database.close()
        }
        let database = try await Database(path: path, options: DatabaseOptions(workers: 2))
        #expect(await database.loadedSpaceStats().isEmpty)
        #expect(await database.stats().spaceCount == 1)
        let notes = try await database.space("notes")
        #expect(await database.loadedSpaceStats().first?.count == 21)
        #expect(notes.stats().count == 21)
        await database.close()
    }

    @Test func bucketBoundsDouble() {
        #expect(DurabilityStats.fsyncBucketUpperBound(0) == .nanoseconds(2))
        #expect(DurabilityStats.fsyncBucketUpperBound(9) == .nanoseconds(1024))
        #expect(DurabilityStats.fsyncBucketUpperBound(19) == .nanoseconds(1 << 20))
    }
}
