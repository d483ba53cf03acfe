// LogRouteTests: the log routes on a durable server. A space's records since an export's
// sequence, read through the streamed GET (frames), POSTed to the import of that export make
// an equal copy with the same sequence; the same records again are 409 logDuplicate, records
// that skip ahead 409 logGap, damaged frames 400, and none changes the copy; a bad `after` is
// 400; an empty POST answers the sequence. A Mnemo-Move import replaces only the incoming copy
// of the same move, and a DELETE carrying Mnemo-Move deletes only that copy.
import Foundation
import Hummingbird
import Mnemo
@testable import MnemoServer
import Testing

@Suite struct LogRouteTests {
    static func durable(_ configuration: inout ServerConfiguration, _ path: String) {
        configuration.dataPath = path
        configuration.databaseOptions.durability = .batched(milliseconds: 5)
    }

    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mnemo-logroute-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func memories(_ range: Range<Int>) -> [[String: Any]] {
        range.map { i in ["id": "m\(i)", "vector": [Double(i), 1, Double(i % 7)], "text": "memory \(i)"] }
    }

    @Test func recordsSinceAnExportMakeAnEqualCopy() async throws {
        let path = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await ServerHarness.run(configure: { Self.durable(&$0, path) }) { server in
            try await server.createSpace("a", dimension: 3, metric: "l2")
            #expect(try await server.call(.post, "/v1/spaces/a/memories", json: ["memories": Self.memories(0..<10)]).status == .ok)
            let export = try await server.call(.get, "/v1/spaces/a/export")
            #expect(try await server.call(.put, "/v1/spaces/b/import", raw: export.body).status == .created)
            let start = try await server.call(.post, "/v1/spaces/b/log", raw: [])
            #expect(start.status == .ok)
            #expect(start.json["sequence"] as? Int == 1)

            for i in 10..<30 {
                #expect(try await server.call(.put, "/v1/spaces/a/memories/m\(i)", json: Self.memories(i..<(i + 1))[0]).status == .created)
            }
            #expect(try await server.call(.delete, "/v1/spaces/a/memories/m3").status == .noContent)
            #expect(try await server.call(.put, "/v1/spaces/a/links", json: ["from": "m1", "to": "m2"]).status == .created)
            let log = try await server.call(.get, "/v1/spaces/a/log?after=1")
            #expect(log.status == .ok)
            #expect(log.headers[.contentType] == LogRoutes.mediaType)
            #expect(try await server.call(.get, "/v1/spaces/a/log?after=23").body.count < log.body.count)
            #expect(try await server.call(.get, "/v1/spaces/a/log?after=23").status == .ok)

            // Refusals change nothing.
            let tail = try await server.call(.get, "/v1/spaces/a/log?after=2")
            let gap = try await server.call(.post, "/v1/spaces/b/log", raw: tail.body)
            #expect(gap.status == .conflict)
            #expect(ServerHarness.error(gap.json).code == "logGap")
            let cut = try await server.call(.post, "/v1/spaces/b/log", raw: Array(log.body.dropLast(5)))
            #expect(cut.status == .badRequest)
            #expect(ServerHarness.error(cut.json).code == "truncated")
            #expect(try await server.call(.post, "/v1/spaces/b/log", raw: [1, 2, 3]).status == .badRequest)
            #expect(try await server.call(.get, "/v1/spaces/b").json["count"] as? Int == 10)

            let applied = try await server.call(.post, "/v1/spaces/b/log", raw: log.body)
            #expect(applied.status == .ok, "\(applied.json)")
            #expect(applied.json["sequence"] as? Int == 23)
            let again = try await server.call(.post, "/v1/spaces/b/log", raw: log.body)
            #expect(again.status == .conflict)
            #expect(ServerHarness.error(again.json).code == "logDuplicate")
            let a = try await server.call(.get, "/v1/spaces/a"), b = try await server.call(.get, "/v1/spaces/b")
            #expect(b.json["count"] as? Int == 29 && a.json["count"] as? Int == 29)
            #expect(b.json["linkCount"] as? Int == 1)
            #expect(try await server.call(.get, "/v1/spaces/b/memories/m3").status == .notFound)
            #expect(try await server.call(.get, "/v1/spaces/b/memories/m29").json["text"] as? String == "memory 29")

            #expect(try await server.call(.get, "/v1/spaces/a/log?after=x").status == .badRequest)
            #expect(try await server.call(.get, "/v1/spaces/a/log?after=24").status == .badRequest)
            #expect(try await server.call(.get, "/v1/spaces/none/log").status == .notFound)
        }
    }

    @Test func moveImportsReplaceOnlyTheirOwnCopy() async throws {
        let path = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await ServerHarness.run(configure: { Self.durable(&$0, path) }) { server in
            try await server.createSpace("a", dimension: 3, metric: "l2")
            #expect(try await server.call(.post, "/v1/spaces/a/memories", json: ["memories": Self.memories(0..<5)]).status == .ok)
            let export = try await server.call(.get, "/v1/spaces/a/export").body
            let move1: HTTPFields = [IncomingMoves.header: "move-1"]
            let move2: HTTPFields = [IncomingMoves.header: "move-2"]
            #expect(try await server.call(.put, "/v1/spaces/c/import", raw: export, headers: move1).status == .created)
            // The same move again (a resumed move) replaces its copy; another move does not.
            #expect(try await server.call(.put, "/v1/spaces/c/import", raw: export, headers: move1).status == .created)
            #expect(try await server.call(.put, "/v1/spaces/c/import", raw: export, headers: move2).status == .conflict)
            // An ordinary space is never replaced or deleted by a move's request.
            #expect(try await server.call(.put, "/v1/spaces/a/import", raw: export, headers: move1).status == .conflict)
            let refused = try await server.call(.delete, "/v1/spaces/a", headers: move1)
            #expect(refused.status == .conflict)
            #expect(ServerHarness.error(refused.json).code == "notIncomingCopy")
            #expect(try await server.call(.delete, "/v1/spaces/c", headers: move2).status == .conflict)
            #expect(try await server.call(.delete, "/v1/spaces/c", headers: move1).status == .noContent)
            #expect(try await server.call(.get, "/v1/spaces/c").status == .notFound)
            #expect(try await server.call(.get, "/v1/spaces/a").json["count"] as? Int == 5)
        }
    }
}
