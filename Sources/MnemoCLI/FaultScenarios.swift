// FaultScenarios: the fault half of `mnemo cluster bench` (docs/consistency.md, "Tests under
// faults"). A cluster of its own: every space has three copies, writes need a majority, the member
// lease lives `--lease-ttl` seconds (default 5). Clients run a set workload (SetWorkload: distinct inserts, a
// timeout is indeterminate) through random live nodes throughout, while each scenario strikes:
//
//   kill          `killRounds` rounds: a node (primary of a third of the spaces) is killed -9;
//                 its spaces fail over; it is restarted and the copies are restored
//   pause         a node is stopped (SIGSTOP) for longer than its lease, then continued; it must
//                 not acknowledge a write once it was replaced
//   partition     node 1 (run in a network namespace, PartitionNetwork) is cut off from etcd,
//                 its peers and the clients for longer than its lease, then joined again
//   etcd-restart  etcd is killed -9 and restarted while the writes go on
//   move-kill     a node joins; while the controller moves copies (to it, or primary roles between
//                 the others), the sender of a move in flight is killed -9, then restarted
//
// After each scenario has healed: every acknowledged insert must be present (read back in full),
// the copies of every space must converge (equal sequence and checksum on every copy), and the
// assignment versions, polled from etcd throughout, must never go down. `failover_seconds` is the
// time from the fault to the moment etcd names a new primary for every space the node led
// (median over rounds; `failover_seconds_max` the worst), to compare with 2 x the lease TTL.
import Foundation
import MnemoCluster
import MnemoPlacement
import Synchronization

/// The fault scenarios on one cluster.
struct FaultScenarios: Sendable {
    /// The member lease of the fault cluster's nodes, in seconds, unless `--lease-ttl` says
    /// otherwise (the servers' default: on 2 shared cores a busier cluster starves a shorter
    /// lease's renewals, and live nodes are failed over).
    static let leaseTTL = 5
    /// How long a scenario may take to heal (failover, restoration, convergence): 120 s, or
    /// more with more spaces (every copy a lost node held is sent again, on the same cores).
    var healSeconds: Double { max(120, Double(options.spaces) * 0.05) }

    let options: ClusterBench.Options
    let cluster: BenchCluster

    func run(log: @escaping @Sendable (String) -> Void, emit: @Sendable (ClusterBench.Row) -> Void) async throws {
        for id in 1...UInt32(options.nodes) { try await cluster.addNode(id) }
        log("fault cluster: \(options.nodes) nodes, 3 copies per space, majority writes, lease \(options.leaseTTL ?? 0) s; creating \(options.spaces) spaces")
        let names = (0..<options.spaces).map { String(format: "fault/s%06d", $0) }
        try await WriteLoad(names: names, dimension: options.dimension)
            .createSpaces(on: cluster, memoriesPerSpace: options.memoriesPerSpace, concurrency: max(4, options.clients * 4))
        guard try await restored(timeout: healSeconds), try await converge(timeout: healSeconds).0 else {
            throw ClusterBenchError("the fault cluster's spaces never had three equal copies each")
        }
        let load = SetWorkload(names: names, dimension: options.dimension, seeded: options.memoriesPerSpace)
        let writers = Task { await load.write(on: cluster, clients: options.clients) }
        let versions = VersionWatch()
        let watcher = Task { await versions.poll(cluster) }
        defer {
            writers.cancel()
            watcher.cancel()
        }
        log("spaces created and replicated; \(options.clients) clients inserting")
        try await Task.sleep(for: .seconds(2))
        for scenario in options.scenarios {
            log("scenario \(scenario.rawValue)")
            emit(try await run(scenario, load: load, versions: versions, log: log))
        }
        load.stop()
        await writers.value
    }

    private func run(_ scenario: ClusterBench.Scenario, load: SetWorkload, versions: VersionWatch,
                     log: @Sendable (String) -> Void) async throws -> ClusterBench.Row {
        let before = try await cluster.assignments()
        let countsBefore = load.counters()
        let wrongBefore = try await cluster.metricTotal(ClusterBench.wrongNodeMetric)
        let start = ContinuousClock.now
        var failovers: [Double] = []
        var late = 0
        switch scenario {
        case .kill:
            for round in 0..<options.killRounds {
                let victim = try await busiestPrimary()
                if let seconds = try await kill(victim) { failovers.append(seconds) }
                log("kill round \(round + 1): node \(victim) failed over in \(String(format: "%.2f", failovers.last ?? 0)) s")
            }
        case .pause:
            let victim = try await busiestPrimary()
            (failovers, late) = try await pause(victim, load: load)
        case .partition:
            if let seconds = try await partition() { failovers.append(seconds) }
        case .etcdRestart:
            try await cluster.etcd.restart(after: .seconds(2))
        case .moveKill:
            if let seconds = try await killDuringMove(log: log) { failovers.append(seconds) }
        default:
            throw ClusterBenchError("\(scenario.rawValue) is not a fault scenario")
        }
        let healed = try await restored(timeout: healSeconds)
        let (converged, diverged) = try await converge(timeout: healSeconds)
        let lost = try await load.lostWrites(on: cluster)
        let after = try await cluster.assignments()
        let counts = load.counters() - countsBefore
        let wrong = try await cluster.metricTotal(ClusterBench.wrongNodeMetric) - wrongBefore
        let spaces = try await cluster.spacesPerNode(after)
        let bytes = try await cluster.bytesPerNode()
        let sorted = failovers.sorted()
        return ClusterBench.Row(
            scenario: scenario.rawValue, nodes: cluster.nodeCount, spaces: options.spaces,
            moved: after.filter { before[$0.key] != nil && before[$0.key] != $0.value }.count, ideal_moved: 0,
            seconds: (ContinuousClock.now - start).seconds,
            // A killed node's counters start again from zero: what it counted before is lost.
            routing_errors_percent: counts.requests == 0 ? 0 : 100 * max(0, wrong) / Double(counts.requests),
            failed_requests: counts.failed, lost_writes: lost, requests: counts.requests,
            indeterminate: counts.indeterminate, retried: counts.retried, handoffs: 0, finished: healed && converged,
            spaces_before: try await cluster.spacesPerNode(before), spaces_after: spaces, bytes_before: bytes,
            bytes_after: bytes, rounds: scenario == .kill ? options.killRounds : 1,
            failover_seconds: sorted.isEmpty ? nil : sorted[sorted.count / 2], failover_seconds_max: sorted.last,
            lease_ttl: options.leaseTTL, acknowledged: load.acknowledgedCount, converged: converged,
            diverged_spaces: diverged, versions_decreased: versions.decreases, late_acknowledgements: late)
    }

    /// The live node that is the primary of the most spaces.
    private func busiestPrimary() async throws -> UInt32 {
        let primaries = try await cluster.spacesPerNode(cluster.assignments())
        let live = cluster.liveIDs
        guard let victim = live.max(by: { (primaries[String($0)] ?? 0, $1) < (primaries[String($1)] ?? 0, $0) }) else {
            throw ClusterBenchError("no live node")
        }
        return victim
    }

    /// Kills node `victim` (-9), waits for its spaces to fail over, restarts it and waits for the
    /// copies to be restored. Returns the failover time (nil: it led no space).
    private func kill(_ victim: UInt32) async throws -> Double? {
        guard let node = cluster.node(victim) else { throw ClusterBenchError("no node \(victim)") }
        cluster.exclude(victim)
        let struck = ContinuousClock.now
        await node.kill()
        let seconds = try await failedOver(victim, since: struck)
        try await cluster.addNode(victim)
        guard try await restored(timeout: healSeconds), try await converge(timeout: healSeconds).0 else {
            throw ClusterBenchError("the copies lost with node \(victim) were not restored")
        }
        return seconds
    }

    /// Stops node `victim` (SIGSTOP) until its spaces have failed over and one lease more, then
    /// continues it. Returns the failover time and the acknowledgements it gave after it was
    /// replaced (a write it served under a version older than its space's at that moment).
    private func pause(_ victim: UInt32, load: SetWorkload) async throws -> ([Double], Int) {
        guard let node = cluster.node(victim) else { throw ClusterBenchError("no node \(victim)") }
        let led = try await cluster.assignmentTable().entries.filter { $0.value.assignment.primary == NodeID(rawValue: victim) }
        cluster.exclude(victim)
        let struck = ContinuousClock.now
        node.pause()
        let seconds: Double?
        do {
            seconds = try await failedOver(victim, since: struck)
        } catch {
            node.resume()
            throw error
        }
        let replaced = ContinuousClock.now
        let versions = try await cluster.assignmentTable().entries.mapValues(\.assignment.version)
        try await Task.sleep(for: .seconds(Double(options.leaseTTL ?? Self.leaseTTL)))
        load.record(true)
        node.resume()
        cluster.include(victim)
        try await Task.sleep(for: .seconds(Double(3 * (options.leaseTTL ?? Self.leaseTTL))))
        let acks = load.record(false)
        // A write sent after the failover and acknowledged under a version older than the
        // space's version then was accepted by the replaced primary. (One sent before the pause
        // may be answered after it: it was taken while the node still led.)
        let names = load.names
        let late = acks.filter { ack in
            let space = SpaceID(name: names[ack.space])
            guard led[space] != nil, let version = ack.version, let current = versions[space] else { return false }
            return ack.sent > replaced && version < current
        }.count
        return (seconds.map { [$0] } ?? [], late)
    }

    /// Cuts node 1 off (its namespace's link down) until its spaces have failed over and one lease
    /// more, then joins it again. Returns the failover time (nil: it led no space).
    private func partition() async throws -> Double? {
        guard let network = cluster.network else { throw ClusterBenchError("no partition namespace") }
        let victim = BenchCluster.partitionedNode
        cluster.exclude(victim)
        let struck = ContinuousClock.now
        try network.cut()
        let seconds: Double?
        do {
            seconds = try await failedOver(victim, since: struck)
            try await Task.sleep(for: .seconds(Double(options.leaseTTL ?? Self.leaseTTL)))
        } catch {
            try? network.heal()
            throw error
        }
        try network.heal()
        cluster.include(victim)
        return seconds
    }

    /// Adds a node and, once the controller moves copies to it, kills the source of a move in
    /// flight; restarts it. Returns the time its spaces took to fail over (nil: it led none).
    private func killDuringMove(log: @Sendable (String) -> Void) async throws -> Double? {
        let joining = cluster.nextNodeID
        try await cluster.addNode(joining)
        let moves = MoveStore(client: cluster.client, keys: cluster.keys)
        // The sender of a move in flight, one to the new node if there is one: the planner may
        // first hand primary roles over between the old nodes.
        var source: NodeID?
        for _ in 0..<2400 where source == nil {
            let pending = try await moves.load().entries.values.filter { $0.record.state == .pending }.map(\.record)
            source = (pending.first { $0.to == NodeID(rawValue: joining) } ?? pending.first)?.from
            if source == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let source else { throw ClusterBenchError("no move started after node \(joining) joined") }
        log("move-kill: killing node \(source), the sender of a move in flight")
        return try await kill(source.rawValue)
    }

    /// Waits until etcd names another primary for every space `victim` led. Returns the seconds
    /// since `since` (nil when it led none).
    private func failedOver(_ victim: UInt32, since: ContinuousClock.Instant) async throws -> Double? {
        let node = NodeID(rawValue: victim)
        if try await !cluster.assignments().values.contains(node) { return nil }
        while (ContinuousClock.now - since).seconds < healSeconds {
            if try await !cluster.assignments().values.contains(node) { return (ContinuousClock.now - since).seconds }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ClusterBenchError("the spaces of node \(victim) were not failed over within \(healSeconds) s")
    }

    /// Waits until every space has three copies on registered nodes (balancing moves may still
    /// be running: they take minutes at 10,000 spaces and change no copy count).
    private func restored(timeout: Double) async throws -> Bool {
        let start = ContinuousClock.now
        let membership = ClusterMembership(client: cluster.client, keys: cluster.keys)
        while (ContinuousClock.now - start).seconds < timeout {
            let members = try await membership.list().members
            let table = try await cluster.assignmentTable()
            let full = table.entries.values.allSatisfy { entry in
                entry.assignment.copies.count == min(3, members.count)
                    && entry.assignment.copies.allSatisfy { members[$0] != nil }
            }
            if full { return true }
            try await Task.sleep(for: .milliseconds(250))
        }
        return false
    }

    /// Waits until the copies of every space have been seen equal (the same sequence and
    /// checksum on each copy) under the assignment of that moment; the writes go on meanwhile,
    /// so each space is confirmed once (a balancing move after that is checked by the move
    /// itself). Returns whether all were, and how many were not at the end.
    private func converge(timeout: Double) async throws -> (Bool, Int) {
        let start = ContinuousClock.now
        var confirmed = Set<SpaceID>()
        var unconfirmed = 0
        while (ContinuousClock.now - start).seconds < timeout {
            let table = try await cluster.assignmentTable()
            var byNode: [NodeID: [SpaceID]] = [:]
            for (space, entry) in table.entries where !confirmed.contains(space) {
                for copy in entry.assignment.copies { byNode[copy, default: []].append(space) }
            }
            // Every node at once: a write between two nodes' answers makes its space wait a pass.
            let held = await withTaskGroup(of: (NodeID, [String: Checksum]?).self) { group in
                for (node, spaces) in byNode {
                    guard let process = cluster.node(node.rawValue),
                          let body = try? ServerClient.encodeJSON(["spaces": spaces.map(ClusterKeys.hex)]) else { continue }
                    group.addTask {
                        (node, try? await process.client.json(Checksums.self, .POST, "/v1/cluster/checksums", body: body).checksums)
                    }
                }
                var held: [NodeID: [String: Checksum]] = [:]
                for await (node, answer) in group { held[node] = answer }
                return held
            }
            for (space, entry) in table.entries where !confirmed.contains(space) {
                let copies = entry.assignment.copies.map { held[$0]?[ClusterKeys.hex(space)] }
                if !copies.contains(where: { $0 == nil }) && Set(copies.compactMap { $0 }).count == 1 {
                    confirmed.insert(space)
                }
            }
            let left = table.entries.filter { !confirmed.contains($0.key) }
            unconfirmed = left.count
            if unconfirmed == 0 { return (true, 0) }
            if (ContinuousClock.now - start).seconds > timeout - 1 {
                for (space, entry) in left.prefix(3) {
                    let copies = entry.assignment.copies.map {
                        "n\($0.rawValue): \(held[$0]?[ClusterKeys.hex(space)].map { "\($0.sequence)/\($0.checksum)" } ?? "none")"
                    }
                    FileHandle.standardError.write(Data("cluster bench: copies differ: \(space) v\(entry.assignment.version) \(copies)\n".utf8))
                }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        return (false, unconfirmed)
    }

    private struct Checksum: Decodable, Hashable {
        var sequence: UInt64
        var checksum: UInt64
    }

    private struct Checksums: Decodable {
        var checksums: [String: Checksum]
    }
}

/// Polls the assignment table and counts every time a space's version went down.
final class VersionWatch: Sendable {
    private let state = Mutex<(latest: [SpaceID: UInt64], decreases: Int)>(([:], 0))

    /// Times a version was seen lower than before.
    var decreases: Int { state.withLock { $0.decreases } }

    /// Polls every 250 ms until cancelled (etcd may be down for a while: skipped polls).
    func poll(_ cluster: BenchCluster) async {
        while !Task.isCancelled {
            if let table = try? await cluster.assignmentTable() {
                state.withLock { state in
                    for (space, entry) in table.entries {
                        if let seen = state.latest[space], entry.assignment.version < seen { state.decreases += 1 }
                        state.latest[space] = max(state.latest[space] ?? 0, entry.assignment.version)
                    }
                }
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }
}
