// Replication between nodes (docs/consistency.md): a space placed with three copies is written on
// its primary and shipped to both replicas; a write is acknowledged once its quorum holds it; a
// replica refuses a sender at another assignment version; a read that accepts staleness is
// answered by a current replica; without its replicas a majority write
// times out (503, indeterminate) while a quorum-one write goes through, and a space created with
// its own quorum keeps it; a primary that leaves is
// failed over to a replica that holds every acknowledged write.
import AsyncHTTPClient
import Foundation
import Mnemo
import MnemoCluster
import MnemoPlacement
import NIOHTTP1
import Testing
@testable import MnemoServer

@Suite("Cluster nodes replicate", .enabled(if: EtcdServer.enabled, etcdMissing), .serialized)
struct NodeReplicationTests {
    /// The local copy of `name` on `node`: (memories, log sequence), nil when it has none.
    static func copy(_ name: String, on node: TestNode) async -> (count: Int, sequence: UInt64)? {
        guard let space = try? await node.database.space(name), let sequence = try? await space.logSequence() else {
            return nil
        }
        return (space.stats().count, sequence)
    }

    /// Whether `node`'s copy of `name` holds memory `id`.
    static func holds(_ name: String, _ id: String, on node: TestNode) async -> Bool {
        guard let space = try? await node.database.space(name) else { return false }
        return ((try? await space.get(id)) ?? nil) != nil
    }

    @Test("a majority write is on two copies when acknowledged; replicas converge; other versions are fenced")
    func replicates() async throws {
        try await TestCluster.with(nodes: 3, configure: { $0.replicationFactor = 3 }) { cluster in
            let name = "replicated/agent"
            let (stored, primary, _, _, path) = try await cluster.placedSpace(name)
            #expect(stored.assignment.copies.count == 3)
            for index in 0..<40 {
                let answer = try await cluster.call(cluster.nodes[index % 3], .PUT, "\(path)/memories/m\(index)",
                                                    json: ["vector": [1.0, Double(index)]])
                #expect(answer.status == 201)
                var holding = 0
                for node in cluster.nodes where await Self.holds(name, "m\(index)", on: node) { holding += 1 }
                #expect(holding >= 2, "write m\(index) acknowledged on \(holding) copies")
            }
            // A quorum-one write is acknowledged too, and reaches the replicas afterwards.
            let one = try await cluster.call(primary, .PUT, "\(path)/memories/single", json: ["vector": [0.0, 1.0]],
                                             headers: [("Mnemo-Write-Quorum", "one")])
            #expect(one.status == 201)
            let bad = try await cluster.callOnce(primary, .PUT, "\(path)/memories/x", json: ["vector": [0.0, 1.0]],
                                                 headers: [("Mnemo-Write-Quorum", "all")])
            #expect(bad.status == 400)
            let converged = try await eventually {
                let primaryCopy = await Self.copy(name, on: primary)
                var same = true
                for node in cluster.nodes {
                    let copy = await Self.copy(name, on: node)
                    same = same && copy?.count == 41 && copy?.sequence == primaryCopy?.sequence
                }
                return same
            }
            #expect(converged, "the replicas did not converge on the primary's sequence")
            var checksums: [SpaceChecksum] = []
            for node in cluster.nodes {
                let answer = try await cluster.callOnce(node, .POST, "/v1/cluster/checksums",
                                                        json: ["spaces": [ClusterKeys.hex(stored.space)]])
                let decoded = try JSONDecoder().decode(ClusterRoutes.ChecksumsAnswer.self, from: Data(answer.body))
                checksums.append(try #require(decoded.checksums[ClusterKeys.hex(stored.space)]))
            }
            #expect(Set(checksums).count == 1, "copies at one sequence differ: \(checksums)")

            // The background check finds copies equal, then a copy changed behind replication's back.
            var local: [SpaceID: String] = [:]
            local[stored.space] = name
            await primary.cluster.checkReplicas(local: local, database: primary.database)
            #expect(primary.cluster.metricsText().contains("mnemo_replication_divergent_spaces 0"))
            #expect(!primary.cluster.metricsText().contains("mnemo_replication_compared_copies_total 0"))

            let replica = cluster.node(stored.assignment.replicas.first!)

            // A read that accepts staleness is answered by a replica whose copy is current; one
            // that does not goes to the primary.
            let replicaRead = try await eventually {
                let answer = try await cluster.callOnce(replica, .GET, "\(path)/memories/m1",
                                                        headers: [("Mnemo-Max-Staleness", "3000")])
                return answer.status == 200 && answer.headers.first(name: "Mnemo-Staleness") != nil
            }
            #expect(replicaRead, "no replica read")
            let strict = try await cluster.callOnce(replica, .GET, "\(path)/memories/m1")
            #expect(strict.status == 200)
            #expect(strict.headers.first(name: "Mnemo-Staleness") == nil)

            _ = try await primary.database.space(name).upsert(Memory(id: "only-primary", vector: [3, 3]))
            _ = try await replica.database.space(name).upsert(Memory(id: "only-replica", vector: [4, 4]))
            await primary.cluster.checkReplicas(local: local, database: primary.database)
            #expect(primary.cluster.metricsText().contains("mnemo_replication_divergent_spaces 1"))

            // Replication at another version is refused by a replica, and by the primary itself.
            let stale = try await cluster.callOnce(replica, .POST, "\(path)/log",
                                                   headers: [("Mnemo-Replica", String(stored.assignment.version + 1))])
            #expect(stale.status == 409)
            #expect(stale.errorCode == "replicaFenced")
            let current = try await cluster.callOnce(replica, .POST, "\(path)/log",
                                                     headers: [("Mnemo-Replica", String(stored.assignment.version))])
            #expect(current.status == 200)
            let atPrimary = try await cluster.callOnce(primary, .POST, "\(path)/log",
                                                       headers: [("Mnemo-Replica", String(stored.assignment.version))])
            #expect(atPrimary.errorCode == "replicaFenced")

            // Dropping the space drops the replicas' copies.
            #expect(try await cluster.call(replica, .DELETE, path).status == 204)
            let gone = try await eventually {
                var any = false
                for node in cluster.nodes where await Self.copy(name, on: node) != nil { any = true }
                return !any
            }
            #expect(gone, "a copy of the dropped space stayed")

            // A failover question fences the replica at that version: the old primary's late
            // records are refused, a newer version's are not.
            let (other, _, _, _, otherPath) = try await cluster.placedSpace("fenced/agent")
            let otherReplica = cluster.node(other.assignment.replicas.first!)
            let hex = ClusterKeys.hex(other.space)
            let question = try await cluster.callOnce(otherReplica, .POST, "/v1/cluster/sequences",
                                                      json: ["spaces": [hex], "versions": [hex: Int(other.assignment.version)]])
            #expect(question.status == 200)
            let late = try await cluster.callOnce(otherReplica, .POST, "\(otherPath)/log",
                                                  headers: [("Mnemo-Replica", String(other.assignment.version))])
            #expect(late.errorCode == "replicaFenced")
            #expect(otherReplica.cluster.fences.enter(other.space, version: other.assignment.version + 1))
            otherReplica.cluster.fences.leave(other.space)
        }
    }

    @Test("without its replicas a majority write times out (503) and a quorum-one write is acknowledged")
    func quorumTimeout() async throws {
        try await TestCluster.with(nodes: 3, configure: {
            $0.replicationFactor = 3
            $0.replicationTimeoutMilliseconds = 800
        }) { cluster in
            let name = "alone/agent"
            let (stored, primary, _, _, path) = try await cluster.placedSpace(name)
            #expect(try await cluster.call(primary, .PUT, "\(path)/memories/before", json: ["vector": [1.0, 0.0]]).status == 201)
            for replica in stored.assignment.replicas { await cluster.node(replica).stop() }
            let lonely = try await eventually { primary.cluster.table.members.members.count == 1 }
            #expect(lonely)
            let majority = try await cluster.callOnce(primary, .PUT, "\(path)/memories/m", json: ["vector": [1.0, 1.0]])
            #expect(majority.status == 503)
            #expect(majority.errorCode == "replicationTimeout")
            let one = try await cluster.callOnce(primary, .PUT, "\(path)/memories/o", json: ["vector": [1.0, 2.0]],
                                                 headers: [("Mnemo-Write-Quorum", "one")])
            #expect(one.status == 201)
        }
    }

    @Test("a space created with its own write quorum keeps it in its assignment and writes by it")
    func spaceQuorum() async throws {
        try await TestCluster.with(nodes: 3, configure: {
            $0.replicationFactor = 3
            $0.replicationTimeoutMilliseconds = 800
        }) { cluster in
            let name = "own-quorum/agent"
            let create = try await cluster.call(cluster.nodes[0], .POST, "/v1/spaces",
                                                json: ["name": name, "dimension": 2, "writeQuorum": "one"])
            #expect(create.status == 201)
            let bad = try await cluster.callOnce(cluster.nodes[0], .POST, "/v1/spaces",
                                                 json: ["name": "bad-quorum", "dimension": 2, "writeQuorum": "all"])
            #expect(bad.status == 400)
            let stored = try #require(try await cluster.assignment(name))
            #expect(stored.writeQuorum == "one")
            let primary = cluster.node(stored.assignment.primary)
            for replica in stored.assignment.replicas { await cluster.node(replica).stop() }
            #expect(try await eventually { primary.cluster.table.members.members.count == 1 })
            let path = "/v1/spaces/\(pathName(name))"
            let one = try await cluster.callOnce(primary, .PUT, "\(path)/memories/a", json: ["vector": [1.0, 0.0]])
            #expect(one.status == 201)
            let majority = try await cluster.callOnce(primary, .PUT, "\(path)/memories/b", json: ["vector": [1.0, 1.0]],
                                                      headers: [("Mnemo-Write-Quorum", "majority")])
            #expect(majority.errorCode == "replicationTimeout")
        }
    }

    @Test("a primary that leaves is failed over to a replica holding every acknowledged write")
    func failover() async throws {
        try await TestCluster.with(nodes: 3, controller: true, configure: { $0.replicationFactor = 3 }) { cluster in
            let name = "failover/agent"
            let (stored, primary, _, _, path) = try await cluster.placedSpace(name)
            let others = cluster.nodes.filter { $0.id != primary.id }
            var acknowledged = 0
            for index in 0..<60 {
                let answer = try await cluster.call(others[index % 2], .PUT, "\(path)/memories/m\(index)",
                                                    json: ["vector": [1.0, Double(index)]])
                if answer.status == 201 { acknowledged += 1 }
            }
            #expect(acknowledged == 60)
            await primary.stop()
            let failedOver = try await eventually(limit: .seconds(30)) {
                guard let now = try await cluster.assignment(name) else { return false }
                return now.assignment.primary != primary.id && !now.assignment.copies.contains(primary.id)
                    && now.assignment.version > stored.assignment.version
            }
            #expect(failedOver, "the space was not failed over")
            let count = try await cluster.call(others[0], .GET, path)
            #expect(count.json["count"] as? Double == 60)
            #expect(try await cluster.call(others[1], .PUT, "\(path)/memories/after", json: ["vector": [2.0, 0.0]]).status == 201)
        }
    }
}
