// Runs a plan through a MoveExecutor in virtual time, enforcing the plan's limits, and measures
// how long it would take. This is both the scheduler the cluster layer drives and the estimator
// the simulator prints.
//
// Scheduling: pending moves wait in one FIFO per (priority, receiving node). Whenever slots are
// free, priorities are served in order (Critical first) and a move starts only if its receiver and
// its source both have fewer than `maxConcurrentMovesPerNode` moves in flight.
// Flow: between events every in-flight move sends at min(stream speed, its priority's rate / moves
// of that priority in flight); the next step lasts until the first in-flight move would finish.
// Bytes are granted by one TokenBucket per priority, so what a priority has sent by time t never
// exceeds depth + rate × t, whatever the step lengths.

/// What running a plan did.
public struct RebalanceReport: Sendable {
    /// The directory after every finished move (one version above the input).
    public var directory: Directory
    /// Virtual seconds until the last move finished: the plan's estimated duration.
    public var seconds: Double
    /// Virtual seconds until the last Critical move finished (0 when there is none).
    public var secondsToRestore: Double
    /// Moves finished.
    public var finishedMoves: Int
    /// The most moves any node had in flight at once.
    public var peakConcurrentMovesPerNode: Int
    /// The largest amount, over priorities and steps, by which granted bytes exceeded
    /// depth + rate × t (≤ 0 when the rate limits held).
    public var peakRateExcessBytes: Double
    /// Bytes sent per priority, indexed by `Move.Priority.rawValue`.
    public var bytesByPriority: [Double]
    /// Scheduling steps taken.
    public var steps: Int
}

/// Drives a ``MoveExecutor`` through a ``RebalancePlan`` under its ``MoveLimits``.
///
/// ```swift
/// var executor = SimulatedExecutor(directory: directory, replicationFactor: 3)
/// let report = try RebalanceRunner().run(plan, directory: directory, executor: &executor)
/// print("done in \(report.seconds) s, restored in \(report.secondsToRestore) s")
/// ```
public struct RebalanceRunner: Sendable {
    /// Creates a runner.
    public init() {}

    /// Runs every move of `plan` to completion.
    ///
    /// - Throws: what the executor throws; `.invalidConfiguration` for bad limits;
    ///   `.executorFailed` when the executor stops making progress; what
    ///   ``Directory/applying(_:)`` throws for moves that do not fit `directory`.
    public func run<E: MoveExecutor>(_ plan: RebalancePlan, directory: Directory, executor: inout E)
        throws(PlacementError) -> RebalanceReport
    {
        let limits = plan.limits
        try limits.validate()
        let moves = plan.moves
        let priorities = Move.Priority.allCases.count

        // Dense node indices for every endpoint.
        var nodeIndex: [NodeID: Int] = [:]
        func index(_ id: NodeID) -> Int {
            if let i = nodeIndex[id] { return i }
            nodeIndex[id] = nodeIndex.count
            return nodeIndex.count - 1
        }
        let receiver = moves.map { $0.to.map(index) }
        let source = moves.map { $0.source.map(index) }
        let nodeCount = nodeIndex.count
        var queues = [[[Int]]](repeating: [[Int]](repeating: [], count: nodeCount), count: priorities)
        var heads = [[Int]](repeating: [Int](repeating: 0, count: nodeCount), count: priorities)
        var finishedOrder: [Move] = []
        finishedOrder.reserveCapacity(moves.count)

        // Pure drops move no data: they finish at once.
        for (m, move) in moves.enumerated() {
            if let r = receiver[m] {
                queues[move.priority.rawValue][r].append(m)
            } else {
                try executor.start(move)
                try executor.finish(move)
                finishedOrder.append(move)
            }
        }

        var buckets = Move.Priority.allCases.map {
            TokenBucket(bytesPerSecond: limits.bytesPerSecond($0), burstSeconds: limits.burstSeconds)
        }
        var active = [Int](repeating: 0, count: nodeCount)
        var started = [Bool](repeating: false, count: moves.count)
        var remaining = moves.map { Double($0.bytes) }
        var credit = [Double](repeating: 0, count: moves.count)
        var inFlight: [Int] = []
        var pending = moves.count - finishedOrder.count
        var now = 0.0
        var report = RebalanceReport(directory: directory, seconds: 0, secondsToRestore: 0, finishedMoves: 0,
                                     peakConcurrentMovesPerNode: 0, peakRateExcessBytes: -.infinity,
                                     bytesByPriority: [Double](repeating: 0, count: priorities), steps: 0)
        var idleSteps = 0
        let maxConcurrent = limits.maxConcurrentMovesPerNode

        while pending > 0 || !inFlight.isEmpty {
            // Start what the slots allow, most urgent priority first.
            for p in 0..<priorities {
                for n in 0..<nodeCount where active[n] < maxConcurrent {
                    var i = heads[p][n]
                    var blocked = 0
                    while active[n] < maxConcurrent && i < queues[p][n].count && blocked < 64 {
                        let m = queues[p][n][i]
                        if started[m] {
                            if i == heads[p][n] { heads[p][n] += 1 }
                            i += 1
                            continue
                        }
                        let s = source[m]
                        if let s, s != n && active[s] >= maxConcurrent {
                            blocked += 1
                            i += 1
                            continue
                        }
                        try executor.start(moves[m])
                        started[m] = true
                        pending -= 1
                        active[n] += 1
                        if let s, s != n { active[s] += 1 }
                        inFlight.append(m)
                        if i == heads[p][n] { heads[p][n] += 1 }
                        i += 1
                    }
                }
            }
            report.peakConcurrentMovesPerNode = max(report.peakConcurrentMovesPerNode, active.max() ?? 0)
            if inFlight.isEmpty {
                throw PlacementError(.executorFailed, "no move can start (every endpoint blocked)")
            }

            // The step lasts until the first in-flight move would finish at its fair rate.
            // For each priority: its n moves share its rate, so its smallest move is done once the
            // priority has sent n × that move's remainder, counting the tokens already saved.
            var perPriority = [Int](repeating: 0, count: priorities)
            var smallest = [Double](repeating: .infinity, count: priorities)
            for m in inFlight {
                let p = moves[m].priority.rawValue
                perPriority[p] += 1
                smallest[p] = min(smallest[p], remaining[m])
            }
            var step = Double.infinity
            for p in 0..<priorities where perPriority[p] > 0 {
                var time = smallest[p] / limits.perMoveBytesPerSecond
                if let rate = buckets[p].bytesPerSecond {
                    time = max(time, (Double(perPriority[p]) * smallest[p] - buckets[p].tokens) / rate)
                }
                step = min(step, time)
            }
            step = max(step, 1e-6)

            // Grant bytes per priority through its bucket, shared fairly among its moves.
            var progressed = false
            var finishedNow: [Int] = []
            for p in 0..<priorities where perPriority[p] > 0 {
                let members = inFlight.filter { moves[$0].priority.rawValue == p }
                let wants = members.map { min(remaining[$0], limits.perMoveBytesPerSecond * step) }
                var granted = buckets[p].take(wants.reduce(0, +), over: step)
                report.bytesByPriority[p] += granted
                if let r = limits.bytesPerSecond(Move.Priority.allCases[p]) {
                    report.peakRateExcessBytes = max(report.peakRateExcessBytes,
                                                     buckets[p].granted - (buckets[p].depth + r * (now + step)))
                }
                // Water-fill the grant: small wants are met in full, the rest share equally.
                let order = members.indices.sorted { wants[$0] < wants[$1] }
                var left = order.count
                for k in order {
                    let give = min(wants[k], granted / Double(left))
                    granted -= give
                    left -= 1
                    let m = members[k]
                    credit[m] += give
                    let whole = credit[m].rounded(.down)
                    credit[m] -= whole
                    let progress = try executor.transfer(moves[m], upTo: UInt64(whole))
                    let newRemaining = Double(moves[m].bytes - min(moves[m].bytes, progress.copiedBytes))
                    if newRemaining < remaining[m] || progress.caughtUp { progressed = true }
                    remaining[m] = newRemaining
                    if progress.caughtUp { finishedNow.append(m) }
                }
            }
            now += step
            report.steps += 1
            for m in finishedNow {
                try executor.finish(moves[m])
                finishedOrder.append(moves[m])
                if let r = receiver[m] { active[r] -= 1 }
                if let s = source[m], s != receiver[m] { active[s] -= 1 }
                if moves[m].priority == .critical { report.secondsToRestore = now }
            }
            inFlight.removeAll { finishedNow.contains($0) }
            idleSteps = progressed ? 0 : idleSteps + 1
            if idleSteps > 10_000 {
                throw PlacementError(.executorFailed, "the executor made no progress for 10,000 steps")
            }
        }
        report.seconds = now
        report.finishedMoves = finishedOrder.count
        if report.peakRateExcessBytes == -.infinity { report.peakRateExcessBytes = 0 }
        report.directory = try directory.applying(finishedOrder)
        return report
    }
}
