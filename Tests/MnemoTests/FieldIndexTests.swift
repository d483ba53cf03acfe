// Proves field indexes through the Swift API: over FilteredReadTests' 10,000 memories with
// random metadata, creating keyword indexes (kind, tags, pinned) and numeric ones (priority,
// score, bucket) returns the oracle's count of memories having each field and lists them
// after the built-in createdAt with the oracle's `present`; 120 random filters (every operator,
// `&&`, `||`, `!`, `id`, `createdAt`) then give the oracle's count and list (the same answers
// as before the indexes) and filtered searches that never return a non-matching memory, the
// exact scan returning the oracle's top k; `searchWithStats` reports no index use on an
// unindexed field, and after the index exact counting, collection and an exact answer for
// `bucket < 5` (nothing sampled), collection but no exact answer with an unindexed leaf ANDed
// in, and the built-in createdAt index without any created; `delete(filter:)` keeps the
// indexes in step (their `present` drops by the deleted memories). A duplicate create (either
// kind), a drop of an unindexed field or of createdAt, invalid names ("", "$x", "id",
// "createdAt") and a 65-byte name throw the documented codes naming the field, and the 65th
// index throws `.tooLarge` with status `.full`, each leaving the index list as it was. The
// definitions survive a reopen of a durable database (log replay, then a checkpoint) and
// export/import, with the same answers.
import Foundation
@testable import Mnemo
import Testing

@Suite struct FieldIndexTests {
    typealias F = FilteredReadTests

    /// The indexes created on FilteredReadTests' fields, with their kinds.
    static let created: [(String, FieldIndexKind)] = [
        ("kind", .keyword), ("tags", .keyword), ("pinned", .keyword),
        ("priority", .numeric), ("score", .numeric), ("bucket", .numeric),
    ]

    /// How many memories of `fields` have `name`.
    static func present(_ fields: [F.Fields], _ name: String) -> Int {
        fields.filter { f in
            switch name {
            case "kind": f.kind != nil
            case "tags": f.tags != nil
            case "pinned": f.pinned != nil
            case "priority": f.priority != nil
            case "score": f.score != nil
            default: true // bucket
            }
        }.count
    }

    @Test func indexedReadsAnswerAsTheOracle() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2))
        let (space, fields, vectors) = try await F.makeSpace(database)
        let query = [Float](repeating: 0.1, count: F.dimension)

        // Before any index: only the built-in createdAt, and a bucket filter samples.
        let builtIn = try space.indexes()
        #expect(builtIn.map(\.name) == ["createdAt"] && builtIn[0].isBuiltIn && builtIn[0].kind == .numeric)
        #expect(builtIn[0].present == F.count)
        let unindexed = try await space.searchWithStats(query, k: 10, filter: Filter.field("bucket") < 5)
        #expect(!unindexed.stats.usedIndexes && unindexed.stats.indexLeaves == 0)
        #expect(!unindexed.stats.indexCollected && !unindexed.stats.indexExact)
        #expect(unindexed.stats.sampled > 0)
        // The built-in index answers createdAt without any created index.
        let lastTen = Date(timeIntervalSince1970: Double(F.epoch + Int64(F.count - 10)))
        let recent = try await space.searchWithStats(query, k: 20, filter: Filter.createdAt >= lastTen)
        #expect(recent.stats.usedIndexes && recent.stats.indexLeaves == 1 && recent.stats.indexExact)
        #expect(Set(recent.hits.map(\.id)) == Set((F.count - 10..<F.count).map { "m\($0)" }))

        // Answers before the indexes, to compare with after.
        var rng = F.Rng(state: 4242)
        let cases = (0..<120).map { _ in F.randomCase(&rng) }
        var before: [(count: Int, listed: [String])] = []
        for c in cases {
            before.append((try await space.count(filter: c.filter),
                           try await space.list(filter: c.filter, limit: 65_535).memories.map(\.id)))
        }

        for (name, kind) in Self.created {
            let having = try await space.createIndex(name, kind: kind)
            #expect(having == Self.present(fields, name), "\(name)")
        }
        let listed = try space.indexes()
        #expect(listed.map(\.name) == ["createdAt"] + Self.created.map(\.0))
        #expect(listed.map(\.kind) == [.numeric] + Self.created.map(\.1))
        #expect(listed.map(\.isBuiltIn) == [true] + Self.created.map { _ in false })
        for info in listed.dropFirst() {
            #expect(info.present == Self.present(fields, info.name), "\(info.name)")
            #expect(info.entries >= (info.name == "tags" ? 0 : info.present) && info.bytes > 0, "\(info.name)")
        }

        var collected = 0
        for (i, c) in cases.enumerated() {
            let matching = fields.indices.filter { c.test(fields[$0]) }
            let count = try await space.count(filter: c.filter)
            #expect(count == matching.count && count == before[i].count, "\(c.filter.json)")
            let page = try await space.list(filter: c.filter, limit: 65_535)
            #expect(page.memories.map(\.id) == matching.map { fields[$0].id }, "\(c.filter.json)")
            #expect(page.memories.map(\.id) == before[i].listed && page.nextCursor == nil)
            let q = F.vectors(&rng, 1)[0]
            let k = [1, 10, 50][i % 3]
            let result = try await space.searchWithStats(q, k: k, ef: 64, filter: c.filter)
            let ids = Set(matching.map { fields[$0].id })
            #expect(result.hits.allSatisfy { ids.contains($0.id) }, "\(c.filter.json)")
            #expect(result.hits.count == min(k, matching.count), "\(c.filter.json)")
            if result.stats.strategy == .exactScan {
                #expect(result.stats.matches == matching.count, "\(c.filter.json)")
                let exact = matching.sorted { F.distance(q, vectors[$0]) < F.distance(q, vectors[$1]) }
                    .prefix(k).map { fields[$0].id }
                #expect(Set(result.hits.map(\.id)) == Set(exact), "\(c.filter.json)")
                if result.stats.indexCollected { collected += 1 }
            }
        }
        #expect(collected > 0) // some scans took their candidates from the indexes

        // The same filter now counted and collected exactly from the bucket index.
        let indexed = try await space.searchWithStats(query, k: 10, filter: Filter.field("bucket") < 5)
        #expect(indexed.stats.usedIndexes && indexed.stats.indexLeaves == 1)
        #expect(indexed.stats.indexCollected && indexed.stats.indexExact && indexed.stats.sampled == 0)
        #expect(indexed.stats.strategy == .exactScan && indexed.stats.matches == 50)
        #expect(Set(indexed.hits.map(\.id)) == Set(unindexed.hits.map(\.id)))
        // An unindexed leaf ANDed in: candidates from the index, each checked on its record.
        let mixed = try await space.searchWithStats(query, k: 10,
                                                    filter: Filter.field("bucket") < 5 && Filter.field("kind").contains("ac"))
        #expect(mixed.stats.usedIndexes && mixed.stats.indexCollected && !mixed.stats.indexExact)
        #expect(mixed.stats.matches == fields.filter { $0.bucket < 5 && ($0.kind?.contains("ac") ?? false) }.count)

        // Deletes keep the indexes in step.
        let removed = try await space.delete(filter: Filter.field("bucket") < 100)
        let survivors = fields.filter { $0.bucket >= 100 }
        #expect(removed == F.count - survivors.count)
        for info in try space.indexes() {
            let expected = info.isBuiltIn ? survivors.count : Self.present(survivors, info.name)
            #expect(info.present == expected, "\(info.name)")
        }
        #expect(try await space.count(filter: Filter.field("bucket") < 200) == survivors.filter { $0.bucket < 200 }.count)

        // Dropping an index changes no answer.
        try await space.dropIndex("bucket")
        #expect(try space.indexes().map(\.name) == ["createdAt", "kind", "tags", "pinned", "priority", "score"])
        let dropped = try await space.searchWithStats(query, k: 10, filter: Filter.field("bucket") < 105)
        #expect(!dropped.stats.usedIndexes)
        #expect(dropped.hits.count == 10 && dropped.stats.matches == 50)
        await database.close()
    }

    /// `body` throws a MnemoError with `code`, naming `field`.
    static func expectError(_ code: MnemoError.Code, field: String, status: MnemoError.Code? = nil,
                            _ body: () async throws(MnemoError) -> Void) async {
        do {
            try await body()
            Issue.record("no error, expected \(code) for \"\(field)\"")
        } catch {
            #expect(error.code == code, "\(error)")
            #expect(error.field == field, "\(error)")
            if let status { #expect(error.status == status, "\(error)") }
        }
    }

    @Test func badCallsThrowAndChangeNothing() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2))
        let space = try await database.createSpace("s", dimension: 4, metric: .l2)
        for i in 0..<50 {
            try await space.insert(Memory(id: "m\(i)", vector: [Float(i), 1, 2, 3],
                                          metadata: ["kind": .string(i % 2 == 0 ? "fact" : "chat"), "n": .int(Int64(i))]))
        }
        #expect(try await space.createIndex("kind", kind: .keyword) == 50)
        let original = try space.indexes()
        await Self.expectError(.duplicateID, field: "kind") { () async throws(MnemoError) in
            try await space.createIndex("kind", kind: .keyword)
        }
        await Self.expectError(.duplicateID, field: "kind") { () async throws(MnemoError) in
            try await space.createIndex("kind", kind: .numeric)
        }
        await Self.expectError(.notFound, field: "n") { () async throws(MnemoError) in
            try await space.dropIndex("n")
        }
        for name in ["", "$x", "id", "createdAt"] {
            await Self.expectError(.invalidArgument, field: name) { () async throws(MnemoError) in
                try await space.createIndex(name, kind: .numeric)
            }
        }
        await Self.expectError(.invalidArgument, field: "createdAt") { () async throws(MnemoError) in
            try await space.dropIndex("createdAt")
        }
        let long = String(repeating: "a", count: 65)
        await Self.expectError(.tooLarge, field: long, status: .tooLarge) { () async throws(MnemoError) in
            try await space.createIndex(long, kind: .keyword)
        }
        #expect(try space.indexes() == original)
        #expect(try await space.count(filter: Filter.field("kind") == "fact") == 25)

        // 64 created indexes is the limit: the 65th is `.tooLarge` (status `.full`), never a
        // retried back-pressure.
        let sixtyFour = String(repeating: "b", count: 64)
        try await space.createIndex(sixtyFour, kind: .keyword) // a 64-byte name is allowed
        for i in 0..<62 { try await space.createIndex("f\(i)", kind: i % 2 == 0 ? .numeric : .keyword) }
        let full = try space.indexes()
        #expect(full.count == 65 && full.filter { !$0.isBuiltIn }.count == 64)
        await Self.expectError(.tooLarge, field: "n", status: .full) { () async throws(MnemoError) in
            try await space.createIndex("n", kind: .numeric)
        }
        #expect(try space.indexes() == full)
        try await space.dropIndex("f0")
        #expect(try await space.createIndex("n", kind: .numeric) == 50)
        #expect(try space.indexes().last?.name == "n")
        #expect(try await space.count(filter: Filter.field("n") >= 40) == 10)
        await database.close()
    }

    /// The names and kinds of a space's created indexes, and what some indexed filters answer.
    static func snapshot(_ space: Space) async throws -> [String] {
        let definitions = try space.indexes().map { "\($0.name):\($0.kind):\($0.present)" }
        let counts = [
            try await space.count(filter: Filter.field("kind") == "fact"),
            try await space.count(filter: Filter.field("n") < 30 && Filter.field("kind") != "chat"),
            try await space.list(filter: Filter.field("tag").in(["x"]), limit: 1000).memories.count,
        ].map { "\($0)" }
        return definitions + counts
    }

    static func fill(_ space: Space, from: Int, to: Int) async throws {
        for i in from..<to {
            try await space.insert(Memory(id: "m\(i)", vector: [Float(i), 1, 2, 3],
                                          metadata: ["kind": .string(i % 3 == 0 ? "fact" : "chat"), "n": .int(Int64(i)),
                                                     "tag": .strings(i % 4 == 0 ? ["x"] : ["y"])]))
        }
    }

    @Test func indexesSurviveReopenAndExport() async throws {
        let path = try DurabilityTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = DatabaseOptions(workers: 2)
        options.durability = .sync
        var expected: [String] = []
        do {
            let database = try await Database(path: path, options: options)
            let space = try await database.createSpace("s", dimension: 4, metric: .l2)
            try await Self.fill(space, from: 0, to: 60)
            try await space.createIndex("kind", kind: .keyword)
            try await space.createIndex("n", kind: .numeric)
            try await space.createIndex("gone", kind: .numeric)
            try await space.createIndex("tag", kind: .keyword)
            try await space.dropIndex("gone")
            try await Self.fill(space, from: 60, to: 90) // kept current after the create
            expected = try await Self.snapshot(space)
            #expect(expected.prefix(4) == ["createdAt:numeric:90", "kind:keyword:90", "n:numeric:90", "tag:keyword:90"])
            await database.close()
        }
        // Log replay.
        do {
            let database = try await Database(path: path, options: options)
            let space = try await database.space("s")
            #expect(try await Self.snapshot(space) == expected)
            try await database.checkpoint()
            await database.close()
        }
        // The checkpoint.
        let database = try await Database(path: path, options: options)
        let space = try await database.space("s")
        #expect(try await Self.snapshot(space) == expected)
        let stats = try await space.searchWithStats([1, 1, 2, 3], k: 5, filter: Filter.field("n") < 10)
        #expect(stats.stats.indexExact && stats.hits.count == 5)
        // Export and import, into another (in-memory) database.
        let stream = try await space.export()
        let other = try Database(options: DatabaseOptions(workers: 1))
        let copy = try await other.importSpace("copy", from: stream)
        #expect(try await Self.snapshot(copy) == expected)
        let shape: (FieldIndexInfo) -> String = { "\($0.name) \($0.kind) \($0.entries) \($0.present) \($0.isBuiltIn)" }
        #expect(try copy.indexes().map(shape) == space.indexes().map(shape))
        await other.close()
        await database.close()
    }
}
