// Proves metadata through the Swift API: every value type (and the edges of each: Int64 min
// and max, -0.0, empty strings and lists, non-ASCII text, U+0000 inside a value) round-trips
// through insert, batch insert, get, search and upsert; an upsert replaces the document and one
// without metadata removes it; patchMetadata sets and removes fields keeping the vector, content
// and creation time, answers false for an unknown id, and names the field of every refusal; a
// bad document (each limit one past, a non-finite double, reserved and `$` names) is
// `.invalidMetadata` naming the field with nothing written, and a batch with one bad document is
// refused whole with its position; a durable database keeps metadata across reopen (log replay
// and checkpoint), and export/import keeps it.
import Foundation
@testable import Mnemo
import Testing

@Suite struct MetadataTests {
    static let options = DatabaseOptions(workers: 2)

    /// One document with every type and the edges of each.
    static let everyType: Metadata = [
        "kind": "fact",
        "empty": "",
        "unicode": "Zürich → 東京 🚀",
        "nul": .string("a\u{0}b"),
        "small": .int(Int64.min),
        "big": .int(Int64.max),
        "zero": 0,
        "score": 0.125,
        "negativeZero": .double(-0.0),
        "huge": 1e300,
        "pinned": true,
        "archived": false,
        "tags": ["travel", "project-x", ""],
        "none": .strings([]),
    ]

    func makeSpace(_ database: Database, dimension: Int = 4) async throws -> Space {
        try await database.createSpace("s", dimension: dimension, metric: .l2)
    }

    @Test func literalsAndAccessors() {
        var metadata: Metadata = ["b": 1, "a": "x", "c": 2.5, "d": true, "e": ["p", "q"]]
        #expect(metadata.count == 5)
        #expect(metadata.names == ["a", "b", "c", "d", "e"])
        #expect(metadata["a"]?.stringValue == "x")
        #expect(metadata["b"]?.intValue == 1)
        #expect(metadata["b"]?.doubleValue == 1)
        #expect(metadata["c"]?.doubleValue == 2.5)
        #expect(metadata["d"]?.boolValue == true)
        #expect(metadata["e"]?.stringsValue == ["p", "q"])
        #expect(metadata["a"]?.intValue == nil)
        metadata["a"] = nil
        #expect(metadata.count == 4 && metadata["a"] == nil)
        #expect(Array(metadata).map(\.name) == ["b", "c", "d", "e"])
        #expect(Metadata().isEmpty)
        // Stored order is bytewise UTF-8, so "Z" (0x5A) sorts before "a" and "é" after "z".
        #expect(Metadata(["é": 1, "z": 1, "Z": 1, "a": 1]).names == ["Z", "a", "z", "é"])
        #expect(MetadataValue.int(5) != MetadataValue.double(5))
    }

    @Test func encodingRoundTripsThroughTheCodec() throws {
        let bytes = try CCore.encodeMetadata(Self.everyType, "test")
        #expect(!bytes.isEmpty)
        let decoded = bytes.withUnsafeBytes { CCore.decodeMetadata($0.baseAddress, $0.count) }
        #expect(decoded == Self.everyType)
        #expect(try CCore.encodeMetadata([:], "test").isEmpty)
        // One encoding: the same fields built in any order give the same bytes.
        var reversed = Metadata()
        for (name, value) in Self.everyType.reversed() { reversed[name] = value }
        #expect(try CCore.encodeMetadata(reversed, "test") == bytes)
        // -0.0 is stored as 0.0.
        let negative = try CCore.encodeMetadata(["z": .double(-0.0)], "test")
        let positive = try CCore.encodeMetadata(["z": .double(0.0)], "test")
        #expect(negative == positive)
    }

    @Test func everyTypeRoundTripsThroughInsertGetSearchAndUpsert() async throws {
        let database = try Database(options: Self.options)
        let space = try await makeSpace(database)
        try await space.insert(Memory(id: "one", vector: [1, 0, 0, 0], text: "one", metadata: Self.everyType))
        try await space.insert(Memory(id: "bare", vector: [0, 1, 0, 0], text: "bare"))
        let created = Date(timeIntervalSince1970: 1_700_000_000)
        try await space.insert(Memory(id: "dated", vector: [0, 0, 1, 0], createdAt: created, metadata: ["k": 1]))
        var batch: [Memory] = []
        for i in 0..<20 {
            var metadata = Metadata()
            if i % 2 == 0 {
                metadata["i"] = .int(Int64(i))
                metadata["tags"] = .strings(["t\(i)"])
            }
            batch.append(Memory(id: "b\(i)", vector: [0, 0, 0, Float(i + 1)], metadata: metadata))
        }
        try await space.insert(contentsOf: batch)

        let one = try #require(try await space.get("one"))
        #expect(one.metadata == Self.everyType)
        #expect(one.metadata["nul"]?.stringValue == "a\u{0}b")
        #expect(one.metadata["negativeZero"]?.doubleValue?.sign == .plus)
        #expect(one.text == "one" && one.vector == [1, 0, 0, 0])
        #expect(try await space.get("bare")?.metadata.isEmpty == true)
        #expect(try await space.get("dated")?.metadata == ["k": 1])
        for i in 0..<20 {
            var expected = Metadata()
            if i % 2 == 0 {
                expected["i"] = .int(Int64(i))
                expected["tags"] = .strings(["t\(i)"])
            }
            let got = try await space.get("b\(i)")?.metadata
            #expect(got == expected)
        }

        let hits = try await space.search([1, 0, 0, 0], k: 30)
        #expect(hits.count == 23)
        #expect(hits.first?.id == "one" && hits.first?.metadata == Self.everyType)
        #expect(hits.first { $0.id == "bare" }?.metadata.isEmpty == true)
        #expect(hits.first { $0.id == "b4" }?.metadata == ["i": 4, "tags": ["t4"]])

        // An upsert replaces the whole document; one without metadata removes it.
        #expect(try await space.upsert(Memory(id: "one", vector: [1, 0, 0, 0], text: "one", metadata: ["new": "doc"])))
        #expect(try await space.get("one")?.metadata == ["new": "doc"])
        #expect(try await space.upsert(Memory(id: "one", vector: [1, 0, 0, 0], text: "one")))
        #expect(try await space.get("one")?.metadata.isEmpty == true)
        #expect(try await space.upsert(Memory(id: "fresh", vector: [1, 1, 0, 0], metadata: Self.everyType)) == false)
        #expect(try await space.get("fresh")?.metadata == Self.everyType)
        await database.close()
    }

    @Test func patchChangesFieldsAndKeepsTheRest() async throws {
        let database = try Database(options: Self.options)
        let space = try await makeSpace(database)
        let created = Date(timeIntervalSince1970: 1_600_000_000.25)
        try await space.insert(Memory(id: "m", vector: [0.5, 0.25, 0, 1], text: "content", createdAt: created,
                                      metadata: ["kind": "draft", "n": 1, "tags": ["a"]]))
        let before = try #require(try await space.get("m"))

        #expect(try await space.patchMetadata("m", set: ["kind": "fact", "score": 0.5, "n": "one"], remove: ["tags"]))
        let after = try #require(try await space.get("m"))
        #expect(after.metadata == ["kind": "fact", "score": 0.5, "n": "one"])
        #expect(after.vector == before.vector)
        #expect(after.content == before.content)
        #expect(after.createdAt == before.createdAt)
        #expect(try await space.search([0.5, 0.25, 0, 1], k: 1).first?.metadata == after.metadata)

        // Every type through a patch; removing an absent name is ignored; removing everything
        // leaves no metadata.
        #expect(try await space.patchMetadata("m", set: Self.everyType, remove: ["absent"]))
        var expected = Self.everyType // its "kind" and "score" replace the old ones
        expected["n"] = "one"
        #expect(try await space.get("m")?.metadata == expected)
        #expect(try await space.patchMetadata("m", remove: expected.names))
        #expect(try await space.get("m")?.metadata.isEmpty == true)
        #expect(try await space.patchMetadata("m"))

        // An unknown id is an answer, not an error.
        #expect(try await space.patchMetadata("nobody", set: ["x": 1]) == false)
        #expect(try await space.get("nobody") == nil)

        // Refusals name the field and change nothing.
        try await space.patchMetadata("m", set: ["keep": true])
        func expectRefusal(set: Metadata = [:], remove: [String] = [], field: String?, status: MnemoError.Code,
                           sourceLocation: SourceLocation = #_sourceLocation) async throws {
            do {
                try await space.patchMetadata("m", set: set, remove: remove)
                Issue.record("patch accepted", sourceLocation: sourceLocation)
            } catch {
                #expect(error.code == .invalidMetadata, "\(error)", sourceLocation: sourceLocation)
                #expect(error.field == field, "\(error)", sourceLocation: sourceLocation)
                #expect(error.status == status, "\(error)", sourceLocation: sourceLocation)
                #expect(error.reason?.isEmpty == false, sourceLocation: sourceLocation)
            }
            #expect(try await space.get("m")?.metadata == ["keep": true], sourceLocation: sourceLocation)
        }
        try await expectRefusal(set: ["x": 1], remove: ["x"], field: "x", status: .invalidArgument)
        try await expectRefusal(remove: ["$bad"], field: "$bad", status: .invalidArgument)
        try await expectRefusal(remove: ["dup", "dup"], field: "dup", status: .invalidArgument)
        try await expectRefusal(set: ["bad": .double(.infinity)], field: "bad", status: .nonFinite)
        // 64 fields in all is the limit: 63 more fit beside "keep", 64 more make a 65th.
        let fields = Metadata(Dictionary(uniqueKeysWithValues: (0..<64).map { (String(format: "f%02d", $0), MetadataValue.int(1)) }))
        // A 65th field: the merge refuses; the field that would be 65th in name order is named.
        try await expectRefusal(set: fields, field: "keep", status: .tooLarge)
        let fit = Metadata(Dictionary(uniqueKeysWithValues: (0..<63).map { (String(format: "f%02d", $0), MetadataValue.int(1)) }))
        #expect(try await space.patchMetadata("m", set: fit))
        #expect(try await space.get("m")?.metadata.count == 64)
        await database.close()
    }

    @Test func mergedDocumentOverALimitNamesTheField() async throws {
        let database = try Database(options: Self.options)
        let space = try await makeSpace(database)
        let fields = Metadata(Dictionary(uniqueKeysWithValues: (0..<64).map { (String(format: "f%02d", $0), MetadataValue.int(1)) }))
        try await space.insert(Memory(id: "m", vector: [1, 2, 3, 4], metadata: fields))
        do {
            try await space.patchMetadata("m", set: ["g": 1])
            Issue.record("a 65th field was accepted")
        } catch {
            #expect(error.code == .invalidMetadata && error.status == .tooLarge, "\(error)")
            #expect(error.field == "g", "\(error)")
        }
        #expect(try await space.get("m")?.metadata == fields)
        await database.close()
    }

    /// Bad documents and the field and status each must name.
    static let badDocuments: [(Metadata, String?, MnemoError.Code)] = [
        (["$op": 1], "$op", .invalidArgument),
        (["id": "x"], "id", .invalidArgument),
        (["createdAt": 1], "createdAt", .invalidArgument),
        (["": 1], nil, .invalidArgument),
        (["nul\u{0}name": 1], nil, .invalidArgument),
        (["ok": 1, "nan": .double(.nan)], "nan", .nonFinite),
        (["inf": .double(-.infinity)], "inf", .nonFinite),
        ([String(repeating: "n", count: 65): 1], nil, .tooLarge),
        (["long": .string(String(repeating: "x", count: 4097))], "long", .tooLarge),
        (["item": .strings([String(repeating: "x", count: 4097)])], "item", .tooLarge),
        (["list": .strings((0..<257).map { "t\($0)" })], "list", .tooLarge),
        (Metadata(Dictionary(uniqueKeysWithValues: (0..<65).map { (String(format: "f%02d", $0), MetadataValue.int(1)) })),
         "f64", .tooLarge),
        (Metadata(Dictionary(uniqueKeysWithValues: (0..<5).map { (String(format: "s%d", $0), MetadataValue.string(String(repeating: "y", count: 4000))) })),
         "s4", .tooLarge),
    ]

    @Test func badDocumentsAreRefusedNamingTheField() async throws {
        let database = try Database(options: Self.options)
        let space = try await makeSpace(database)
        // The limits themselves are accepted.
        let atLimits: Metadata = [
            String(repeating: "n", count: 64): .string(String(repeating: "x", count: 4096)),
            "list": .strings((0..<256).map { "t\($0)" }),
        ]
        try await space.insert(Memory(id: "limits", vector: [1, 1, 1, 1], metadata: atLimits))
        #expect(try await space.get("limits")?.metadata == atLimits)

        for (index, (metadata, field, status)) in Self.badDocuments.enumerated() {
            for write in 0..<3 {
                do {
                    let memory = Memory(id: "bad\(index)", vector: [1, 0, 0, 0], metadata: metadata)
                    switch write {
                    case 0: try await space.insert(memory)
                    case 1: try await space.upsert(memory)
                    default: try await space.insert(Memory(id: "dated\(index)", vector: [1, 0, 0, 0],
                                                           createdAt: Date(), metadata: metadata))
                    }
                    Issue.record("bad document \(index) accepted by write \(write)")
                } catch {
                    #expect(error.code == .invalidMetadata, "document \(index): \(error)")
                    #expect(error.status == status, "document \(index): \(error)")
                    if let field { #expect(error.field == field, "document \(index): \(error)") }
                    #expect(error.reason?.isEmpty == false)
                }
            }
        }
        #expect(space.stats().count == 1)
        await database.close()
    }

    @Test func batchWithOneBadDocumentIsRefusedWhole() async throws {
        let database = try Database(options: Self.options)
        let space = try await makeSpace(database)
        var batch = (0..<10).map { Memory(id: "m\($0)", vector: [Float($0), 1, 0, 0], metadata: ["i": .int(Int64($0))]) }
        batch[6].metadata["$where"] = "x"
        do {
            try await space.insert(contentsOf: batch)
            Issue.record("a batch with a bad document was accepted")
        } catch {
            #expect(error.code == .invalidMetadata, "\(error)")
            #expect(error.offendingIndex == 6)
            #expect(error.field == "$where")
        }
        #expect(space.stats().count == 0)
        #expect(try await space.get("m0") == nil)

        batch[6].metadata["$where"] = nil
        batch[3].metadata["score"] = .double(.nan)
        do {
            try await space.insert(contentsOf: batch)
            Issue.record("a batch with a NaN was accepted")
        } catch {
            #expect(error.code == .invalidMetadata && error.status == .nonFinite && error.offendingIndex == 3)
            #expect(error.field == "score")
        }
        #expect(space.stats().count == 0)

        batch[3].metadata["score"] = 0.5
        try await space.insert(contentsOf: batch)
        #expect(space.stats().count == 10)
        #expect(try await space.get("m3")?.metadata == ["i": 3, "score": 0.5])
        #expect(try await space.get("m9")?.metadata == ["i": 9])
        await database.close()
    }

    @Test func durableDatabaseKeepsMetadataAcrossReopen() async throws {
        let path = try DurabilityTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = DatabaseOptions(workers: 2)
        options.durability = .sync
        do {
            let database = try await Database(path: path, options: options)
            let space = try await makeSpace(database)
            try await space.insert(Memory(id: "a", vector: [1, 0, 0, 0], metadata: Self.everyType))
            try await space.insert(contentsOf: [
                Memory(id: "b", vector: [0, 1, 0, 0], metadata: ["kind": "fact"]),
                Memory(id: "c", vector: [0, 0, 1, 0]),
            ])
            try await space.upsert(Memory(id: "c", vector: [0, 0, 1, 0], metadata: ["kind": "upserted"]))
            try await space.patchMetadata("b", set: ["n": 2], remove: ["kind"])
            await database.close()
        }
        do {
            // Replayed from the log.
            let database = try await Database(path: path, options: options)
            let space = try await database.space("s")
            #expect(try await space.get("a")?.metadata == Self.everyType)
            #expect(try await space.get("b")?.metadata == ["n": 2])
            #expect(try await space.get("c")?.metadata == ["kind": "upserted"])
            try await database.checkpoint()
            try await space.patchMetadata("a", set: ["after": "checkpoint"])
            await database.close()
        }
        // Loaded from the checkpoint, then the log after it.
        let database = try await Database(path: path, options: options)
        let space = try await database.space("s")
        var expected = Self.everyType
        expected["after"] = "checkpoint"
        #expect(try await space.get("a")?.metadata == expected)
        #expect(try await space.get("b")?.metadata == ["n": 2])
        #expect(try await space.get("c")?.metadata == ["kind": "upserted"])
        await database.close()
    }

    @Test func exportAndImportKeepMetadata() async throws {
        let database = try Database(options: Self.options)
        let space = try await makeSpace(database)
        var batch: [Memory] = []
        for i in 0..<50 {
            var metadata = Metadata()
            if i % 3 != 0 {
                metadata["i"] = .int(Int64(i))
                metadata["tags"] = .strings(["t\(i % 5)"])
            }
            batch.append(Memory(id: "m\(i)", vector: [Float(i), 1, 2, 3], text: "memory \(i)", metadata: metadata))
        }
        try await space.insert(contentsOf: batch)
        try await space.patchMetadata("m1", set: ["patched": true])
        let stream = try await space.export()
        let copy = try await database.importSpace("copy", from: stream)
        for i in 0..<50 {
            let original = try #require(try await space.get("m\(i)"))
            let imported = try #require(try await copy.get("m\(i)"))
            #expect(imported.metadata == original.metadata)
            #expect(imported == original)
        }
        #expect(try await copy.get("m1")?.metadata["patched"] == true)
        #expect(try await copy.export() == stream)
        await database.close()
    }
}
