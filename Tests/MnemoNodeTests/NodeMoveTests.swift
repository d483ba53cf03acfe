// Moves executed by the nodes themselves: a pending move record written in etcd (as the controller
// writes them) is picked up by its source node, which copies the space to the target, cuts over
// with one transaction (target primary at version + 1, move key deleted) and drops its copy; writes
// sent through a third node while it runs are never lost; a move that cannot run is marked failed
// and changes nothing.
import AsyncHTTPClient
import Foundation
import Mnemo
import MnemoCluster
import MnemoPlacement
import NIOHTTP1
import Synchronization
import Testing
@testable import MnemoServer

@Suite("Cluster nodes execute moves", .enabled(if: EtcdServer.enabled, etcdMissing), .serialized)
struct NodeMoveTests {
    @Test("a pending move is executed by its source and cut over; writes through a third node are kept")
    func moveRuns() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            let name = "moving/agent"
            let (stored, source, target, third, path) = try await cluster.placedSpace(name)
            let seed: [[String: any Sendable]] = (0..<50).map { ["id": "s\($0)", "vector": [1.0, Double($0)]] }
            #expect(try await cluster.call(source, .POST, "\(path)/memories", json: ["memories": seed]).status == 200)

            // Writes through the third node while the move runs; remember the acknowledged ones.
            let acknowledged = Locked<[String]>([])
            let stop = Locked(false)
            let writer = Task {
                var index = 0
                while !stop.withLock({ $0 }) && index < 2000 {
                    let id = "w\(index)"
                    index += 1
                    if let answer = try? await cluster.call(third, .PUT, "\(path)/memories/\(id)",
                                                            json: ["vector": [0.5, Double(index)]]),
                       answer.status == 201 {
                        acknowledged.withLock { $0.append(id) }
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(100))
            let record = MoveRecord(space: stored.space, from: source.id, to: target.id, priority: .low, bytes: 0,
                                    rate: 0, version: stored.assignment.version)
            let moves = MoveStore(client: cluster.etcd, keys: cluster.keys)
            #expect(try await moves.create(record, assignmentRevision: stored.modRevision).isApplied)
            let cutOver = try await eventually(limit: .seconds(60)) {
                try await cluster.assignment(name)?.assignment.primary == target.id
            }
            #expect(cutOver)
            try await Task.sleep(for: .milliseconds(300))
            stop.withLock { $0 = true }
            await writer.value
            let moved = try #require(try await cluster.assignment(name))
            #expect(moved.assignment.version == stored.assignment.version + 1)
            #expect(try await moves.get(stored.space) == nil)
            let dropped = try await eventually { await !source.database.spaces().contains(name) }
            #expect(dropped, "the source kept its copy")
            // Every acknowledged write is on the target, and the seed too.
            let written = acknowledged.withLock { $0 }
            #expect(!written.isEmpty)
            let space = try await target.database.space(name)
            for id in written {
                let memory = try? await space.get(id)
                #expect(memory != nil, "acknowledged write \(id) lost")
            }
            #expect(space.stats().count == 50 + written.count)
            // And the space answers through any node.
            for node in cluster.nodes {
                #expect(try await cluster.call(node, .GET, "\(path)/memories/s7").status == 200)
            }
        }
    }

    @Test("a move that cannot run is marked failed and changes nothing")
    func moveFails() async throws {
        try await TestCluster.with(nodes: 2) { cluster in
            let name = "stuck"
            #expect(try await cluster.call(cluster.nodes[0], .POST, "/v1/spaces", json: ["name": name, "dimension": 2]).status == 201)
            let stored = try #require(try await cluster.assignment(name))
            let record = MoveRecord(space: stored.space, from: stored.assignment.primary, to: NodeID(rawValue: 99),
                                    priority: .high, bytes: 0, rate: 0, version: stored.assignment.version)
            let moves = MoveStore(client: cluster.etcd, keys: cluster.keys)
            #expect(try await moves.create(record, assignmentRevision: stored.modRevision).isApplied)
            let failed = try await eventually { try await moves.get(stored.space)?.record.state == .failed }
            #expect(failed)
            let after = try #require(try await moves.get(stored.space)).record
            #expect(after.attempts == 1 && after.error.contains("not registered"))
            #expect(try await cluster.assignment(name) == stored)
            #expect(await cluster.node(stored.assignment.primary).database.spaces().contains(name))
        }
    }
}
