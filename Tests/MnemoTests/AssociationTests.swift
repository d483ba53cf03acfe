// Proves the Swift association API: link, unlink and recall on a tiny space give exactly the
// activations and hop counts computed by hand below; relinking sets the weight; deleting a
// memory removes its links and an upsert keeps them; bad weights, self links and unknown ids
// throw their typed errors; recall's limit, hop limit and threshold are honoured.
import Foundation
import Mnemo
import Testing

@Suite struct AssociationTests {
    static let options = DatabaseOptions(workers: 2)

    /// The cue (0, 0) is memory a itself, so a is the one seed, with activation 1 / (1 + 0) = 1.
    ///     a -0.8-> b -0.9-> d -1.0-> e,   a -0.5-> c -0.6-> d,   decay 0.5:
    ///     b = 1·0.8·0.5 = 0.4 (hop 1), c = 1·0.5·0.5 = 0.25 (hop 1),
    ///     d = max(0.4·0.9·0.5, 0.25·0.6·0.5) = 0.18 (hop 2), e = 0.18·1·0.5 = 0.09 (hop 3).
    private func makeGraph(_ database: Database) async throws -> Space {
        let space = try await database.createSpace("graph", dimension: 2, metric: .l2)
        let at: [(String, [Float])] = [("a", [0, 0]), ("b", [10, 0]), ("c", [0, 10]), ("d", [10, 10]), ("e", [20, 20])]
        for (id, vector) in at { try await space.insert(Memory(id: id, vector: vector, text: "memory \(id)")) }
        #expect(try await space.link("a", to: "b", weight: 0.8) == false)
        try await space.link("a", to: "c", weight: 0.5)
        try await space.link("b", to: "d", weight: 0.9)
        try await space.link("c", to: "d", weight: 0.6)
        try await space.link("d", to: "e", weight: 0.3)
        #expect(try await space.link("d", to: "e", weight: 1.0) == true) // sets the weight
        #expect(space.linkCount == 5)
        return space
    }

    private func summary(_ memories: [Recollection]) -> [String] {
        memories.map { "\($0.id) \(String(format: "%.6f", $0.activation)) \($0.hops)" }
    }

    @Test func activationsMatchTheHandComputation() async throws {
        let database = try Database(options: Self.options)
        let space = try await makeGraph(database)
        let recalled = try await space.recall(cue: [0, 0], seeds: 1, hops: 3, decay: 0.5, threshold: 0.01,
                                              limit: 10, overSimilarity: false)
        #expect(summary(recalled) == ["a 1.000000 0", "b 0.400000 1", "c 0.250000 1", "d 0.180000 2",
                                      "e 0.090000 3"])
        #expect(recalled.first?.text == "memory a")
        let twoHops = try await space.recall(cue: [0, 0], seeds: 1, hops: 2, limit: 10, overSimilarity: false)
        #expect(twoHops.map(\.id) == ["a", "b", "c", "d"])
        let limited = try await space.recall(cue: [0, 0], seeds: 1, limit: 2, overSimilarity: false)
        #expect(limited.map(\.id) == ["a", "b"])
        let strict = try await space.recall(cue: [0, 0], seeds: 1, threshold: 0.1, limit: 10, overSimilarity: false)
        #expect(strict.map(\.id) == ["a", "b", "c", "d"])
    }

    @Test func unlinkDeleteAndUpsertKeepTheGraphHonest() async throws {
        let database = try Database(options: Self.options)
        let space = try await makeGraph(database)
        // An upsert keeps b's links: same activations.
        try await space.upsert(Memory(id: "b", vector: [11, 1], text: "moved"))
        #expect(space.linkCount == 5)
        var recalled = try await space.recall(cue: [0, 0], seeds: 1, limit: 10, overSimilarity: false)
        #expect(summary(recalled) == ["a 1.000000 0", "b 0.400000 1", "c 0.250000 1", "d 0.180000 2",
                                      "e 0.090000 3"])
        // Without b -> d, d is reached through c: 0.25·0.6·0.5 = 0.075, e = 0.0375.
        try await space.unlink("b", to: "d")
        recalled = try await space.recall(cue: [0, 0], seeds: 1, limit: 10, overSimilarity: false)
        #expect(summary(recalled) == ["a 1.000000 0", "b 0.400000 1", "c 0.250000 1", "d 0.075000 2",
                                      "e 0.037500 3"])
        // Deleting c removes a -> c and c -> d.
        try await space.delete("c")
        #expect(space.linkCount == 2)
        recalled = try await space.recall(cue: [0, 0], seeds: 1, limit: 10, overSimilarity: false)
        #expect(recalled.map(\.id) == ["a", "b"])
    }

    /// p (0,0), q (1,0), r (3,0): similarities 1/(1+1) = 0.5 and 1/(1+9) = 0.1 from p, so
    /// q = 0.5·0.5 = 0.25 and r = 0.1·0.5 = 0.05; a link p -> r of 0.9 lifts r to 0.45.
    @Test func similarityEdgesSpreadToo() async throws {
        let database = try Database(options: Self.options)
        let space = try await database.createSpace("sim", dimension: 2, metric: .l2)
        try await space.insert(Memory(id: "p", vector: [0, 0]))
        try await space.insert(Memory(id: "q", vector: [1, 0]))
        try await space.insert(Memory(id: "r", vector: [3, 0]))
        var recalled = try await space.recall(cue: [0, 0], seeds: 1, hops: 2)
        #expect(summary(recalled) == ["p 1.000000 0", "q 0.250000 1", "r 0.050000 1"])
        try await space.link("p", to: "r", weight: 0.9)
        recalled = try await space.recall(cue: [0, 0], seeds: 1, hops: 2)
        #expect(summary(recalled) == ["p 1.000000 0", "r 0.450000 1", "q 0.250000 1"])
    }

    @Test func badLinksAndRecallsThrowTypedErrors() async throws {
        let database = try Database(options: Self.options)
        let space = try await makeGraph(database)
        for weight: Float in [0, -1, 1.5, .nan] {
            do {
                try await space.link("a", to: "e", weight: weight)
                Issue.record("weight \(weight) was accepted")
            } catch { #expect(error.code == .invalidArgument) }
        }
        do {
            try await space.link("a", to: "a")
            Issue.record("a self link was accepted")
        } catch { #expect(error.code == .invalidArgument) }
        do {
            try await space.link("a", to: "nobody")
            Issue.record("a link to an unknown id was accepted")
        } catch { #expect(error.code == .notFound) }
        do {
            try await space.unlink("a", to: "e")
            Issue.record("unlinking a missing link succeeded")
        } catch { #expect(error.code == .notFound) }
        do {
            _ = try await space.recall(cue: [0, 0, 0])
            Issue.record("a cue of the wrong dimension was accepted")
        } catch { #expect(error.code == .wrongDimension) }
        do {
            _ = try await space.recall(cue: [0, 0], hops: 9)
            Issue.record("9 hops were accepted")
        } catch { #expect(error.code == .invalidArgument) }
        do {
            _ = try await space.recall(cue: [0, 0], limit: 0)
            Issue.record("limit 0 was accepted")
        } catch { #expect(error.code == .invalidArgument) }
        #expect(space.linkCount == 5)
    }
}
