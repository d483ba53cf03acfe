// SpaceMoverTests: two real servers on loopback ports (durable temporary data directories, no
// etcd). A space of 2,000 memories moves from A to B while a task keeps writing to A over
// HTTP: every write A acknowledged is on B, B's sequence is the source's at the cut-over, B
// holds exactly the seed plus the acknowledged writes, and A has dropped the space (a write
// after the cut-over is refused, never applied). A move whose cut-over is refused (the closure
// returns false) leaves A serving the space, writable, and B without a copy; one that throws
// (outcome unknown) leaves A writable and B's copy in place, and the same move resumed
// replaces that copy and completes. The figures (one
// space of 2,000; 100 small spaces) are printed, not asserted.
import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Mnemo
@testable import MnemoServer
import Synchronization
import Testing

@Suite(.serialized) struct SpaceMoverTests {
    static let dimension = 16

    /// Two live servers: each one's harness, server and port.
    struct Pair: Sendable {
        let a: ServerHarness, serverA: MnemoHTTPServer, portA: Int
        let b: ServerHarness, serverB: MnemoHTTPServer, portB: Int
    }

    /// Runs `body` with two live durable servers.
    static func withTwoServers(_ body: @escaping @Sendable (Pair) async throws -> Void) async throws {
        let pathA = try LogRouteTests.temporaryDirectory(), pathB = try LogRouteTests.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: pathA)
            try? FileManager.default.removeItem(atPath: pathB)
        }
        func server(_ path: String) -> MnemoHTTPServer {
            var configuration = ServerConfiguration()
            configuration.port = 0
            configuration.dev = true
            configuration.databaseOptions.workers = 2
            configuration.databaseOptions.pinWorkers = false
            LogRouteTests.durable(&configuration, path)
            var logger = Logger(label: "mnemo.test")
            logger.logLevel = .warning
            return MnemoHTTPServer(configuration: configuration, logger: logger)
        }
        let a = server(pathA), b = server(pathB)
        let applicationA = try await a.makeApplication(), applicationB = try await b.makeApplication()
        try await applicationA.test(.live) { clientA in
            try await applicationB.test(.live) { clientB in
                let harnessA = ServerHarness(client: clientA), harnessB = ServerHarness(client: clientB)
                try await harnessA.waitUntilReady()
                try await harnessB.waitUntilReady()
                try await body(Pair(a: harnessA, serverA: a, portA: try #require(clientA.port),
                                    b: harnessB, serverB: b, portB: try #require(clientB.port)))
            }
        }
    }

    static func vector(_ i: Int, dimension: Int = dimension) -> [Float] {
        (0..<dimension).map { Float(($0 * 31 + i * 7) % 97) / 97 + 0.01 }
    }

    static func seed(_ database: Database, _ name: String, count: Int, dimension: Int = dimension) async throws -> Space {
        let space = try await database.createSpace(name, dimension: dimension, metric: .l2)
        for start in stride(from: 0, to: count, by: 500) {
            try await space.insert(contentsOf: (start..<min(count, start + 500)).map {
                Memory(id: "s\($0)", vector: vector($0, dimension: dimension), text: "seed \($0)")
            })
        }
        return space
    }

    static func mover(_ server: MnemoHTTPServer) throws -> SpaceMover {
        let database = try #require(server.state.openDatabase)
        return SpaceMover(database: database, http: .shared, authorization: nil, logger: server.logger)
    }

    @Test func aSpaceMovesWhileItIsWritten() async throws {
        try await Self.withTwoServers { pair in
            let (a, serverA, b, portB) = (pair.a, pair.serverA, pair.b, pair.portB)
            let databaseA = try #require(serverA.state.openDatabase)
            _ = try await Self.seed(databaseA, "big", count: 2000)
            let acknowledged = Mutex<[String]>([])
            let stop = Mutex(false)
            let moving = Mutex(false)
            let writer = Task {
                var i = 0, refusedAfterMove = 0
                while !stop.withLock({ $0 }) {
                    let id = "w\(i)"
                    let response = try await a.call(.put, "/v1/spaces/big/memories/\(id)",
                                                    json: ["vector": Self.vector(i + 5000).map(Double.init), "text": "write \(i)"])
                    if response.status == .created {
                        acknowledged.withLock { $0.append(id) }
                    } else {
                        // Only a move may refuse a write: frozen (wait ran out), moved, or dropped.
                        #expect(moving.withLock { $0 }, "write \(i) refused before the move: \(response.status)")
                        refusedAfterMove += 1
                        if refusedAfterMove > 50 { break }
                    }
                    i += 1
                }
            }
            // Let some writes land before the move starts.
            while acknowledged.withLock({ $0.count }) < 20 { try await Task.sleep(for: .milliseconds(5)) }
            moving.withLock { $0 = true }
            let started = ContinuousClock.now
            let outcome = try await Self.mover(serverA).move(space: "big", to: "127.0.0.1:\(portB)", moveID: "move-big",
                                                              rate: 2_000_000, freeze: serverA.state.freezes) { true }
            let seconds = SpaceMover.milliseconds(ContinuousClock.now - started) / 1000
            stop.withLock { $0 = true }
            try await writer.value

            let acked = acknowledged.withLock { $0 }
            let info = try await b.call(.get, "/v1/spaces/big")
            #expect(info.status == .ok)
            #expect(info.json["count"] as? Int == 2000 + acked.count, "B holds \(info.json["count"] ?? "?"), A acknowledged \(acked.count) writes")
            var missing: [String] = []
            for id in acked where try await b.call(.get, "/v1/spaces/big/memories/\(id)").status != .ok { missing.append(id) }
            #expect(missing.isEmpty, "acknowledged writes missing on B: \(missing.prefix(10))")
            #expect(try await b.call(.get, "/v1/spaces/big/memories/s1999").json["text"] as? String == "seed 1999")
            let sequence = try await b.call(.post, "/v1/spaces/big/log", raw: [])
            #expect(sequence.json["sequence"] as? Int == Int(outcome.sequence))
            #expect(outcome.sequence == UInt64(2000 / 500 + acked.count))
            #expect(try await a.call(.get, "/v1/spaces/big").status == .notFound)
            #expect(try await a.call(.put, "/v1/spaces/big/memories/late", json: ["vector": Self.vector(1).map(Double.init)]).status != .created)
            print("figure: move of one space of 2,000 memories (dimension 16, paced to 2 MB/s, \(acked.count) writes during it): " +
                  "\(String(format: "%.3f", seconds)) s, \(outcome.bytes) bytes, \(outcome.records) records shipped after the export, " +
                  "frozen \(String(format: "%.1f", outcome.frozenMilliseconds)) ms, \(outcome.attempts) export(s)")
        }
    }

    @Test func aRefusedCutOverLeavesTheSourceServing() async throws {
        try await Self.withTwoServers { pair in
            let (a, serverA, b, portB) = (pair.a, pair.serverA, pair.b, pair.portB)
            let databaseA = try #require(serverA.state.openDatabase)
            _ = try await Self.seed(databaseA, "small", count: 50)
            do {
                try await Self.mover(serverA).move(space: "small", to: "127.0.0.1:\(portB)", moveID: "move-small",
                                                   rate: 0, freeze: serverA.state.freezes) { false }
                Issue.record("a refused cut-over reported success")
            } catch let error as SpaceMoveError {
                #expect(error.message.contains("refused"))
            }
            #expect(try await b.call(.get, "/v1/spaces/small").status == .notFound)
            #expect(try await a.call(.get, "/v1/spaces/small").json["count"] as? Int == 50)
            #expect(!serverA.state.freezes.isFrozen("small"))
            #expect(try await a.call(.put, "/v1/spaces/small/memories/after", json: ["vector": Self.vector(1).map(Double.init)]).status == .created)

            // A cut-over that throws (outcome unknown) thaws the source too.
            struct Unknown: Error {}
            await #expect(throws: Unknown.self) {
                try await Self.mover(serverA).move(space: "small", to: "127.0.0.1:\(portB)", moveID: "move-small-2",
                                                   rate: 0, freeze: serverA.state.freezes) { throw Unknown() }
            }
            #expect(try await a.call(.put, "/v1/spaces/small/memories/after2", json: ["vector": Self.vector(2).map(Double.init)]).status == .created)
            // That copy stays on B (it may be the space); the same move, resumed, replaces it.
            #expect(try await b.call(.get, "/v1/spaces/small").json["count"] as? Int == 51)
            let resumed = try await Self.mover(serverA).move(space: "small", to: "127.0.0.1:\(portB)", moveID: "move-small-2",
                                                             rate: 0, freeze: serverA.state.freezes) { true }
            #expect(try await b.call(.get, "/v1/spaces/small").json["count"] as? Int == 52)
            #expect(try await b.call(.post, "/v1/spaces/small/log", raw: []).json["sequence"] as? Int == Int(resumed.sequence))
            #expect(try await a.call(.get, "/v1/spaces/small").status == .notFound)
        }
    }

    @Test func figuresForManySmallSpaces() async throws {
        try await Self.withTwoServers { pair in
            let (serverA, serverB, b, portB) = (pair.serverA, pair.serverB, pair.b, pair.portB)
            let databaseA = try #require(serverA.state.openDatabase)
            for i in 0..<100 { _ = try await Self.seed(databaseA, "tiny-\(i)", count: 20) }
            let mover = try Self.mover(serverA)
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Four at once, as MoveLimits(maxConcurrentMovesPerNode: 4) would allow.
                for worker in 0..<4 {
                    group.addTask {
                        for i in stride(from: worker, to: 100, by: 4) {
                            try await mover.move(space: "tiny-\(i)", to: "127.0.0.1:\(portB)", moveID: "move-tiny-\(i)",
                                                 rate: 0, freeze: serverA.state.freezes) { true }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seconds = SpaceMover.milliseconds(ContinuousClock.now - started) / 1000
            #expect(await databaseA.spaces().isEmpty)
            #expect(try await b.call(.get, "/v1/spaces/tiny-99").json["count"] as? Int == 20)
            print("figure: move of 100 spaces of 20 memories (4 at once, unpaced): \(String(format: "%.3f", seconds)) s")

            // Back to A, each move paced to 10 MB/s / 4 (Low priority's rate shared by 4 moves).
            let back = SpaceMover(database: try #require(serverB.state.openDatabase), http: .shared, authorization: nil,
                                  logger: serverB.logger)
            let portA = pair.portA
            let again = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        for i in stride(from: worker, to: 100, by: 4) {
                            try await back.move(space: "tiny-\(i)", to: "127.0.0.1:\(portA)", moveID: "back-tiny-\(i)",
                                                rate: 10_000_000 / 4, freeze: serverB.state.freezes) { true }
                        }
                    }
                }
                try await group.waitForAll()
            }
            print("figure: move of 100 spaces of 20 memories (4 at once, 2.5 MB/s each): \(String(format: "%.3f", SpaceMover.milliseconds(ContinuousClock.now - again) / 1000)) s")

            // One space of 2,000 memories of dimension 384 at Low priority's 10 MB/s.
            _ = try await Self.seed(databaseA, "wide", count: 2000, dimension: 384)
            let wide = try await mover.move(space: "wide", to: "127.0.0.1:\(portB)", moveID: "move-wide",
                                            rate: 10_000_000, freeze: serverA.state.freezes) { true }
            #expect(try await b.call(.get, "/v1/spaces/wide").json["count"] as? Int == 2000)
            print("figure: move of one space of 2,000 memories of dimension 384 at 10 MB/s: " +
                  "\(String(format: "%.3f", wide.seconds)) s, \(wide.bytes) bytes")
        }
    }
}
