// Proves the durable Swift API: a database opened with a path keeps every acknowledged write
// (insert, batch, upsert, delete, space create and drop) across close and reopen, in each
// durability mode, with ids, vectors, content and creation times byte-identical; in-memory
// databases stay in memory; and a corrupt log throws `.corrupt` naming the damaged file unless
// `repairLog` is set; a checkpoint keeps everything across reopen and writes its file.
import Foundation
import Mnemo
import Testing

@Suite struct DurabilityTests {
    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("mnemo-durable-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func options(_ mode: DurabilityMode) -> DatabaseOptions {
        var options = DatabaseOptions(workers: 2)
        options.durability = mode
        return options
    }

    @Test(arguments: [DurabilityMode.sync, .batched(milliseconds: 5), .none])
    func writesSurviveReopen(mode: DurabilityMode) async throws {
        let path = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let vectors = EngineVectors.make(60, dimension: 8, seed: 7)
        var created: Date?
        do {
            let database = try await Database(path: path, options: Self.options(mode))
            #expect(database.isDurable)
            let notes = try await database.createSpace("notes", dimension: 8, metric: .l2)
            for i in 0..<20 {
                try await notes.insert(Memory(id: "n\(i)", vector: vectors[i], text: "note \(i)"))
            }
            try await notes.insert(contentsOf: (20..<60).map {
                Memory(id: "n\($0)", vector: vectors[$0], content: [UInt8(truncatingIfNeeded: $0), 0, 255])
            })
            #expect(try await notes.upsert(Memory(id: "n3", vector: vectors[59], text: "three")))
            #expect(try await notes.delete("n4"))
            let scratch = try await database.createSpace("scratch", dimension: 4, metric: .l2)
            try await scratch.insert(Memory(id: "x", vector: [1, 2, 3, 4], text: "x"))
            try await database.dropSpace("scratch")
            created = try await notes.get("n1")?.createdAt
            try await database.sync()
            await database.close()
        }
        let reopened = try await Database(path: path, options: Self.options(mode))
        #expect(await reopened.spaces() == ["notes"])
        let notes = try await reopened.space("notes")
        #expect(notes.stats().count == 59)
        let one = try await notes.get("n1")
        #expect(one?.vector == vectors[1])
        #expect(one?.content == Array("note 1".utf8))
        #expect(one?.createdAt == created)
        #expect(try await notes.get("n3")?.content == Array("three".utf8))
        #expect(try await notes.get("n3")?.vector == vectors[59])
        #expect(try await notes.get("n4") == nil)
        #expect(try await notes.get("n42")?.content == [42, 0, 255])
        #expect(try await notes.search(vectors[10], k: 1).first?.id == "n10")
        // Writes continue after a reopen, and survive the next one.
        try await notes.insert(Memory(id: "late", vector: vectors[0], text: "late"))
        await reopened.close()
        let third = try await Database(path: path, options: Self.options(mode))
        #expect(try await third.space("notes").get("late")?.content == Array("late".utf8))
    }

    @Test func checkpointKeepsEverythingAndDeletesTheLog() async throws {
        let path = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let vectors = EngineVectors.make(40, dimension: 8, seed: 11)
        func segments() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: path)
                .filter { $0.hasPrefix("wal-") }
                .map { try FileManager.default.contentsOfDirectory(atPath: path + "/" + $0).filter { $0.hasSuffix(".wal") }.count }
                .reduce(0, +)
        }
        do {
            let database = try await Database(path: path, options: Self.options(.sync))
            let notes = try await database.createSpace("notes", dimension: 8, metric: .l2)
            try await notes.insert(contentsOf: (0..<20).map { Memory(id: "n\($0)", vector: vectors[$0], text: "note \($0)") })
            let before = try segments()
            try await database.checkpoint()
            let checkpoints = try FileManager.default.contentsOfDirectory(atPath: path + "/spaces")
            #expect(checkpoints.filter { $0.hasSuffix(".pack") }.count == 1)
            #expect(try segments() <= before)
            for i in 20..<40 {
                try await notes.insert(Memory(id: "n\(i)", vector: vectors[i], text: "note \(i)"))
            }
            await database.close()
        }
        let reopened = try await Database(path: path, options: Self.options(.sync))
        let notes = try await reopened.space("notes")
        #expect(notes.stats().count == 40)
        #expect(try await notes.get("n3")?.content == Array("note 3".utf8))
        #expect(try await notes.get("n33")?.vector == vectors[33])
        await reopened.close()
        // In memory: nothing to do, no error.
        try await Database(options: DatabaseOptions(workers: 1)).checkpoint()
    }

    @Test func idleSpacesUnloadAndLoadAgain() async throws {
        let path = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let vectors = EngineVectors.make(10, dimension: 8, seed: 5)
        let database = try await Database(path: path, options: Self.options(.sync))
        for name in ["a", "b"] {
            let space = try await database.createSpace(name, dimension: 8, metric: .l2)
            try await space.insert(contentsOf: (0..<5).map { Memory(id: "\(name)\($0)", vector: vectors[$0], text: name) })
        }
        // Not checkpointed yet: nothing may be unloaded.
        #expect(try await database.unloadIdleSpaces() == 0)
        try await database.checkpoint()
        #expect(try await database.unloadIdleSpaces() == 2)
        #expect(await database.spaces().sorted() == ["a", "b"])
        do {
            let a = try await database.space("a")          // loads "a" from its checkpoint
            #expect(a.stats().count == 5)
            #expect(try await a.get("a2")?.vector == vectors[2])
            // "a" has an open handle and "b" is unloaded already: nothing to do.
            #expect(try await database.unloadIdleSpaces() == 0)
        }
        // "a" again once its handle is gone (its worker may still be finishing the load).
        var unloaded = 0
        for _ in 0..<100 where unloaded == 0 {
            unloaded = try await database.unloadIdleSpaces()
            if unloaded == 0 { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(unloaded == 1)
        await database.close()
        #expect(try await Database(options: DatabaseOptions(workers: 1)).unloadIdleSpaces() == 0)
    }

    @Test func inMemoryDatabaseIsNotDurable() async throws {
        let database = try Database(options: DatabaseOptions(workers: 1))
        #expect(!database.isDurable)
        try await database.sync()
    }

    @Test func corruptLogThrowsUnlessRepaired() async throws {
        let path = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        // One worker, so one log holds every record in order: the damage in its middle falls
        // after k0. (With two, a stolen k0 can be the only record of the other log, and the
        // damage would then hit k0 itself.)
        var single = Self.options(.sync)
        single.workers = 1
        do {
            let database = try await Database(path: path, options: single)
            let space = try await database.createSpace("s", dimension: 4, metric: .l2)
            for i in 0..<30 {
                try await space.insert(Memory(id: "k\(i)", vector: [Float(i), 1, 2, 3], text: "value \(i)"))
            }
            await database.close()
        }
        // Damage the middle of the first segment of every log that has one.
        for log in try FileManager.default.contentsOfDirectory(atPath: path) where log.hasPrefix("wal-") {
            let segment = "\(path)/\(log)/00000000000000000001.wal"
            guard var bytes = FileManager.default.contents(atPath: segment), bytes.count > 200 else { continue }
            bytes[bytes.count / 2] ^= 0x5A
            try bytes.write(to: URL(fileURLWithPath: segment))
        }
        do {
            _ = try await Database(path: path, options: single)
            Issue.record("a corrupt log was opened")
        } catch {
            #expect(error.code == .corrupt)
            #expect(error.message.contains(".wal"))
        }
        var repair = single
        repair.repairLog = true
        let repaired = try await Database(path: path, options: repair)
        #expect(try await repaired.space("s").get("k0") != nil)
    }
}
