// ClusterBench: `mnemo cluster bench`. It starts a private etcd and N `mnemo serve` nodes on
// loopback (children of this binary), creates the spaces through random nodes, keeps several
// clients writing continuously through random nodes (so most requests are forwarded), and runs
// the scenarios while the writes go on:
//
//   join   a new node starts; the controller moves its share of spaces to it
//   drain  one node is drained (POST /v1/cluster/drain); every space it owns moves away
//   hot    a fifth of all writes go to one space; the planner moves the others off its node
//   cross  single-space and cross-space searches for the same time (CrossSearchProbe): the one
//          feature that crosses nodes, measured separately (its row adds the *_qps and *_ms keys)
//
// Each scenario ends when the cluster is quiet (no move keys, no assignment change for
// `settle` seconds) and its condition holds (the new node owns spaces; the drained node owns
// none). One row per scenario: moved spaces (primaries that changed) and the ideal count (join:
// the new node's capacity share; drain: what the node owned; hot: what the planner plans on the
// workload the clients really sent), seconds until the last assignment change, stale-route
// errors (WRONG_NODE answers counted by the nodes, over the requests the clients sent), failed
// requests (a final non-2xx answer after the retries a client makes on 429/503/connection
// errors; every write is an idempotent PUT of a fresh id, so retrying cannot apply it twice),
// and lost writes: at the end each space's memory count is read back and compared with the
// acknowledged writes (a write that never got an answer may or may not be there; it is
// counted as indeterminate, never as acknowledged).
import AsyncHTTPClient
import Foundation
import MnemoCluster
import MnemoPlacement
import Synchronization

/// The cluster benchmark.
struct ClusterBench: Sendable {
    /// A scenario.
    enum Scenario: String, CaseIterable, Sendable {
        case join, drain, hot, cross
        case kill, pause, partition
        case etcdRestart = "etcd-restart"
        case moveKill = "move-kill"

        /// Whether it is a fault scenario (FaultScenarios: its own cluster with replicated spaces).
        var isFault: Bool { [.kill, .pause, .partition, .etcdRestart, .moveKill].contains(self) }
    }

    /// What to run.
    struct Options: Sendable {
        var nodes = 5
        var spaces = 10_000
        var clients = 4
        var memoriesPerSpace = 4
        var dimension = 8
        var scenarios: [Scenario] = Scenario.allCases
        /// Share of the writes that go to the hot space in the hot scenario.
        var hotShare = 0.2
        /// Quiet seconds that end a scenario.
        var settle = 3.0
        /// Longest a scenario may take before it is reported as unfinished.
        var timeout = 300.0
        var workers = 1
        /// Moves a node sends or receives at once (`mnemo serve --max-concurrent-moves`).
        var maxConcurrentMoves = 8
        /// Copies per space (`mnemo serve --replicas`); the fault scenarios use 3.
        var replicas = 1
        /// `mnemo serve --write-quorum`.
        var writeQuorum = "majority"
        /// `mnemo serve --lease-ttl` (nil: the server's default).
        var leaseTTL: Int?
        /// Rounds of the kill scenario (a primary killed, failed over, restarted, restored).
        var killRounds = 10
        /// Where node data and logs go (a temporary directory when nil; removed unless `keep`).
        var directory: URL?
        var keep = false
    }

    /// One result row (the keys, plus context).
    struct Row: Encodable, Sendable {
        var scenario: String
        var nodes: Int
        var spaces: Int
        var moved: Int
        var ideal_moved: Int
        var seconds: Double
        var routing_errors_percent: Double
        var failed_requests: Int
        var lost_writes: Int
        var requests: Int
        var indeterminate: Int
        var retried: Int
        /// Requests an owner handed on because their space moved while it served them
        /// (`mnemo_cluster_handoffs_total`): routed right, so not stale routes.
        var handoffs: Int
        var finished: Bool
        /// Spaces and bytes per node before and after (node id → value), for the plot.
        var spaces_before: [String: Int]
        var spaces_after: [String: Int]
        var bytes_before: [String: Int]
        var bytes_after: [String: Int]
        /// The cross scenario's figures (absent in the others).
        var single_qps: Double?
        var single_p50_ms: Double?
        var single_p99_ms: Double?
        var cross_qps: Double?
        var cross_p50_ms: Double?
        var cross_p99_ms: Double?
        /// The fault scenarios' figures (absent in the others; FaultScenarios.swift).
        var rounds: Int?
        var failover_seconds: Double?
        var failover_seconds_max: Double?
        var lease_ttl: Int?
        var acknowledged: Int?
        var converged: Bool?
        var diverged_spaces: Int?
        var versions_decreased: Int?
        var late_acknowledgements: Int?
    }

    let options: Options
    static let clusterName = "bench"
    static let wrongNodeMetric = "mnemo_cluster_wrong_node_total"
    static let handoffsMetric = "mnemo_cluster_handoffs_total"
    /// How long the hot scenario sends its hot share at least.
    static let hotSeconds = 60.0
    /// How long the cluster runs under the writes before the first scenario at least: two load
    /// reports (every 2 s) reach the controller.
    static let restSeconds = 5.0

    /// Runs every scenario and calls `emit` with each row as it completes.
    /// The balancing scenarios run on spaces with one copy; the fault scenarios on a cluster of
    /// their own, with three copies per space, majority writes and a `--lease-ttl` member lease.
    func run(log: @escaping @Sendable (String) -> Void, emit: @Sendable (Row) -> Void) async throws {
        var balancing = options
        balancing.scenarios = options.scenarios.filter { !$0.isFault }
        balancing.replicas = 1
        balancing.leaseTTL = nil
        if !balancing.scenarios.isEmpty { try await ClusterBench(options: balancing).runCluster(log: log, emit: emit) }
        var faults = options
        faults.scenarios = options.scenarios.filter(\.isFault)
        faults.replicas = 3
        faults.leaseTTL = options.leaseTTL ?? FaultScenarios.leaseTTL
        if !faults.scenarios.isEmpty {
            if let directory = options.directory { faults.directory = directory.appendingPathComponent("faults") }
            try await ClusterBench(options: faults).runCluster(log: log, emit: emit)
        }
    }

    private func runCluster(log: @escaping @Sendable (String) -> Void, emit: @Sendable (Row) -> Void) async throws {
        let directory = options.directory ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("mnemo-cluster-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let network = options.scenarios.contains(.partition) ? try PartitionNetwork.create() : nil
        let etcd: LocalEtcd
        do {
            etcd = try await LocalEtcd.start(alsoOn: network?.hostAddress)
        } catch {
            network?.remove()
            throw error
        }
        let etcdClient = etcd.makeClient()
        let cluster = BenchCluster(etcd: etcd, client: etcdClient, directory: directory, options: options,
                                   network: network)
        do {
            try await runScenarios(cluster, log: log, emit: emit)
        } catch {
            await cluster.shutdown()
            throw error
        }
        await cluster.shutdown()
        if !options.keep { try? FileManager.default.removeItem(at: directory) }
    }

    private func runScenarios(_ cluster: BenchCluster, log: @escaping @Sendable (String) -> Void,
                              emit: @Sendable (Row) -> Void) async throws {
        if options.replicas > 1 {
            return try await FaultScenarios(options: options, cluster: cluster).run(log: log, emit: emit)
        }
        for id in 1...UInt32(options.nodes) { try await cluster.addNode(id) }
        log("\(options.nodes) nodes up; creating \(options.spaces) spaces")
        let names = (0..<options.spaces).map { String(format: "bench/s%06d", $0) }
        let load = WriteLoad(names: names, dimension: options.dimension)
        try await load.createSpaces(on: cluster, memoriesPerSpace: options.memoriesPerSpace,
                                    concurrency: max(4, options.clients * 4))
        log("spaces created; \(options.clients) clients writing")
        let writers = Task { await load.write(on: cluster, clients: options.clients) }
        defer { writers.cancel() }
        // The scenarios start from a cluster at rest: the controller has planned on the load
        // reports of the writes and finished what it planned, so a join's moves are the join's.
        let owners = try await cluster.assignments()
        let (_, _, rested) = try await cluster.settle(from: owners, start: ContinuousClock.now,
                                                      minimum: Self.restSeconds, settle: options.settle,
                                                      timeout: options.timeout, done: { _ in true })
        if !rested { throw ClusterBenchError("the cluster did not come to rest before the scenarios") }
        log("cluster at rest")
        var rows: [Row] = []
        for scenario in options.scenarios {
            log("scenario \(scenario.rawValue)")
            rows.append(try await run(scenario, cluster: cluster, load: load))
        }
        load.stop()
        await writers.value
        // Lost writes are counted once every write has been answered.
        let lost = try await load.lostWrites(on: cluster)
        for var row in rows {
            row.lost_writes = lost
            emit(row)
        }
    }

    private func run(_ scenario: Scenario, cluster: BenchCluster, load: WriteLoad) async throws -> Row {
        let table = try await cluster.assignmentTable()
        let before = table.entries.mapValues(\.assignment.primary)
        let spacesBefore = try await cluster.spacesPerNode(before)
        let bytesBefore = try await cluster.bytesPerNode()
        let wrongBefore = try await cluster.metricTotal(Self.wrongNodeMetric)
        let handoffsBefore = try await cluster.metricTotal(Self.handoffsMetric)
        let countsBefore = load.counters()
        let clock = ContinuousClock()
        let start = clock.now
        var ideal = 0
        var minimum = 0.0
        let done: @Sendable ([SpaceID: NodeID]) -> Bool
        switch scenario {
        case .cross:
            return try await crossSearch(cluster: cluster, load: load, owners: before)
        case .join:
            let id = cluster.nextNodeID
            try await cluster.addNode(id)
            ideal = Int((Double(before.count) / Double(cluster.nodeCount)).rounded(.up))
            done = { $0.values.contains(NodeID(rawValue: id)) }
        case .drain:
            let node = cluster.drainCandidate
            ideal = before.values.filter { $0 == node }.count
            try await cluster.drain(node)
            done = { !$0.values.contains(node) }
        case .hot:
            load.setHot(share: options.hotShare)
            // The controller averages load over 30 s (WorkloadSmoother): the hot space has
            // dominated its node's average after two time constants.
            minimum = Self.hotSeconds
            done = { _ in true }
        case .kill, .pause, .partition, .etcdRestart, .moveKill:
            throw ClusterBenchError("\(scenario.rawValue) runs on the fault cluster (FaultScenarios)")
        }
        let (after, lastChange, finished) = try await cluster.settle(from: before, start: start, minimum: minimum,
                                                                      settle: options.settle,
                                                                      timeout: options.timeout, done: done)
        if scenario == .hot {
            let (rates, seconds) = load.opsPerSecond()
            ideal = try await cluster.plannedMoves(from: table, opsPerSecond: rates, seconds: seconds)
            load.setHot(share: 0)
        }
        let counts = load.counters() - countsBefore
        let wrong = try await cluster.metricTotal(Self.wrongNodeMetric) - wrongBefore
        let handoffs = try await cluster.metricTotal(Self.handoffsMetric) - handoffsBefore
        let moved = after.filter { before[$0.key] != nil && before[$0.key] != $0.value }.count
        return Row(scenario: scenario.rawValue, nodes: cluster.nodeCount, spaces: options.spaces,
                   moved: moved, ideal_moved: ideal, seconds: (lastChange - start).seconds,
                   routing_errors_percent: counts.requests == 0 ? 0 : 100 * wrong / Double(counts.requests),
                   failed_requests: counts.failed, lost_writes: 0, requests: counts.requests,
                   indeterminate: counts.indeterminate, retried: counts.retried, handoffs: Int(handoffs),
                   finished: finished,
                   spaces_before: spacesBefore, spaces_after: try await cluster.spacesPerNode(after),
                   bytes_before: bytesBefore, bytes_after: try await cluster.bytesPerNode())
    }
}

extension ClusterBench {
    /// Seconds each kind of search runs in the cross scenario.
    static let searchSeconds = 5.0

    /// The cross scenario: no moves, single-space and cross-space search figures.
    private func crossSearch(cluster: BenchCluster, load: WriteLoad, owners: [SpaceID: NodeID]) async throws -> Row {
        let spaces = try await cluster.spacesPerNode(owners)
        let bytes = try await cluster.bytesPerNode()
        let wrongBefore = try await cluster.metricTotal(Self.wrongNodeMetric)
        let probe = CrossSearchProbe(cluster: cluster, names: load.names, dimension: options.dimension,
                                     clients: options.clients, seconds: Self.searchSeconds)
        let (single, cross) = try await probe.run(owners: owners)
        let requests = Int((single.queriesPerSecond + cross.queriesPerSecond) * Self.searchSeconds)
            + single.failed + cross.failed
        let wrong = try await cluster.metricTotal(Self.wrongNodeMetric) - wrongBefore
        return Row(scenario: Scenario.cross.rawValue, nodes: cluster.nodeCount, spaces: options.spaces,
                   moved: 0, ideal_moved: 0, seconds: 2 * Self.searchSeconds,
                   routing_errors_percent: requests == 0 ? 0 : 100 * wrong / Double(requests),
                   failed_requests: single.failed + cross.failed, lost_writes: 0, requests: requests,
                   indeterminate: 0, retried: 0, handoffs: 0, finished: true,
                   spaces_before: spaces, spaces_after: spaces, bytes_before: bytes, bytes_after: bytes,
                   single_qps: single.queriesPerSecond, single_p50_ms: single.p50, single_p99_ms: single.p99,
                   cross_qps: cross.queriesPerSecond, cross_p50_ms: cross.p50, cross_p99_ms: cross.p99)
    }
}

/// A failure of the benchmark itself (a node that does not start, a cluster that never settles).
struct ClusterBenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
