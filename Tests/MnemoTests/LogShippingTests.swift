// Proves the log shipping API (Space.logSequence, logRecords(after:), applyLogRecords): A
// writes, B imports A's export (and then holds A's sequence), A writes on (inserts, a batch, an
// upsert, a delete, links), the records above the export's sequence applied to B make B's
// contents and sequence equal to A's, also across B's reopen. Refusals (the same records twice,
// a skipped record, a cut frame, a bad length, records that are not writes) throw their code
// and change nothing; a checkpoint that cut the records throws .logTruncated; random and
// mutated frames never crash and leave the sequence consistent; an in-memory database says
// .unsupported.
import Foundation
import Mnemo
import Testing

@Suite struct LogShippingTests {
    static let dimension = 8

    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mnemo-log-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func open(_ path: String) async throws -> Database {
        var options = DatabaseOptions(workers: 2)
        options.durability = .batched(milliseconds: 5)
        return try await Database(path: path, options: options)
    }

    /// Every memory m0 ..< upTo of both spaces: present alike, same vector, content and time.
    static func expectSame(_ a: Space, _ b: Space, upTo: Int) async throws {
        #expect(a.stats().count == b.stats().count)
        for i in 0..<upTo {
            let x = try await a.get("m\(i)"), y = try await b.get("m\(i)")
            #expect(x?.vector == y?.vector && x?.content == y?.content && x?.createdAt == y?.createdAt, "m\(i)")
        }
    }

    /// All records of `space` above `after`, concatenated.
    static func frames(_ space: Space, after: UInt64, batchBytes: Int = Space.logBatchBytes) async throws -> (bytes: [UInt8], batches: [LogRecordBatch]) {
        var bytes: [UInt8] = [], batches: [LogRecordBatch] = []
        try await space.logRecords(after: after, batchBytes: batchBytes) { batch in
            bytes += batch.bytes
            batches.append(batch)
        }
        return (bytes, batches)
    }

    static func expectRefused(_ space: Space, _ bytes: [UInt8], _ code: MnemoError.Code, sequence: UInt64) async throws {
        do {
            try await space.applyLogRecords(bytes)
            Issue.record("applied, expected \(code)")
        } catch {
            #expect(error.code == code, "\(error)")
        }
        #expect(try await space.logSequence() == sequence)
    }

    @Test func recordsSinceAnExportMakeAnEqualCopy() async throws {
        let pathA = try Self.temporaryDirectory(), pathB = try Self.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: pathA)
            try? FileManager.default.removeItem(atPath: pathB)
        }
        let vectors = EngineVectors.make(200, dimension: Self.dimension, seed: 14)
        let a = try await Self.open(pathA), b = try await Self.open(pathB)
        let source = try await a.createSpace("alice", dimension: Self.dimension, metric: .l2)
        for i in 0..<30 { try await source.insert(Memory(id: "m\(i)", vector: vectors[i], text: "m \(i)")) }
        let exported = try await source.logSequence()
        #expect(exported == 30)
        let copy = try await b.importSpace("alice", from: try await source.export())
        #expect(try await copy.logSequence() == exported)

        // A goes on: a batch, single inserts, an upsert, a delete, links, a failing insert.
        try await source.insert(contentsOf: (30..<130).map { Memory(id: "m\($0)", vector: vectors[$0], text: "b \($0)") })
        for i in 130..<160 { try await source.insert(Memory(id: "m\(i)", vector: vectors[i], text: "s \(i)")) }
        #expect(try await source.upsert(Memory(id: "m5", vector: vectors[199], text: "five")))
        #expect(try await source.delete("m7"))
        #expect(try await source.link("m1", to: "m2", weight: 0.5) == false) // false: a new link
        await #expect(throws: MnemoError.self) { try await source.insert(Memory(id: "m9", vector: vectors[9])) }
        let last = try await source.logSequence()
        #expect(last == exported + 1 + 30 + 1 + 1 + 1 + 1)

        // Small batches: several LogRecordBatches, each whole frames in order.
        let (bytes, batches) = try await Self.frames(source, after: exported, batchBytes: 4096)
        #expect(batches.count > 1)
        #expect(batches.first?.firstSequence == exported + 1)
        #expect(batches.last?.lastSequence == last)
        #expect(batches.map(\.count).reduce(0, +) == Int(last - exported))
        for (x, y) in zip(batches, batches.dropFirst()) { #expect(y.firstSequence == x.lastSequence + 1) }

        // Refusals change nothing.
        let second = batches[1].bytes
        try await Self.expectRefused(copy, second, .logGap, sequence: exported)           // starts past the copy
        try await Self.expectRefused(copy, batches[0].bytes + second + batches[0].bytes, .corrupt, sequence: exported) // goes back
        try await Self.expectRefused(copy, Array(bytes.dropLast(3)), .truncated, sequence: exported)
        var badLength = bytes
        badLength[0] = 3; badLength[1] = 0; badLength[2] = 0; badLength[3] = 0
        try await Self.expectRefused(copy, badLength, .corrupt, sequence: exported)
        var notAWrite = batches[0].bytes
        notAWrite[4] = 0; notAWrite[5] = 1 // type 0x100: a creation record
        try await Self.expectRefused(copy, notAWrite, .corrupt, sequence: exported)

        // Applied in two parts, as a stream arrives; the first part again is a duplicate.
        #expect(try await copy.applyLogRecords(batches[0].bytes) == batches[0].lastSequence)
        try await Self.expectRefused(copy, batches[0].bytes, .logDuplicate, sequence: batches[0].lastSequence)
        #expect(try await copy.applyLogRecords(batches.dropFirst().flatMap(\.bytes)) == last)
        #expect(try await copy.logSequence() == last)
        try await Self.expectSame(source, copy, upTo: 160)
        #expect(try await copy.get("m5")?.content == Array("five".utf8))
        #expect(try await copy.get("m7") == nil)
        #expect(try await copy.applyLogRecords([UInt8]()) == last)

        // Nothing new: no batch; past the end: refused.
        #expect(try await Self.frames(source, after: last).batches.isEmpty)
        await #expect(throws: MnemoError.self) { try await Self.frames(source, after: last + 1) }

        // Records logged after the copy's last one still ship.
        for i in 160..<170 { try await source.insert(Memory(id: "m\(i)", vector: vectors[i])) }
        #expect(try await copy.applyLogRecords(try await Self.frames(source, after: last).bytes) == last + 10)

        // The copy's applied records were logged: they survive its reopen.
        await b.close()
        let reopened = try await Self.open(pathB)
        let again = try await reopened.space("alice")
        #expect(try await again.logSequence() == last + 10)
        try await Self.expectSame(source, again, upTo: 170)
        await reopened.close()
        await a.close()
    }

    @Test func recordsCutByACheckpointAreRefused() async throws {
        let path = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        // One worker, so one log; three records of 24 MiB: the third starts a new 64 MiB segment
        // and the checkpoint deletes the first, with records 1 and 2 in it.
        var options = DatabaseOptions(workers: 1)
        options.durability = .none
        options.maxContentBytes = 32 << 20
        let database = try await Database(path: path, options: options)
        let space = try await database.createSpace("big", dimension: 2, metric: .l2)
        let content = [UInt8](repeating: 7, count: 24 << 20)
        for i in 0..<3 { try await space.insert(Memory(id: "b\(i)", vector: [1, Float(i)], content: content)) }
        try await database.checkpoint()
        do {
            _ = try await Self.frames(space, after: 0)
            Issue.record("records cut by a checkpoint were handed out")
        } catch let error as MnemoError {
            #expect(error.code == .logTruncated && error.status == .notFound, "\(error)")
        }
        // Above the cut they are still there.
        #expect(try await Self.frames(space, after: 2).batches.map(\.count) == [1])
        await database.close()
    }

    @Test func randomAndMutatedFramesNeverCrash() async throws {
        let pathA = try Self.temporaryDirectory(), pathB = try Self.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: pathA)
            try? FileManager.default.removeItem(atPath: pathB)
        }
        let vectors = EngineVectors.make(40, dimension: Self.dimension, seed: 3)
        let a = try await Self.open(pathA), b = try await Self.open(pathB)
        let source = try await a.createSpace("s", dimension: Self.dimension, metric: .l2)
        let copy = try await b.importSpace("s", from: try await source.export())
        for i in 0..<40 { try await source.insert(Memory(id: "m\(i)", vector: vectors[i], text: "t\(i)")) }
        let valid = try await Self.frames(source, after: 0).bytes
        var generator = SystemRandomNumberGenerator()
        for round in 0..<300 {
            var bytes: [UInt8]
            if round % 3 == 0 {
                bytes = (0..<Int.random(in: 0..<256, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                bytes = valid
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                if round % 5 == 0 { bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &generator))) }
            }
            let before = try await copy.logSequence()
            do {
                let applied = try await copy.applyLogRecords(bytes)
                #expect(applied >= before)
            } catch {
                // Refused whole, or (a payload that decodes but is not this space's) cut at a run.
                #expect(try await copy.logSequence() >= before)
            }
        }
        await b.close()
        await a.close()
    }

    @Test func inMemoryDatabasesHaveNoLog() async throws {
        let database = try Database(options: DatabaseOptions(workers: 1))
        let space = try await database.createSpace("m", dimension: 2, metric: .l2)
        do {
            _ = try await space.logSequence()
            Issue.record("an in-memory space gave a log sequence")
        } catch {
            #expect(error.code == .unsupported)
        }
        await database.close()
    }
}
