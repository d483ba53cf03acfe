// The controller's pure parts, separate from its etcd loop so they are easy to read and to test:
// turning etcd's tables into the planner's inputs (Membership, Directory with moves in flight
// applied, Workload from the load reports), and choosing which planned moves start now under the
// MoveLimits and at which byte rate.

import MnemoPlacement

extension ClusterController {
    /// The planner's membership: every registered member in its state, plus every node that an
    /// assignment names but that is not registered (its lease expired), as dead.
    public static func membership(members: MembershipSnapshot,
                                  assignments: AssignmentSnapshot) throws(PlacementError) -> Membership {
        var list = members.members.values.map(\.placementMember)
        var known = Set(members.members.keys)
        for entry in assignments.entries.values {
            for node in entry.assignment.copies where !known.contains(node) {
                known.insert(node)
                list.append(Membership.Member(Node(id: node), state: .dead))
            }
        }
        return try Membership(list)
    }

    /// The directory the planner plans from: the assignment table with every pending move in
    /// `moves` applied (its copy already counted on the receiver), so moves in flight are neither
    /// planned again nor undone. Moves that no longer fit their space's assignment are ignored.
    public static func projectedDirectory(assignments: AssignmentSnapshot,
                                          moves: MoveSnapshot) throws(PlacementError) -> Directory {
        var entries: [(SpaceID, CopySet)] = []
        entries.reserveCapacity(assignments.entries.count)
        var version: UInt64 = 1
        for (space, stored) in assignments.entries {
            var copies = stored.assignment.copies
            if let move = moves.entries[space]?.record, move.state == .pending,
               move.version == stored.assignment.version,
               let next = MoveStore.moved(stored.assignment, from: move.from, to: move.to) {
                copies = next.copies
            }
            entries.append((space, copies))
            version = max(version, stored.assignment.version)
        }
        if entries.isEmpty { return Directory() }
        return try Directory(entries, version: version)
    }

    /// The planner's workload from the nodes' load reports. A space listed in its primary's report
    /// weighs what the report says (ops divided by the seconds the report covers, else by
    /// `reportSeconds`, the reporting period). The rest of the report's totals (beyond every
    /// listed space) belonged to its unlisted spaces, and each unlisted space of the node weighs
    /// their average, including spaces that arrived after the report: a space just moved in is
    /// not weighed as empty (its new node's report does not count it yet; weighed as zero, the
    /// planner saw a joining node still short of bytes once its last moves completed, and sent it
    /// more). Spaces on nodes without a report, or whose report covered no unlisted space, weigh
    /// the mean of the known ones.
    public static func workload(loads: LoadSnapshot, assignments: AssignmentSnapshot,
                                reportSeconds: Double) -> Workload {
        let byNode = spacesByPrimary(assignments)
        var stats: [SpaceID: Workload.Stats] = [:]
        for (node, report) in loads.reports {
            let seconds = reportPeriod(report, reportSeconds: reportSeconds)
            let listedBytes = report.perSpace.values.reduce(UInt64(0)) { $0 &+ $1.bytes }
            let listedOps = report.perSpace.values.reduce(UInt64(0)) { $0 &+ $1.ops }
            let covered = report.spaces - report.perSpace.count
            var unlisted: [SpaceID] = []
            for space in byNode[node] ?? [] {
                if let load = report.perSpace[space] {
                    stats[space] = Workload.Stats(bytes: load.bytes, opsPerSecond: Double(load.ops) / seconds)
                } else {
                    unlisted.append(space)
                }
            }
            if unlisted.isEmpty || covered <= 0 { continue }
            let restBytes = report.bytes > listedBytes ? report.bytes - listedBytes : 0
            let restOps = report.ops > listedOps ? report.ops - listedOps : 0
            let share = Workload.Stats(bytes: restBytes / UInt64(covered),
                                       opsPerSecond: Double(restOps) / seconds / Double(covered))
            for space in unlisted { stats[space] = share }
        }
        var defaultStats = Workload.Stats(bytes: 0, opsPerSecond: 0)
        if !stats.isEmpty {
            let bytes = stats.values.reduce(0.0) { $0 + Double($1.bytes) } / Double(stats.count)
            let ops = stats.values.reduce(0.0) { $0 + $1.opsPerSecond } / Double(stats.count)
            defaultStats = Workload.Stats(bytes: UInt64(bytes.rounded()), opsPerSecond: ops)
        }
        // Every assigned space is listed, so the smoother keeps the history of one whose node's
        // report is missing for a while (it forgets spaces the workload does not list).
        for space in byNode.values.joined() where stats[space] == nil { stats[space] = defaultStats }
        return Workload(defaultStats: defaultStats, stats: stats)
    }

    /// The seconds `report`'s counts cover: its own figure, else the configured period.
    static func reportPeriod(_ report: LoadReport, reportSeconds: Double) -> Double {
        report.seconds ?? (reportSeconds > 0 ? reportSeconds : 1)
    }

    /// The new counting the reports in `loads` bring since `blended` (each node's report revision
    /// at the previous smoothing): every space of a node whose report is new gets the seconds
    /// that report covers, for ``WorkloadSmoother/smooth(_:sampleSeconds:)``.
    public static func sampleSeconds(loads: LoadSnapshot, assignments: AssignmentSnapshot,
                                     blended: [NodeID: Int64], reportSeconds: Double) -> [SpaceID: Double] {
        let byNode = spacesByPrimary(assignments)
        var seconds: [SpaceID: Double] = [:]
        for (node, report) in loads.reports where loads.reportRevisions[node] != blended[node] {
            let period = reportPeriod(report, reportSeconds: reportSeconds)
            for space in byNode[node] ?? [] { seconds[space] = period }
        }
        return seconds
    }

    /// Standard errors a space's load must lie from its node's median to count as its own.
    public static let loadSignificance = 3.0

    /// The spaces of `assignments` by their primary.
    static func spacesByPrimary(_ assignments: AssignmentSnapshot) -> [NodeID: [SpaceID]] {
        var byNode: [NodeID: [SpaceID]] = [:]
        for (space, stored) in assignments.entries {
            byNode[stored.assignment.primary, default: []].append(space)
        }
        return byNode
    }

    /// `workload` with the load of every space that is not measurably busier or quieter than
    /// its node's other spaces replaced by their mean, so the planner sees light spaces as the
    /// equals they are instead of trading them after noise.
    ///
    /// A load is a count of requests over about `windowSeconds` (twice the time constant of an
    /// exponential average), so a space with true rate λ reads λ ± √(λ / window). Among thousands
    /// of light spaces (0.05 requests/s each, averaged over 30 s: ±60%) the planner otherwise
    /// found "heavy" spaces to move every few seconds, without end. Per node (by primary in
    /// `assignments`), a space counts as itself when it lies more than ``loadSignificance`` standard
    /// errors (at least one request per window) from the median of the node's spaces; the others
    /// share their total equally, so each node's total load is unchanged. Bytes are exact and
    /// kept as they are.
    public static func pooled(_ workload: Workload, assignments: AssignmentSnapshot,
                              windowSeconds: Double) -> Workload {
        guard windowSeconds > 0 else { return workload }
        var stats = workload.stats
        for spaces in spacesByPrimary(assignments).values {
            let loads = spaces.map { workload[$0].opsPerSecond }
            let median = loads.sorted()[loads.count / 2]
            let band = loadSignificance * (max(median, 1 / windowSeconds) / windowSeconds).squareRoot()
            let common = loads.indices.filter { abs(loads[$0] - median) <= band }
            let mean = common.reduce(0.0) { $0 + loads[$1] } / Double(common.count)
            for i in common {
                stats[spaces[i]] = Workload.Stats(bytes: workload[spaces[i]].bytes, opsPerSecond: mean)
            }
        }
        return Workload(defaultStats: workload.defaultStats, stats: stats)
    }

    /// A planned move waiting to be written: the planner's move and the assignment it was planned
    /// against (key revision and version).
    struct PlannedMove: Hashable, Sendable {
        var move: Move
        var from: NodeID
        var to: NodeID
        var assignmentRevision: Int64
        var version: UInt64
    }

    /// Which of `queue` (in plan order: most urgent first) start now, and at which rate, given
    /// the `pending` moves already in flight:
    /// - a node takes part in at most `maxConcurrentMovesPerNode` pending moves, as sender or
    ///   receiver;
    /// - a move that must wait reserves its two nodes: no less urgent move may take a slot there
    ///   this round, so Critical and High moves go before Low ones;
    /// - the rates of a priority's pending moves never add up to more than the priority's rate:
    ///   the new moves of a priority share what the pending ones leave (each at most the stream
    ///   speed `perMoveBytesPerSecond`; an unlimited priority gets the stream speed), and only as
    ///   many start as get at least `minimumMoveBytesPerSecond` each (the most urgent first): the
    ///   others wait for rate to free up rather than crawl.
    static func schedule(_ queue: [PlannedMove], pending: [MoveRecord],
                         limits: MoveLimits) -> [(planned: PlannedMove, rate: UInt64)] {
        let maxPerNode = max(1, limits.maxConcurrentMovesPerNode)
        var inFlight: [NodeID: Int] = [:]
        var used = [Double](repeating: 0, count: Move.Priority.allCases.count)
        for record in pending {
            inFlight[record.from, default: 0] += 1
            inFlight[record.to, default: 0] += 1
            used[record.priority.rawValue] += Double(record.rate)
        }
        // The most urgent priority waiting for a slot at each node.
        var reserved: [NodeID: Move.Priority] = [:]
        var chosen: [[PlannedMove]] = Array(repeating: [], count: Move.Priority.allCases.count)
        for planned in queue {
            let priority = planned.move.priority
            let free = inFlight[planned.from, default: 0] < maxPerNode && inFlight[planned.to, default: 0] < maxPerNode
            let outranked = [planned.from, planned.to].contains { reserved[$0].map { $0 < priority } ?? false }
            if !free || outranked {
                for node in [planned.from, planned.to] where reserved[node].map({ priority < $0 }) ?? true {
                    reserved[node] = priority
                }
                continue
            }
            inFlight[planned.from, default: 0] += 1
            inFlight[planned.to, default: 0] += 1
            chosen[planned.move.priority.rawValue].append(planned)
        }
        var out: [(planned: PlannedMove, rate: UInt64)] = []
        for priority in Move.Priority.allCases {
            let group = chosen[priority.rawValue]
            if group.isEmpty { continue }
            var starting = group.count
            var share = limits.perMoveBytesPerSecond
            if let rate = limits.bytesPerSecond(priority) {
                let left = rate - used[priority.rawValue]
                let minimum = max(1, limits.minimumMoveBytesPerSecond)
                starting = min(group.count, left >= minimum ? Int(left / minimum) : 0)
                if starting == 0 { continue }
                share = min(share, left / Double(starting))
            }
            let rate = UInt64(share.rounded(.down))
            out.append(contentsOf: group.prefix(starting).map { ($0, rate) })
        }
        return out
    }

    /// The rate of a failed move set pending again, or nil when the limits leave it no slot or
    /// no rate now (see ``schedule(_:pending:limits:)``).
    static func retryRate(_ record: MoveRecord, pending: [MoveRecord], limits: MoveLimits) -> UInt64? {
        let move = Move(space: record.space, from: record.from, to: record.to, source: record.from,
                        bytes: record.bytes, priority: record.priority)
        let planned = PlannedMove(move: move, from: record.from, to: record.to, assignmentRevision: 0,
                                  version: record.version)
        return schedule([planned], pending: pending, limits: limits).first?.rate
    }

    /// The assignment after failing `assignment` over: the replica in `alive` with the highest
    /// sequence in `sequences` becomes the primary (ties: the first in copy order), the other
    /// live replicas follow, dead copies leave; version + 1. Nil when a live replica has not
    /// answered (it may hold the newest writes), when none holds a copy, or when too few
    /// replicas answered to be sure that one of them holds every write acknowledged by a
    /// majority (``answersNeeded(replicas:writeQuorum:)``).
    public static func promoted(_ assignment: Assignment, space: SpaceID, alive: Set<NodeID>,
                                sequences: [NodeID: [SpaceID: UInt64]], writeQuorum: String? = nil) -> Assignment? {
        let live = assignment.replicas.filter { alive.contains($0) }
        guard live.count >= answersNeeded(replicas: assignment.replicas.count, writeQuorum: writeQuorum) else {
            return nil
        }
        var best: (node: NodeID, sequence: UInt64)?
        for replica in live {
            guard let answer = sequences[replica] else { return nil }
            if let sequence = answer[space], best.map({ sequence > $0.sequence }) ?? true {
                best = (replica, sequence)
            }
        }
        guard let best else { return nil }
        return Assignment(copies: CopySet([best.node] + live.filter { $0 != best.node }),
                          version: assignment.version + 1)
    }

    /// How many replicas must answer before a failover: a write acknowledged by W copies is on
    /// the primary and W - 1 replicas, so the answers of R - W + 2 of the R replicas include
    /// one that holds it. A space whose quorum is "one" may lose what only its primary held, so
    /// one answer does; any other (its own "majority", or none stored: a node's default, or a
    /// single write's `Mnemo-Write-Quorum`, may be majority) is judged as majority.
    static func answersNeeded(replicas: Int, writeQuorum: String?) -> Int {
        if writeQuorum == "one" { return 1 }
        let majority = (replicas + 1) / 2 + 1
        return max(1, replicas - majority + 2)
    }

    /// The assignment after a planned copy change: `to` added (a pure addition, or in place of
    /// a copy on a dead node), or `from` dropped; version + 1. Nil when it no longer fits.
    static func copyChange(_ move: Move, _ assignment: Assignment) -> Assignment? {
        var copies = Array(assignment.copies)
        if let from = move.from {
            // The primary is never dropped or replaced here (a dead one is failed over first).
            guard let position = copies.firstIndex(of: from), position > 0 else { return nil }
            if let to = move.to {
                guard !copies.contains(to) else { return nil }
                copies[position] = to
            } else {
                guard copies.count > 1 else { return nil }
                copies.remove(at: position)
            }
        } else if let to = move.to {
            guard !copies.contains(to), copies.count < CopySet.capacity else { return nil }
            copies.append(to)
        } else {
            return nil
        }
        return Assignment(copies: CopySet(copies), version: assignment.version + 1)
    }
}
