// Three cluster nodes in one process on real loopback ports and a real etcd: spaces created through
// any node land where their assignment says; a plain request to a non-owner is forwarded and
// answered; a request routed by an older assignment version is refused with WRONG_NODE and never
// applied; a node whose snapshot is stale answers through one retry after the owner's WRONG_NODE;
// a cross-space search merges hits from spaces on different nodes nearest first; a drained node
// leaves the member list once it owns nothing.
import AsyncHTTPClient
import Foundation
import Mnemo
import MnemoCluster
import MnemoPlacement
import NIOHTTP1
import Synchronization
import Testing
@testable import MnemoServer

@Suite("Cluster nodes and routing", .enabled(if: EtcdServer.enabled, etcdMissing), .serialized)
struct NodeRoutingTests {
    @Test("spaces created through any node land on their assigned primary; non-owners forward")
    func placementAndForwarding() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            var owners: [String: NodeID] = [:]
            for index in 0..<9 {
                let name = "tenant-\(index)/notes"
                let via = cluster.nodes[index % 3]
                let created = try await cluster.call(via, .POST, "/v1/spaces", json: ["name": name, "dimension": 2])
                #expect(created.status == 201, "create \(name) via \(via.id): \(created.json)")
                let stored = try #require(try await cluster.assignment(name))
                #expect(stored.assignment.version == 1)
                owners[name] = stored.assignment.primary
            }
            // The ring spreads nine spaces over more than one node.
            #expect(Set(owners.values).count > 1)
            for (name, owner) in owners {
                for node in cluster.nodes {
                    let has = await node.database.spaces().contains(name)
                    #expect(has == (node.id == owner), "\(name) on \(node.id): \(has), owner \(owner)")
                }
            }
            // A plain write to a non-owner is forwarded, applied at the owner, and answered.
            let (name, owner) = try #require(owners.first)
            let other = try #require(cluster.nodes.first { $0.id != owner })
            let path = "/v1/spaces/\(pathName(name))"
            let written = try await cluster.call(other, .PUT, "\(path)/memories/m1", json: ["vector": [1, 0], "text": "hello"])
            #expect(written.status == 201, "\(written.json)")
            #expect(written.headers.first(name: "Mnemo-Assignment-Version") == "1")
            let count = try await cluster.node(owner).database.space(name).stats().count
            #expect(count == 1)
            let read = try await cluster.call(other, .GET, "\(path)/memories/m1")
            #expect(read.status == 200 && read.json["text"] as? String == "hello")
            #expect(other.cluster.counters.forwards.load(ordering: .relaxed) >= 2)
            // The status lists every member and who owns how many spaces.
            let status = try await cluster.call(other, .GET, "/v1/cluster")
            #expect(status.status == 200)
            let members = status.json["members"] as? [any Sendable] ?? []
            #expect(members.count == 3)
            let owned = members.compactMap { ($0 as? [String: any Sendable])?["spaces"] as? Double }.reduce(0, +)
            #expect(owned == 9)
            // Dropping through a non-owner drops at the owner and removes the assignment.
            let dropped = try await cluster.call(other, .DELETE, path)
            #expect(dropped.status == 204)
            #expect(try await cluster.assignment(name) == nil)
            let stillThere = await cluster.node(owner).database.spaces().contains(name)
            #expect(!stillThere)
        }
    }

    @Test("a request routed by an older assignment version is refused with WRONG_NODE and not applied")
    func staleVersionRefused() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            let name = "stale/space"
            #expect(try await cluster.call(cluster.nodes[0], .POST, "/v1/spaces", json: ["name": name, "dimension": 2]).status == 201)
            let stored = try #require(try await cluster.assignment(name))
            let owner = cluster.node(stored.assignment.primary)
            // The controller bumps the version (same primary): version 2.
            let bumped = Assignment(copies: stored.assignment.copies, version: 2)
            #expect(try await cluster.store.update(stored.space, to: bumped, expecting: stored.modRevision)
                   .isApplied)
            #expect(try await cluster.awaitEverywhere(name, version: 2))
            let path = "/v1/spaces/\(pathName(name))/memories/m1"
            let refused = try await cluster.call(owner, .PUT, path, json: ["vector": [1, 0]],
                                                 headers: [("Mnemo-Assignment-Version", "1")])
            #expect(refused.status == 421)
            #expect(refused.errorCode == "WRONG_NODE")
            #expect(refused.headers.first(name: "Mnemo-Assignment-Version") == "2")
            #expect(refused.headers.first(name: "Mnemo-Owner") == owner.address)
            let error = refused.json["error"] as? [String: any Sendable]
            #expect((error?["owner"] as? [String: any Sendable])?["node"] as? Double == Double(owner.id.rawValue))
            #expect(error?["version"] as? Double == 2)
            #expect(try await owner.database.space(name).stats().count == 0, "the refused write was applied")
            // A route-caching client at a non-owner is told where to go, not forwarded.
            let other = try #require(cluster.nodes.first { $0.id != owner.id })
            let misdirected = try await cluster.call(other, .PUT, path, json: ["vector": [1, 0]],
                                                     headers: [("Mnemo-Assignment-Version", "2")])
            #expect(misdirected.status == 421 && misdirected.headers.first(name: "Mnemo-Owner") == owner.address)
            // The current version is served and says so.
            let served = try await cluster.call(owner, .PUT, path, json: ["vector": [1, 0]],
                                                headers: [("Mnemo-Assignment-Version", "2")])
            #expect(served.status == 201)
            #expect(served.headers.first(name: "Mnemo-Assignment-Version") == "2")
            #expect(try await owner.database.space(name).stats().count == 1)
        }
    }

    @Test("after a move written in etcd, a node with a stale snapshot answers through one retry")
    func staleSnapshotRetries() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            let name = "moving/space"
            let (stored, source, target, stale, path) = try await cluster.placedSpace(name)
            #expect(try await cluster.call(source, .PUT, "\(path)/memories/m1", json: ["vector": [1, 0]]).status == 201)
            // Copy the space to the target as a mover would, then cut over in etcd.
            let imported = try await cluster.copy(path, from: source, to: target)
            #expect(imported.status == 201, "\(imported.json)")
            let moved = Assignment(copies: CopySet([target.id]), version: 2)
            #expect(try await cluster.store.update(stored.space, to: moved, expecting: stored.modRevision)
                   .isApplied)
            #expect(try await cluster.awaitEverywhere(name, version: 2))
            // The stale node still routes by version 1 to the source.
            stale.cluster.table.force(stored.space, stored)
            let wrongBefore = source.cluster.counters.wrongNode.load(ordering: .relaxed)
            let written = try await cluster.call(stale, .PUT, "\(path)/memories/m2", json: ["vector": [0, 1]])
            #expect(written.status == 201, "\(written.json)")
            #expect(written.headers.first(name: "Mnemo-Assignment-Version") == "2")
            #expect(stale.cluster.counters.retries.load(ordering: .relaxed) == 1)
            #expect(source.cluster.counters.wrongNode.load(ordering: .relaxed) == wrongBefore + 1)
            #expect(try await target.database.space(name).stats().count == 2)
            #expect(try await source.database.space(name).stats().count == 1, "the source applied a write it does not own")
            // The stale node learned the new route.
            #expect(stale.cluster.table.lookup(stored.space)?.assignment.primary == target.id)
            let metrics = try await cluster.call(stale, .GET, "/metrics")
            #expect(String(decoding: metrics.body, as: UTF8.self).contains("mnemo_cluster_retries_total 1"))
        }
    }

    @Test("a forwarded write that waited on a move's freeze is handed on to the new owner, not answered WRONG_NODE")
    func frozenWriteHandedOn() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            let name = "handed/on"
            let (stored, source, target, via, path) = try await cluster.placedSpace(name)
            #expect(try await cluster.call(source, .PUT, "\(path)/memories/m1", json: ["vector": [1, 0]]).status == 201)
            #expect(try await cluster.copy(path, from: source, to: target).status == 201)
            // The source freezes the space (the mover's last step); a write through the third node
            // is forwarded to it and waits.
            #expect(await source.state.freezes.freeze(name))
            let wrongBefore = source.cluster.counters.wrongNode.load(ordering: .relaxed)
            let write = Task { try await cluster.call(via, .PUT, "\(path)/memories/m2", json: ["vector": [0, 1]]) }
            try await Task.sleep(for: .milliseconds(500))
            // Cut over in etcd, then thaw as moved: the waiting write is refused here and handed on.
            let moved = Assignment(copies: CopySet([target.id]), version: 2)
            #expect(try await cluster.store.update(stored.space, to: moved, expecting: stored.modRevision).isApplied)
            source.state.freezes.thaw(name, moved: true)
            let written = try await write.value
            #expect(written.status == 201, "\(written.json)")
            #expect(written.headers.first(name: "Mnemo-Assignment-Version") == "2")
            #expect(source.cluster.counters.handoffs.load(ordering: .relaxed) == 1)
            #expect(source.cluster.counters.wrongNode.load(ordering: .relaxed) == wrongBefore)
            #expect(via.cluster.counters.retries.load(ordering: .relaxed) == 0)
            #expect(try await target.database.space(name).stats().count == 2)
            #expect(try await source.database.space(name).stats().count == 1, "the source applied a write it gave away")
        }
    }

    @Test("a cross-space search merges hits from spaces on different nodes, nearest first")
    func crossSpaceSearch() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            var names: [String] = []
            var primaries: Set<NodeID> = []
            var index = 0
            while primaries.count < 3 || names.count < 4 {
                let name = "team-\(index)"
                index += 1
                #expect(try await cluster.call(cluster.nodes[index % 3], .POST, "/v1/spaces",
                                               json: ["name": name, "dimension": 2, "metric": "l2"]).status == 201)
                names.append(name)
                primaries.insert(try #require(try await cluster.assignment(name)).assignment.primary)
                if index > 60 { break }
            }
            #expect(primaries.count == 3)
            // Each space holds points on the x axis at distinct distances from the query (0, 0).
            var expected: [(distance: Double, space: String, id: String)] = []
            for (spaceIndex, name) in names.enumerated() {
                for point in 0..<4 {
                    let x = Double(spaceIndex) * 0.25 + Double(point) * 1.1 + 0.1
                    let id = "p\(point)"
                    let put = try await cluster.call(cluster.nodes[point % 3], .PUT,
                                                     "/v1/spaces/\(pathName(name))/memories/\(id)",
                                                     json: ["vector": [x, 0]])
                    #expect(put.status == 201)
                    expected.append((Double(Float(x) * Float(x)), name, id))
                }
            }
            expected.sort { ($0.distance, $0.space, $0.id) < ($1.distance, $1.space, $1.id) }
            for via in cluster.nodes {
                let answer = try await cluster.call(via, .POST, "/v1/search",
                                                    json: ["spaces": names, "vector": [0, 0], "k": 7, "include": [String]()])
                #expect(answer.status == 200, "\(answer.json)")
                let hits = (answer.json["hits"] as? [any Sendable] ?? []).compactMap { $0 as? [String: any Sendable] }
                let got = hits.map { "\($0["space"] as? String ?? "?")/\($0["id"] as? String ?? "?")" }
                #expect(got == expected.prefix(7).map { "\($0.space)/\($0.id)" })
            }
            // Spaces of another metric do not mix.
            #expect(try await cluster.call(cluster.nodes[0], .POST, "/v1/spaces",
                                           json: ["name": "cosine-space", "dimension": 2]).status == 201)
            let mixed = try await cluster.call(cluster.nodes[1], .POST, "/v1/search",
                                               json: ["spaces": [names[0], "cosine-space"], "vector": [1, 0]])
            #expect(mixed.status == 400 && mixed.errorCode == "badRequest")
        }
    }

    @Test("a drained node leaves the member list once it owns no space")
    func drainLeaves() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            let leaving = cluster.nodes[2]
            // Make sure the leaving node owns something, placed by hand.
            let name = "drain/space"
            let space = SpaceID(name: name)
            #expect(try await cluster.store.create(space, Assignment(copies: CopySet([leaving.id]), version: 1))
                   .isApplied)
            #expect(try await cluster.awaitEverywhere(name, version: 1))
            let drained = try await cluster.call(leaving, .POST, "/v1/cluster/drain")
            #expect(drained.status == 202)
            #expect(drained.json["spaces"] as? Double == 1)
            let members = ClusterMembership(client: cluster.etcd, keys: cluster.keys)
            #expect(try await members.list().members[leaving.id]?.state == .draining)
            // Still owning a space, it stays a member; once the space is elsewhere it leaves.
            let stored = try #require(try await cluster.assignment(name))
            #expect(try await cluster.store.update(space, to: Assignment(copies: CopySet([cluster.nodes[0].id]), version: 2),
                                                   expecting: stored.modRevision).isApplied)
            let left = try await eventually { try await members.list().members[leaving.id] == nil }
            #expect(left)
            #expect(leaving.cluster.hasLeft)
            // New spaces are no longer placed on it.
            for index in 0..<12 {
                let created = try await cluster.call(cluster.nodes[0], .POST, "/v1/spaces",
                                                     json: ["name": "after-\(index)", "dimension": 2])
                #expect(created.status == 201)
                #expect(try await cluster.assignment("after-\(index)")?.assignment.primary != leaving.id)
            }
        }
    }

    @Test("a node whose member lease was lost registers again")
    func leaseLost() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let node = cluster.nodes[0]
            let members = ClusterMembership(client: cluster.etcd, keys: cluster.keys)
            let before = try #require(try await cluster.etcd.get(cluster.keys.member(node.id)).first)
            try await cluster.etcd.revokeLease(before.lease)
            #expect(try await members.list().members[node.id] == nil)
            let back = try await eventually(limit: .seconds(60)) {
                guard let kv = try await cluster.etcd.get(cluster.keys.member(node.id)).first else { return false }
                return kv.lease != before.lease
            }
            #expect(back, "the node did not register again")
            #expect(try await members.list().members[node.id]?.address == node.address)
        }
    }
}

extension AssignmentWrite {
    /// Whether the write applied.
    var isApplied: Bool {
        if case .applied = self { return true }
        return false
    }
}
