// BenchCluster: what `mnemo cluster bench` holds of its cluster: the private etcd (read directly
// for the assignment table and the move keys, which is how the benchmark sees moves without
// trusting the nodes' own account), the node processes, and the reads a scenario needs: who owns
// what, bytes per node, a metric summed over nodes, and when the cluster has gone quiet.
import Foundation
import MnemoCluster
import MnemoPlacement
import MnemoServer
import NIOHTTP1
import Synchronization

/// The benchmark's cluster: etcd plus node processes.
final class BenchCluster: Sendable {
    let etcd: LocalEtcd
    let client: EtcdClient
    let directory: URL
    let options: ClusterBench.Options
    let keys = ClusterKeys(root: "/mnemo/" + ClusterBench.clusterName)
    /// The partition scenario's namespace (node 1 runs inside it), nil when not run.
    let network: PartitionNetwork?
    /// The admin key of a cluster that is not `--dev` (the partition scenario's).
    let adminKey = UUID().uuidString
    /// Running nodes, and the ones clients no longer send to (drained, or killed or paused by a
    /// fault scenario).
    private let state = Mutex<(nodes: [UInt32: LocalNode], drained: Set<UInt32>)>(([:], []))
    /// Each node's port (a restarted node comes back on it).
    private let ports = Mutex<[UInt32: Int]>([:])

    init(etcd: LocalEtcd, client: EtcdClient, directory: URL, options: ClusterBench.Options,
         network: PartitionNetwork? = nil) {
        self.network = network
        self.etcd = etcd
        self.client = client
        self.directory = directory
        self.options = options
    }

    /// Starts node `id` and waits until it is a member.
    func addNode(_ id: UInt32) async throws {
        let known = ports.withLock { $0[id] }
        let port = try known ?? LocalEtcd.freeLoopbackPort()
        ports.withLock { $0[id] = port }
        var extra = ["--replicas", String(options.replicas), "--write-quorum", options.writeQuorum]
        if let ttl = options.leaseTTL { extra += ["--lease-ttl", String(ttl)] }
        // With a partition namespace, node 1 runs inside it and everyone is reached through the
        // veth pair's addresses (authentication on: not loopback).
        let placement = network.map { network in
            id == Self.partitionedNode
                ? LocalNode.Network(exec: network.exec, bind: network.innerAddress, host: network.innerAddress,
                                    adminKey: adminKey)
                : LocalNode.Network(exec: [], bind: "0.0.0.0", host: network.hostAddress, adminKey: adminKey)
        }
        let node = try await LocalNode.start(id: id, rack: "r\(id % 3)", port: port,
                                             etcd: network.map { etcd.endpoint(on: $0.hostAddress) } ?? etcd.endpoint,
                                             cluster: ClusterBench.clusterName,
                                             directory: directory, workers: options.workers,
                                             maxConcurrentMoves: options.maxConcurrentMoves,
                                             connections: options.clients * 2, extraArguments: extra, network: placement)
        state.withLock {
            $0.nodes[id] = node
            $0.drained.remove(id)
        }
        let membership = ClusterMembership(client: client, keys: keys)
        for _ in 0..<200 {
            if try await membership.list().members[NodeID(rawValue: id)] != nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ClusterBenchError("node \(id) did not register in etcd")
    }

    /// The node the partition scenario isolates (it runs in the namespace).
    static let partitionedNode: UInt32 = 1

    /// The id the next node gets.
    var nextNodeID: UInt32 { state.withLock { ($0.nodes.keys.max() ?? 0) + 1 } }

    /// Nodes clients send to (started and not drained).
    var nodeCount: Int { state.withLock { $0.nodes.count - $0.drained.count } }

    /// The node a drain scenario empties: the second one started (never the only one).
    var drainCandidate: NodeID { NodeID(rawValue: state.withLock { $0.nodes.count > 1 ? 2 : 1 }) }

    /// A node clients may send to, chosen at random.
    func randomNode() -> LocalNode? {
        state.withLock { state in
            let live = state.nodes.filter { !state.drained.contains($0.key) }.values
            return live.randomElement()
        }
    }

    /// Every node process, drained ones included (their metrics still count).
    var allNodes: [LocalNode] { state.withLock { Array($0.nodes.values) } }

    /// Stops sending to `node` (a load balancer would), then drains it.
    func drain(_ node: NodeID) async throws {
        let target = state.withLock { state -> LocalNode? in
            state.drained.insert(node.rawValue)
            return state.nodes[node.rawValue]
        }
        guard let target else { throw ClusterBenchError("no node \(node)") }
        let reply = try await target.client.send(.POST, "/v1/cluster/drain", body: Array("{}".utf8))
        guard (200..<300).contains(reply.status) else { throw ServerClient.failure(reply) }
    }

    /// The node process `id` (nil: never started).
    func node(_ id: UInt32) -> LocalNode? { state.withLock { $0.nodes[id] } }

    /// Ids of the nodes clients send to.
    var liveIDs: [UInt32] { state.withLock { state in state.nodes.keys.filter { !state.drained.contains($0) }.sorted() } }

    /// Takes node `id` out of the clients' rotation (a fault scenario is about to hit it).
    func exclude(_ id: UInt32) { _ = state.withLock { $0.drained.insert(id) } }

    /// Puts node `id` back into the clients' rotation.
    func include(_ id: UInt32) { _ = state.withLock { $0.drained.remove(id) } }

    /// The primary of every space, read from etcd.
    func assignments() async throws -> [SpaceID: NodeID] {
        try await assignmentTable().entries.mapValues(\.assignment.primary)
    }

    /// The assignment table, read from etcd.
    func assignmentTable() async throws -> AssignmentSnapshot {
        try await AssignmentStore(client: client, keys: keys).load()
    }

    /// Spaces per node ("1" → count) in `assignments`.
    func spacesPerNode(_ assignments: [SpaceID: NodeID]) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for node in assignments.values { counts[String(node.rawValue), default: 0] += 1 }
        return counts
    }

    /// Bytes per node as `GET /v1/cluster` reports them. The status reads etcd: after etcd's
    /// restart a node's etcd client may still be reconnecting (503), so it is asked again, of
    /// another node, a few times.
    func bytesPerNode() async throws -> [String: Int] {
        struct Status: Decodable {
            struct Member: Decodable {
                var node: UInt32
                var bytes: Int?
            }
            var members: [Member]
        }
        guard randomNode() != nil else { return [:] }
        let status = try await json(Status.self, .GET, "/v1/cluster", attempts: Self.statusAttempts) { _ in .milliseconds(500) }
        var bytes: [String: Int] = [:]
        for member in status.members { bytes[String(member.node)] = member.bytes ?? 0 }
        return bytes
    }

    /// Tries of a status read (500 ms apart).
    static let statusAttempts = 20

    /// Sends `method path` to a random live node and decodes its 2xx JSON answer; on any failure
    /// (a 503 while a node reconnects to etcd, a dropped connection) asks again, of another
    /// random node, after `pause(attempt)`, up to `attempts` times. Throws the last failure.
    func json<T: Decodable>(_ type: T.Type, _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil,
                            attempts: Int, pause: (Int) -> Duration) async throws -> T {
        var failure: any Error = ClusterBenchError("no node")
        for attempt in 0..<attempts {
            guard let node = randomNode() else { break }
            do {
                return try await node.client.json(type, method, path, body: body)
            } catch {
                failure = error
                if attempt + 1 < attempts { try await Task.sleep(for: pause(attempt)) }
            }
        }
        throw failure
    }

    /// The sum of every sample of the counter `name` over all nodes' /metrics pages.
    func metricTotal(_ name: String) async throws -> Double {
        var total = 0.0
        for node in allNodes where node.isRunning {
            guard let reply = try? await node.client.send(.GET, "/metrics"), reply.status == 200 else { continue }
            for line in reply.text.split(separator: "\n") where line.hasPrefix(name) {
                let rest = line.dropFirst(name.count)
                guard rest.first == " " || rest.first == "{", let value = line.split(separator: " ").last,
                      let number = Double(value) else { continue }
                total += number
            }
        }
        return total
    }

    /// How many move keys exist.
    func pendingMoves() async throws -> Int {
        Int(try await client.range(prefix: keys.root + "/moves/").count)
    }

    /// What the nodes' planner plans for `assignments` and the clients' write rates per space,
    /// with the bytes the nodes last reported.
    func plannedMoves(from assignments: AssignmentSnapshot, opsPerSecond: [SpaceID: Double],
                      seconds: Double) async throws -> Int {
        let membership = try await ClusterMembership(client: client, keys: keys).list().placementMembership()
        let reported = ClusterController.workload(loads: try await LoadStore(client: client, keys: keys).loadAll(),
                                                  assignments: assignments, reportSeconds: 2)
        var stats: [SpaceID: Workload.Stats] = [:]
        for space in Set(reported.stats.keys).union(opsPerSecond.keys) {
            stats[space] = Workload.Stats(bytes: reported[space].bytes, opsPerSecond: opsPerSecond[space] ?? 0)
        }
        // Pooled as the controller pools its averages: counts over `seconds` are as noisy.
        let workload = ClusterController.pooled(
            Workload(defaultStats: Workload.Stats(bytes: reported.defaultStats.bytes, opsPerSecond: 0), stats: stats),
            assignments: assignments, windowSeconds: seconds)
        let planner = RebalancePlanner(configuration: ClusterConfiguration(node: 1).planner)
        return try planner.plan(directory: try assignments.directory(), membership: membership,
                                workload: workload).moves.count
    }

    /// Polls the assignment table once a second until at least `minimum` seconds have passed, no
    /// move key is left, `done` holds and nothing has changed for `settle` seconds, or `timeout`
    /// passes (finished false). Returns the last table and when it last changed.
    func settle(from before: [SpaceID: NodeID], start: ContinuousClock.Instant, minimum: Double, settle: Double,
                timeout: Double, done: @Sendable ([SpaceID: NodeID]) -> Bool) async throws
        -> (assignments: [SpaceID: NodeID], lastChange: ContinuousClock.Instant, finished: Bool)
    {
        let clock = ContinuousClock()
        var last = before
        var lastChange = start
        while true {
            try await Task.sleep(for: .seconds(1))
            let now = try await assignments()
            let stamp = clock.now
            if now != last {
                last = now
                lastChange = stamp
            }
            let quiet = (stamp - lastChange).seconds >= settle && (stamp - start).seconds >= minimum
            if quiet, done(now), try await pendingMoves() == 0 { return (now, lastChange, true) }
            if (stamp - start).seconds > timeout { return (now, lastChange, false) }
        }
    }

    /// Stops every node (SIGTERM: graceful) and etcd, and removes the namespace.
    func shutdown() async {
        try? network?.heal()
        for node in allNodes { await node.stop() }
        try? await client.shutdown()
        await etcd.stop()
        network?.remove()
    }
}
