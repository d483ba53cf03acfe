// Proves filtered reads and delete by filter through the Swift API, against a Swift oracle that
// evaluates each filter on the metadata the test generated: over 10,000 memories with random
// metadata (strings, ints, doubles, bools, tag lists, absent fields, explicit creation times)
// and 150 random filters (every operator, `&&`, `||`, `!`, `id` and `createdAt`), filtered
// search never returns a non-matching memory and returns min(k, matches) hits (the exact scan
// exactly the oracle's top k); `searchWithStats` reports the exact scan for a selective filter
// and the traversal for a broad one, with the exact match count for the scan; `count` equals
// the oracle; `list` pages of several sizes list every match exactly once in insertion order,
// keep that order across an upsert and a patch, carry each memory's vector, and end with a nil
// cursor (also when the last page is full); filtered recall returns only matches and equals
// unfiltered recall post-filtered; `delete(filter:)` deletes exactly the matches as one write
// and a durable database reopened (log replay, then a checkpoint) holds exactly the rest; a
// filter the parser refuses throws `.invalidFilter` naming the field from every call and
// changes nothing.
import Foundation
@testable import Mnemo
import Testing

@Suite struct FilteredReadTests {
    static let dimension = 8
    static let count = 10_000
    static let kinds = ["fact", "chat", "note"]
    static let tagNames = ["a", "b", "c", "d"]
    static let epoch: Int64 = 1_700_000_000

    /// splitmix64: deterministic draws.
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
        mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    }

    /// The fields of one memory as the oracle sees them (nil: absent).
    struct Fields {
        var id: String
        var created: Int64
        var kind: String?
        var priority: Int64?
        var score: Double?
        var pinned: Bool?
        var tags: [String]?
        var bucket: Int64

        var metadata: Metadata {
            var m: Metadata = ["bucket": .int(bucket)]
            if let kind { m["kind"] = .string(kind) }
            if let priority { m["priority"] = .int(priority) }
            if let score { m["score"] = .double(score) }
            if let pinned { m["pinned"] = .bool(pinned) }
            if let tags { m["tags"] = .strings(tags) }
            return m
        }
    }

    /// A filter and the oracle's evaluation of it.
    struct Case {
        var filter: Filter
        var test: @Sendable (Fields) -> Bool
    }

    static func makeFields(_ rng: inout Rng) -> [Fields] {
        (0..<count).map { i in
            Fields(id: "m\(i)", created: (epoch + Int64(i)) * 1_000_000_000,
                   kind: rng.chance(85) ? kinds[rng.below(kinds.count)] : nil,
                   priority: rng.chance(80) ? Int64(rng.below(10)) : nil,
                   score: rng.chance(80) ? Double(rng.below(1000)) / 1000 : nil,
                   pinned: rng.chance(70) ? rng.chance(50) : nil,
                   tags: rng.chance(75) ? tagNames.filter { _ in rng.chance(40) } : nil,
                   bucket: Int64(i % 1000))
        }
    }

    static func leaf(_ rng: inout Rng) -> Case {
        switch rng.below(12) {
        case 0:
            let k = kinds[rng.below(kinds.count)]
            return Case(filter: Filter.field("kind") == k) { $0.kind == k }
        case 1:
            let k = kinds[rng.below(kinds.count)]
            return Case(filter: Filter.field("kind") != k) { $0.kind != k }
        case 2:
            let p = Int64(rng.below(10))
            switch rng.below(4) {
            case 0: return Case(filter: Filter.field("priority") < p) { $0.priority.map { $0 < p } ?? false }
            case 1: return Case(filter: Filter.field("priority") <= p) { $0.priority.map { $0 <= p } ?? false }
            case 2: return Case(filter: Filter.field("priority") > p) { $0.priority.map { $0 > p } ?? false }
            default: return Case(filter: Filter.field("priority") >= p) { $0.priority.map { $0 >= p } ?? false }
            }
        case 3:
            let s = Double(rng.below(1000)) / 1000
            return Case(filter: Filter.field("score") > s) { $0.score.map { $0 > s } ?? false }
        case 4:
            let t = tagNames[rng.below(tagNames.count)]
            return Case(filter: Filter.field("tags").contains(t)) { $0.tags?.contains(t) ?? false }
        case 5:
            let set = kinds.filter { _ in rng.chance(50) }
            return Case(filter: Filter.field("kind").in(set)) { f in f.kind.map { set.contains($0) } ?? false }
        case 6:
            let set = kinds.filter { _ in rng.chance(50) }
            return Case(filter: Filter.field("kind").notIn(set)) { f in f.kind.map { !set.contains($0) } ?? true }
        case 7:
            let b = rng.chance(50)
            return Case(filter: Filter.field("pinned") == b) { $0.pinned == b }
        case 8:
            let names = ["kind", "priority", "score", "pinned", "tags"]
            let name = names[rng.below(names.count)]
            let present: @Sendable (Fields) -> Bool = { f in
                switch name {
                case "kind": f.kind != nil
                case "priority": f.priority != nil
                case "score": f.score != nil
                case "pinned": f.pinned != nil
                default: f.tags != nil
                }
            }
            return rng.chance(50) ? Case(filter: Filter.field(name).exists, test: present)
                : Case(filter: Filter.field(name).missing) { !present($0) }
        case 9:
            let ids = (0..<(1 + rng.below(40))).map { _ in "m\(rng.below(count))" }
            return Case(filter: Filter.id.in(ids)) { ids.contains($0.id) }
        case 10:
            let at = (epoch + Int64(rng.below(count))) * 1_000_000_000
            let date = Date(timeIntervalSince1970: Double(at / 1_000_000_000))
            return Case(filter: Filter.createdAt >= date) { $0.created >= at }
        default:
            let b = Int64(rng.below(1000))
            return Case(filter: Filter.field("bucket") < b) { $0.bucket < b }
        }
    }

    static func randomCase(_ rng: inout Rng, depth: Int = 0) -> Case {
        guard depth < 3, rng.chance(55) else { return leaf(&rng) }
        let a = randomCase(&rng, depth: depth + 1)
        switch rng.below(3) {
        case 0:
            let b = randomCase(&rng, depth: depth + 1)
            return Case(filter: a.filter && b.filter) { a.test($0) && b.test($0) }
        case 1:
            let b = randomCase(&rng, depth: depth + 1)
            return Case(filter: a.filter || b.filter) { a.test($0) || b.test($0) }
        default:
            return Case(filter: !a.filter) { !a.test($0) }
        }
    }

    static func vectors(_ rng: inout Rng, _ n: Int) -> [[Float]] {
        (0..<n).map { _ in (0..<dimension).map { _ in rng.unit() } }
    }

    static func distance(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
    }

    /// A space of `count` memories with random metadata, and the oracle's view of them.
    static func makeSpace(_ database: Database, name: String = "s",
                          seed: UInt64 = 7) async throws -> (Space, [Fields], [[Float]]) {
        var rng = Rng(state: seed)
        let fields = makeFields(&rng)
        let vectors = Self.vectors(&rng, count)
        let space = try await database.createSpace(name, dimension: dimension, metric: .l2)
        let memories = fields.indices.map { i in
            Memory(id: fields[i].id, vector: vectors[i], text: "memory \(i)",
                   createdAt: Date(timeIntervalSince1970: Double(fields[i].created / 1_000_000_000)),
                   metadata: fields[i].metadata)
        }
        for start in stride(from: 0, to: memories.count, by: 500) {
            try await space.insert(contentsOf: Array(memories[start..<min(start + 500, memories.count)]))
        }
        return (space, fields, vectors)
    }

    @Test func filteredSearchNeverReturnsANonMatchingMemory() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2))
        let (space, fields, vectors) = try await Self.makeSpace(database)
        let byID = Dictionary(uniqueKeysWithValues: fields.map { ($0.id, $0) })
        var rng = Rng(state: 99)
        var strategies = Set<SearchStats.Strategy>()
        for _ in 0..<150 {
            let c = Self.randomCase(&rng)
            let query = Self.vectors(&rng, 1)[0]
            let matching = fields.indices.filter { c.test(fields[$0]) }
            let k = [1, 10, 50][rng.below(3)]
            let result = try await space.searchWithStats(query, k: k, ef: 64, filter: c.filter)
            strategies.insert(result.stats.strategy)
            let foreign = result.hits.filter { !(byID[$0.id].map(c.test) ?? false) }
            #expect(foreign.isEmpty, "\(c.filter.json): \(foreign.map(\.id))")
            #expect(result.hits.count == min(k, matching.count), "\(c.filter.json)")
            #expect(result.stats.live == Self.count)
            if result.stats.strategy == .exactScan {
                #expect(result.stats.matches == matching.count, "\(c.filter.json)")
                let exact = matching.sorted { Self.distance(query, vectors[$0]) < Self.distance(query, vectors[$1]) }
                    .prefix(k).map { fields[$0].id }
                #expect(Set(result.hits.map(\.id)) == Set(exact), "\(c.filter.json)")
            }
            // The plain entry point answers the same (both run one deterministic plan).
            let plain = try await space.search(query, k: k, ef: 64, filter: c.filter)
            #expect(plain.map(\.id) == result.hits.map(\.id))
            // So does the entry point for callers that must not suspend (the server's event loops).
            let immediate = try space.searchWithoutSuspending(query, k: k, ef: 64, filter: c.filter)
            #expect(immediate.map(\.id) == result.hits.map(\.id))
            // Hits carry the memory's metadata.
            for hit in result.hits { #expect(hit.metadata == byID[hit.id]?.metadata) }
        }
        #expect(strategies == [.exactScan, .traversal])
        await database.close()
    }

    @Test func strategyIsReported() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2))
        let (space, fields, _) = try await Self.makeSpace(database)
        let query = [Float](repeating: 0.1, count: Self.dimension)
        // bucket = i mod 1000: bucket < 500 matches exactly half (5,000: over the scan's 4,096),
        // bucket < 5 exactly 50 memories.
        let broad = try await space.searchWithStats(query, k: 10, filter: Filter.field("bucket") < 500)
        #expect(broad.stats.strategy == .traversal)
        #expect(broad.stats.estimatedMatches > 4_000 && broad.stats.estimatedMatches < 6_000)
        #expect(broad.stats.visited > 0 && broad.stats.sampled > 0)
        #expect(broad.hits.count == 10)
        let narrow = try await space.searchWithStats(query, k: 10, filter: Filter.field("bucket") < 5)
        #expect(narrow.stats.strategy == .exactScan)
        #expect(narrow.stats.matches == fields.filter { $0.bucket < 5 }.count)
        #expect(narrow.stats.matches == 50 && narrow.hits.count == 10)
        #expect(narrow.stats.visited == 0)
        let unfiltered = try await space.searchWithStats(query, k: 10)
        #expect(unfiltered.stats.strategy == .traversal && unfiltered.stats.sampled == 0)
        #expect(unfiltered.stats.estimatedMatches == Self.count)
        #expect(SearchStats.Strategy.exactScan.description == "exact_scan")
        await database.close()
    }

    @Test func countEqualsTheOracle() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2))
        let (space, fields, _) = try await Self.makeSpace(database)
        var rng = Rng(state: 1234)
        for _ in 0..<150 {
            let c = Self.randomCase(&rng)
            #expect(try await space.count(filter: c.filter) == fields.filter(c.test).count, "\(c.filter.json)")
        }
        #expect(try await space.count() == Self.count)
        #expect(try await space.count(filter: .all) == Self.count)
        await database.close()
    }

    /// Every page from the start, concatenated.
    static func listAll(_ space: Space, _ filter: Filter?, limit: Int) async throws -> [Memory] {
        var all: [Memory] = []
        var cursor: MemoryPage.Cursor?
        var pages = 0
        repeat {
            let page = try await space.list(filter: filter, cursor: cursor, limit: limit)
            #expect(page.memories.count <= limit)
            // Only the last page has no cursor, and every page but the last is full.
            if page.nextCursor != nil { #expect(page.memories.count == limit) }
            all += page.memories
            cursor = page.nextCursor
            pages += 1
        } while cursor != nil && pages < 10_000
        return all
    }

    @Test func listPaginatesEachMatchOnceInStableOrder() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2))
        let (space, fields, vectors) = try await Self.makeSpace(database)
        var rng = Rng(state: 555)
        for round in 0..<40 {
            let c = Self.randomCase(&rng)
            let expected = fields.filter(c.test).map(\.id)
            // Small pages only for selective filters: each page is one walk of the space.
            let limit = expected.count <= 200 ? [1, 3, 7][round % 3] : [100, 65_535][round % 2]
            let listed = try await Self.listAll(space, c.filter, limit: limit)
            #expect(listed.map(\.id) == expected, "\(c.filter.json) limit \(limit)")
        }
        // A full last page still ends with a nil cursor: bucket < 2 matches exactly 20.
        let twenty = try await Self.listAll(space, Filter.field("bucket") < 2, limit: 10)
        #expect(twenty.map(\.id) == fields.filter { $0.bucket < 2 }.map(\.id) && twenty.count == 20)
        let exact = try await space.list(filter: Filter.field("bucket") < 2, limit: 20)
        #expect(exact.memories.count == 20 && exact.nextCursor == nil)
        // Memories come whole: vector, content, creation time, metadata.
        let all = try await Self.listAll(space, nil, limit: 2_000)
        #expect(all.map(\.id) == fields.map(\.id))
        for (i, memory) in all.enumerated() {
            #expect(memory.vector == vectors[i] && memory.text == "memory \(i)" && memory.metadata == fields[i].metadata)
            #expect(memory.createdAt == Date(timeIntervalSince1970: Double(fields[i].created / 1_000_000_000)))
        }
        // An upsert and a patch keep a memory's place; a later insert comes last.
        try await space.upsert(Memory(id: "m3", vector: vectors[3], text: "again", metadata: ["kind": "fact"]))
        try await space.patchMetadata("m5", set: ["kind": "fact"])
        try await space.insert(Memory(id: "late", vector: vectors[0], metadata: ["kind": "fact"]))
        var expected = fields.filter { $0.kind == "fact" }.map(\.id)
        for id in ["m3", "m5"] where !expected.contains(id) { expected.append(id) }
        let order = Dictionary(uniqueKeysWithValues: fields.enumerated().map { ($1.id, $0) })
        expected.sort { order[$0, default: 0] < order[$1, default: 0] }
        expected.append("late")
        let facts = try await Self.listAll(space, Filter.field("kind") == "fact", limit: 33)
        #expect(facts.map(\.id) == expected)
        // A cursor round-trips through its text.
        let first = try await space.list(limit: 5)
        let token = try #require(first.nextCursor).description
        let resumed = try await space.list(cursor: MemoryPage.Cursor(token), limit: 5)
        #expect(resumed.memories.map(\.id) == ["m5", "m6", "m7", "m8", "m9"])
        #expect(MemoryPage.Cursor("x") == nil)
        await #expect(throws: MnemoError.self) { try await space.list(limit: 0) }
        await #expect(throws: MnemoError.self) { try await space.list(limit: 65_536) }
        await database.close()
    }

    @Test func filteredRecallReturnsOnlyMatches() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2))
        let (space, fields, _) = try await Self.makeSpace(database)
        let byID = Dictionary(uniqueKeysWithValues: fields.map { ($0.id, $0) })
        var rng = Rng(state: 31)
        for i in 0..<300 {
            try await space.link("m\(i)", to: "m\((i * 7 + 13) % Self.count)", weight: 0.9)
        }
        var spread = 0
        for _ in 0..<40 {
            let c = Self.randomCase(&rng)
            let cue = Self.vectors(&rng, 1)[0]
            let everything = try await space.recall(cue: cue, hops: 2, threshold: 0.001, limit: 20_000)
            let expected = everything.filter { byID[$0.id].map(c.test) ?? false }
            for limit in [1, 5, 20_000] {
                let got = try await space.recall(cue: cue, hops: 2, threshold: 0.001, limit: limit, filter: c.filter)
                #expect(got == Array(expected.prefix(limit)), "\(c.filter.json) limit \(limit)")
                #expect(got.allSatisfy { byID[$0.id].map(c.test) ?? false })
                spread += got.filter { $0.hops > 0 }.count
            }
            // Recollections carry metadata.
            for memory in everything.prefix(5) { #expect(memory.metadata == byID[memory.id]?.metadata) }
        }
        #expect(spread > 0)
        await database.close()
    }

    @Test func deleteByFilterDeletesExactlyTheMatchesAndSurvivesReopen() async throws {
        let path = try DurabilityTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = DatabaseOptions(workers: 2)
        options.durability = .sync
        let first = Filter.field("kind") == "chat" && Filter.field("priority") < 5
        let second = Filter.field("tags").contains("a") || Filter.field("pinned") == true
        var remaining: [String] = []
        do {
            let database = try await Database(path: path, options: options)
            let (space, fields, _) = try await Self.makeSpace(database)
            let chatLow: @Sendable (Fields) -> Bool = { $0.kind == "chat" && ($0.priority.map { $0 < 5 } ?? false) }
            let deleted = try await space.delete(filter: first)
            #expect(deleted == fields.filter(chatLow).count && deleted > 0)
            #expect(try await space.count(filter: first) == 0)
            #expect(try await space.count() == Self.count - deleted)
            #expect(try await space.delete(filter: first) == 0) // nothing left to match
            remaining = fields.filter { !chatLow($0) }.map(\.id)
            let listed = try await Self.listAll(space, nil, limit: 5_000)
            #expect(listed.map(\.id) == remaining)
            await database.close()
        }
        do {
            // Replayed from the log: the same memories.
            let database = try await Database(path: path, options: options)
            let space = try await database.space("s")
            #expect(try await Self.listAll(space, nil, limit: 5_000).map(\.id) == remaining)
            try await database.checkpoint()
            let before = try await space.count(filter: second)
            #expect(try await space.delete(filter: second) == before)
            let survivors = try await Self.listAll(space, nil, limit: 5_000)
            remaining = survivors.map(\.id)
            #expect(try await space.count(filter: second) == 0)
            await database.close()
        }
        // From the checkpoint and the log after it.
        let database = try await Database(path: path, options: options)
        let space = try await database.space("s")
        #expect(try await Self.listAll(space, nil, limit: 5_000).map(\.id) == remaining)
        #expect(try await space.delete(filter: .all) == remaining.count)
        #expect(try await space.count() == 0)
        await database.close()
    }

    @Test func invalidFilterThrowsAndChangesNothing() async throws {
        let database = try Database(options: DatabaseOptions(workers: 2))
        let (space, _, vectors) = try await Self.makeSpace(database)
        var deep = Filter.field("kind") == "fact"
        for _ in 0..<16 { deep = !deep }
        let longName = String(repeating: "n", count: 65)
        let bad: [(Filter, String)] = [
            (Filter.field("score") > Double.nan, "score"),
            (Filter.field(longName) == 1, longName),
            (Filter.field("kind") == "fact" && Filter.field("tags").in([Filter.Operand.double(.infinity)]), "tags"),
        ]
        for (filter, field) in bad {
            func expectInvalid(_ what: String, _ body: () async throws -> Void) async {
                do {
                    try await body()
                    Issue.record("\(what) accepted \(filter.json)")
                } catch let error as MnemoError {
                    #expect(error.code == .invalidFilter, "\(what): \(error)")
                    #expect(error.field == field, "\(what): \(error)")
                } catch {
                    Issue.record("\(what): \(error)")
                }
            }
            await expectInvalid("search") { _ = try await space.search(vectors[0], filter: filter) }
            await expectInvalid("searchWithStats") { _ = try await space.searchWithStats(vectors[0], filter: filter) }
            await expectInvalid("recall") { _ = try await space.recall(cue: vectors[0], filter: filter) }
            await expectInvalid("list") { _ = try await space.list(filter: filter) }
            await expectInvalid("count") { _ = try await space.count(filter: filter) }
            await expectInvalid("delete") { _ = try await space.delete(filter: filter) }
        }
        // Too deep: refused as a limit, nothing deleted.
        do {
            _ = try await space.delete(filter: deep)
            Issue.record("a filter nested 17 deep was accepted")
        } catch {
            #expect(error.code == .invalidFilter && error.status == .tooLarge)
        }
        #expect(try await space.count() == Self.count)
        #expect(space.stats().count == Self.count)
        await database.close()
    }
}
