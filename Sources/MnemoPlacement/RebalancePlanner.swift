// The rebalance planner: from a directory, the membership and the workload, the moves that restore
// the replication factor, empty draining nodes and balance copies, bytes and load across nodes.
//
// Three phases, each deterministic (dense node and space indices, fixed iteration orders, ties to
// the lowest index), so the same inputs always give the same plan:
//
// 1. Critical: every copy on a dead node is replaced on a live node (one move per lost copy).
// 2. Drain: every copy on a draining node moves off it (High).
// 3. Balance: while some node is outside its tolerance, the node furthest above its target gives
//    away one of the next `candidateWindow` spaces it holds, each to its best receiver (lowest Φ
//    within the rack rule): preferably one that can go to the neediest node (so a joining node is
//    filled directly, not through extra moves among the others), then the one whose bytes and
//    load best match the giver's excess per excess copy; a move is taken only if it lowers the
//    potential
//        Φ = Σ_nodes Σ_r ((u_nr − T_nr) / (tol_r × T̄_r))²,  r ∈ {copies, bytes, load}
//    Moving a space of weight v from d to b changes Φ by Σ_r 2 c_r v_r (e_br − e_dr + v_r) with
//    e = u − T and c_r = 1 / (tol_r T̄_r)², so each candidate costs O(receivers). Only strictly
//    improving moves are taken, so Φ falls with every move and planning terminates; a balancing
//    move never touches a space that another move already touches. Then pairs of moves that only
//    swap two alike spaces between two nodes are taken back (`cancelSwaps`), and the phase's
//    moves are kept only if together they remove at least `minimumBalanceGain` of Φ (a noise
//    floor).
//
// Targets T are the fair share by capacity, water-filled for bytes and load: a node that holds one
// space heavier than its share (a hot space) gets that space's weight as target and the others
// share the rest, so the planner moves the *other* spaces off a hot node instead of fighting it.
//
// Receivers keep copies in distinct racks: a move may not lower a space's rack diversity below
// min(replication factor, live racks); restoring moves pick the most diverse receiver first.

/// Plans moves that restore the replication factor and balance the cluster.
///
/// ```swift
/// let planner = RebalancePlanner(configuration: PlannerConfiguration(replicationFactor: 3))
/// let membership = try Membership(nodes: nodes).adding(Node(id: 11, rack: "r1"))
/// let plan = try planner.plan(directory: directory, membership: membership, workload: workload)
/// let next = try directory.applying(plan.moves)
/// ```
public struct RebalancePlanner: Sendable {
    /// The configuration.
    public var configuration: PlannerConfiguration

    /// Creates a planner.
    public init(configuration: PlannerConfiguration = PlannerConfiguration()) {
        self.configuration = configuration
    }

    /// Plans the moves for `directory` under `membership` and `workload`.
    ///
    /// - Throws: `.invalidConfiguration` for a bad configuration; `.replicationFactorTooLarge`
    ///   when fewer alive or joining nodes than copies remain; `.unknownNode` when the directory
    ///   names a node that is not a member.
    public func plan(directory: Directory, membership: Membership, workload: Workload) throws(PlacementError)
        -> RebalancePlan
    {
        try configuration.validate()
        var state = try PlannerState(directory: directory, membership: membership, workload: workload,
                                     configuration: configuration)
        state.restoreLostCopies()
        state.drain()
        state.balance()
        return RebalancePlan(moves: state.moves, limits: configuration.limits,
                             replicationFactor: configuration.replicationFactor)
    }
}

/// The planner's working state: dense arrays indexed by node and by space.
struct PlannerState {
    static let resources = 3
    let configuration: PlannerConfiguration
    let rf: Int
    let moveLimit: Int

    // Nodes (dense, sorted by id).
    let ids: [NodeID]
    let states: [Membership.State]
    let rack: [UInt32]
    let receivers: [Int]
    let requiredDiversity: Int

    // Spaces (dense, directory order).
    let spaces: [SpaceID]
    var copies: [CopySet]            // node *indices* as raw values
    let weight: [(Double, Double)]   // (bytes, load) per copy
    var touched: [Bool]

    // Per node and resource: usage, target. Resource 0 copies, 1 bytes, 2 load.
    var usage: [Double]
    var target: [Double]
    var coefficient: (Double, Double, Double)
    /// 1 / (tolerance × mean target) per resource (0 when the resource is absent): pressure units.
    var scale: (Double, Double, Double)
    let tolerance: (Double, Double, Double)

    var moves: [Move] = []
    var outgoingBytes: [Double]

    init(directory: Directory, membership: Membership, workload: Workload,
         configuration: PlannerConfiguration) throws(PlacementError)
    {
        self.configuration = configuration
        rf = configuration.replicationFactor
        moveLimit = configuration.maxMoves ?? Int.max
        let members = membership.members
        ids = members.map(\.node.id)
        states = members.map(\.state)
        var rackIndex: [String: UInt32] = [:]
        var racks: [UInt32] = []
        for member in members {
            let next = UInt32(rackIndex.count)
            let value = rackIndex[member.node.rack, default: next]
            rackIndex[member.node.rack] = value
            racks.append(value)
        }
        rack = racks
        receivers = members.indices.filter { members[$0].state == .alive || members[$0].state == .joining }
        if receivers.isEmpty { throw PlacementError(.emptyCluster, "no alive or joining node") }
        guard receivers.count >= rf else {
            throw PlacementError(.replicationFactorTooLarge,
                                 "replication factor \(rf) > \(receivers.count) alive or joining nodes")
        }
        let liveRacks = Set(receivers.map { racks[$0] }).count
        requiredDiversity = configuration.rackAware ? min(rf, liveRacks) : 1
        tolerance = (configuration.countTolerance, configuration.bytesTolerance, configuration.loadTolerance)

        // Dense node lookup: a table when ids are small, a dictionary otherwise.
        let maxID = Int(ids.last?.rawValue ?? 0)
        var table: [Int32] = []
        var dictionary: [NodeID: Int] = [:]
        if maxID < 1 << 20 {
            table = [Int32](repeating: -1, count: maxID + 1)
            for (i, id) in ids.enumerated() { table[Int(id.rawValue)] = Int32(i) }
        } else {
            for (i, id) in ids.enumerated() { dictionary[id] = i }
        }
        var spaces: [SpaceID] = []
        var copies: [CopySet] = []
        var weight: [(Double, Double)] = []
        spaces.reserveCapacity(directory.count)
        copies.reserveCapacity(directory.count)
        weight.reserveCapacity(directory.count)
        let nodeCount = ids.count
        // Each space's weight by directory slot: one perfect-hash probe per listed space instead
        // of one (SipHash) dictionary lookup per space, the cost that dominated large plans.
        let fallback = (Double(workload.defaultStats.bytes), workload.defaultStats.opsPerSecond)
        var slotWeight: [(Double, Double)] = []
        if !workload.stats.isEmpty {
            slotWeight = [(Double, Double)](repeating: fallback, count: directory.slotCount)
            for (space, stats) in workload.stats {
                if let slot = directory.position(of: space) {
                    slotWeight[slot] = (Double(stats.bytes), stats.opsPerSecond)
                }
            }
        }
        for slot in 0..<directory.slotCount {
            guard let (space, assignment) = directory.entry(at: slot) else { continue }
            var dense = CopySet()
            for node in assignment.copies {
                let raw = Int(node.rawValue)
                let index = table.isEmpty ? (dictionary[node] ?? -1) : (raw < table.count ? Int(table[raw]) : -1)
                guard index >= 0 else {
                    throw PlacementError(.unknownNode, "space \(space) names \(node), not a member")
                }
                dense.append(NodeID(rawValue: UInt32(index)))
            }
            spaces.append(space)
            copies.append(dense)
            weight.append(slotWeight.isEmpty ? fallback : slotWeight[slot])
        }
        self.spaces = spaces
        self.copies = copies
        self.weight = weight
        touched = [Bool](repeating: false, count: spaces.count)
        outgoingBytes = [Double](repeating: 0, count: nodeCount)

        // Usage of live copies, and the totals once lost copies are restored.
        var usage = [Double](repeating: 0, count: nodeCount * Self.resources)
        var largest = [Double](repeating: 0, count: nodeCount * Self.resources)
        var totals = (0.0, 0.0, 0.0)
        for s in spaces.indices {
            var live = 0
            for node in copies[s] where states[Int(node.rawValue)] != .dead {
                let n = Int(node.rawValue)
                live += 1
                usage[n * 3] += 1
                usage[n * 3 + 1] += weight[s].0
                usage[n * 3 + 2] += weight[s].1
                largest[n * 3 + 1] = max(largest[n * 3 + 1], weight[s].0)
                largest[n * 3 + 2] = max(largest[n * 3 + 2], weight[s].1)
            }
            let expected = Double(max(live, rf))
            totals.0 += expected
            totals.1 += expected * weight[s].0
            totals.2 += expected * weight[s].1
        }
        self.usage = usage

        // Targets: capacity shares, water-filled against single heavy spaces.
        let capacities = members.map(\.node.capacity)
        var target = [Double](repeating: 0, count: nodeCount * Self.resources)
        let totalList = [totals.0, totals.1, totals.2]
        var coefficients = [0.0, 0.0, 0.0]
        let tolerances = [tolerance.0, tolerance.1, tolerance.2]
        for r in 0..<Self.resources {
            let bounds = receivers.map { r == 0 ? 0 : largest[$0 * 3 + r] }
            let shares = Self.waterFill(total: totalList[r], weights: receivers.map { capacities[$0] }, bounds: bounds)
            for (k, n) in receivers.enumerated() { target[n * 3 + r] = shares[k] }
            let mean = totalList[r] / Double(receivers.count)
            coefficients[r] = mean > 0 ? 1 / ((tolerances[r] * mean) * (tolerances[r] * mean)) : 0
        }
        self.target = target
        coefficient = (coefficients[0], coefficients[1], coefficients[2])
        let receiverCount = Double(receivers.count)
        var scales = [0.0, 0.0, 0.0]
        for r in 0..<Self.resources {
            let mean = totalList[r] / receiverCount
            scales[r] = mean > 0 ? 1 / (tolerances[r] * mean) : 0
        }
        scale = (scales[0], scales[1], scales[2])
    }

    /// Splits `total` in proportion to `weights`, except that no share is below its bound: shares
    /// pinned to their bound take it, the rest split what is left (water-filling).
    static func waterFill(total: Double, weights: [Double], bounds: [Double]) -> [Double] {
        var pinned = [Bool](repeating: false, count: weights.count)
        var level = 0.0
        while true {
            var rest = total
            var weightSum = 0.0
            for i in weights.indices {
                if pinned[i] { rest -= bounds[i] } else { weightSum += weights[i] }
            }
            level = weightSum > 0 ? max(0, rest) / weightSum : 0
            var changed = false
            for i in weights.indices where !pinned[i] && bounds[i] > level * weights[i] {
                pinned[i] = true
                changed = true
            }
            if !changed { break }
        }
        return weights.indices.map { pinned[$0] ? bounds[$0] : level * weights[$0] }
    }

    // MARK: - Potential

    @inline(__always)
    func excess(_ n: Int, _ r: Int) -> Double { usage[n * 3 + r] - target[n * 3 + r] }

    /// The change of Φ when node `n` receives (sign +1) or gives (sign −1) a copy of space `s`.
    @inline(__always)
    func delta(_ s: Int, at n: Int, sign: Double) -> Double {
        let (bytes, load) = weight[s]
        let a = coefficient.0 * (2 * sign * excess(n, 0) + 1)
        let b = coefficient.1 * bytes * (2 * sign * excess(n, 1) + bytes)
        let c = coefficient.2 * load * (2 * sign * excess(n, 2) + load)
        return a + b + c
    }

    /// How far `n` is above its target, in units of tolerance (the donor order).
    @inline(__always)
    func pressure(_ n: Int) -> Double {
        max(excess(n, 0) * scale.0, excess(n, 1) * scale.1, excess(n, 2) * scale.2)
    }

    /// How far `n` is above its target, relative to that target (the priority of its moves).
    func relativeExcess(_ n: Int) -> Double {
        var worst = 0.0
        for r in 0..<Self.resources where target[n * 3 + r] > 0 {
            worst = max(worst, excess(n, r) / target[n * 3 + r])
        }
        return worst
    }

    /// Φ over the receivers (see the file comment).
    func potential() -> Double {
        var phi = 0.0
        for n in receivers {
            let (a, b, c) = (excess(n, 0), excess(n, 1), excess(n, 2))
            phi += coefficient.0 * a * a + coefficient.1 * b * b + coefficient.2 * c * c
        }
        return phi
    }

    /// Whether every receiver is within tolerance on every resource.
    func isBalanced() -> Bool {
        for n in receivers {
            for r in 0..<Self.resources {
                let t = target[n * 3 + r]
                let band = (r == 0 ? tolerance.0 * t + 1 : r == 1 ? tolerance.1 * t : tolerance.2 * t) + 1e-9 * t
                if abs(usage[n * 3 + r] - t) > band { return false }
            }
        }
        return true
    }

    // MARK: - Receivers

    /// Distinct racks among `nodes` (dense indices).
    func diversity(_ nodes: CopySet) -> Int {
        var seen = CopySet()
        for node in nodes {
            let r = NodeID(rawValue: rack[Int(node.rawValue)])
            if !seen.contains(r) { seen.append(r) }
        }
        return seen.count
    }

    /// The best receiver for a new copy of `s` next to `others`: the most rack-diverse result
    /// first (when `mustKeep` is nil) or any result with diversity ≥ `mustKeep`, then the lowest Φ.
    func bestReceiver(for s: Int, others: CopySet, mustKeep: Int?) -> (node: Int, delta: Double)? {
        var best: (node: Int, delta: Double, diversity: Int)?
        let current = copies[s]
        var otherRacks = CopySet()
        for node in others {
            let r = NodeID(rawValue: rack[Int(node.rawValue)])
            if !otherRacks.contains(r) { otherRacks.append(r) }
        }
        for n in receivers {
            let id = NodeID(rawValue: UInt32(n))
            if current.contains(id) { continue }
            let diversity = otherRacks.count + (otherRacks.contains(NodeID(rawValue: rack[n])) ? 0 : 1)
            if let mustKeep, diversity < mustKeep { continue }
            let d = delta(s, at: n, sign: 1)
            // Balancing never worsens a receiver: a copy received in this plan cannot move again
            // in it, so an overfilled receiver would stay overfilled.
            if mustKeep != nil && d >= 0 { continue }
            if let b = best {
                let better = mustKeep == nil
                    ? (diversity > b.diversity || (diversity == b.diversity && d < b.delta))
                    : d < b.delta
                if !better { continue }
            }
            best = (n, d, diversity)
        }
        return best.map { ($0.node, $0.delta) }
    }

    // MARK: - Recording moves

    mutating func add(_ s: Int, copy n: Int) {
        usage[n * 3] += 1
        usage[n * 3 + 1] += weight[s].0
        usage[n * 3 + 2] += weight[s].1
    }

    mutating func remove(_ s: Int, copy n: Int) {
        usage[n * 3] -= 1
        usage[n * 3 + 1] -= weight[s].0
        usage[n * 3 + 2] -= weight[s].1
    }

    /// The live copy of `s` that has sent the fewest bytes so far in this plan.
    func source(for s: Int) -> Int? {
        var best: Int?
        for node in copies[s] {
            let n = Int(node.rawValue)
            if states[n] == .dead { continue }
            if best == nil || outgoingBytes[n] < outgoingBytes[best ?? n] { best = n }
        }
        return best
    }

    mutating func record(_ s: Int, from: Int?, to: Int?, source: Int?, priority: Move.Priority) {
        let bytes = to == nil ? 0 : UInt64(weight[s].0)
        if let source, to != nil { outgoingBytes[source] += weight[s].0 }
        moves.append(Move(space: spaces[s], from: from.map { ids[$0] }, to: to.map { ids[$0] },
                          source: source.map { ids[$0] }, bytes: bytes, priority: priority))
        touched[s] = true
    }

    // MARK: - Phases

    /// Phase 1: replace every copy on a dead node (Critical), most urgent spaces (fewest live
    /// copies) first.
    mutating func restoreLostCopies() {
        var order: [(live: Int, s: Int)] = []
        for s in spaces.indices {
            var live = 0
            var lost = false
            for node in copies[s] {
                if states[Int(node.rawValue)] == .dead { lost = true } else { live += 1 }
            }
            if lost || live < rf { order.append((live, s)) }
        }
        order.sort { $0.live != $1.live ? $0.live < $1.live : $0.s < $1.s }
        for (_, s) in order {
            var dead = copies[s].filter { states[Int($0.rawValue)] == .dead }.map { Int($0.rawValue) }
            var live = CopySet(copies[s].filter { states[Int($0.rawValue)] != .dead })
            while live.count < rf && moves.count < moveLimit {
                guard let (receiver, _) = bestReceiver(for: s, others: live, mustKeep: nil) else { break }
                let from = dead.isEmpty ? nil : dead.removeFirst()
                record(s, from: from, to: receiver, source: source(for: s), priority: .critical)
                add(s, copy: receiver)
                live.append(NodeID(rawValue: UInt32(receiver)))
                copies[s] = CopySet(live + dead.map { NodeID(rawValue: UInt32($0)) })
            }
            // Surplus copies on dead nodes are dropped from the routing table (no data moves).
            while let from = dead.first, live.count >= rf, moves.count < moveLimit {
                dead.removeFirst()
                record(s, from: from, to: nil, source: nil, priority: .critical)
                copies[s] = CopySet(live + dead.map { NodeID(rawValue: UInt32($0)) })
            }
        }
    }

    /// Phase 2: move every copy off draining nodes (High).
    mutating func drain() {
        if !states.contains(.draining) { return }
        for s in spaces.indices {
            for node in copies[s] where states[Int(node.rawValue)] == .draining {
                if moves.count >= moveLimit { return }
                let n = Int(node.rawValue)
                var others = copies[s]
                if let p = others.position(of: node) { others.remove(at: p) }
                guard let (receiver, _) = bestReceiver(for: s, others: others, mustKeep: nil) else { continue }
                record(s, from: n, to: receiver, source: n, priority: .high)
                remove(s, copy: n)
                add(s, copy: receiver)
                if let p = copies[s].position(of: node) { copies[s][p] = NodeID(rawValue: UInt32(receiver)) }
            }
        }
    }

    /// Phase 3: balance copies, bytes and load (see the file comment).
    ///
    /// Each node's spaces are scanned circularly, `candidateWindow` fresh ones per step, so every
    /// step samples the node's whole distribution of sizes and loads (a sliding window would fill
    /// up with rejects). A node is exhausted once a full cycle over its spaces found no move.
    mutating func balance() {
        var held = [[Int32]](repeating: [], count: ids.count)
        for s in spaces.indices where !touched[s] {
            for node in copies[s] where states[Int(node.rawValue)] != .dead {
                held[Int(node.rawValue)].append(Int32(s))
            }
        }
        let firstMove = moves.count
        let startPotential = potential()
        var position = [Int](repeating: 0, count: ids.count)
        var fruitless = [Int](repeating: 0, count: ids.count)
        var exhausted = [Bool](repeating: false, count: ids.count)
        var made: [(s: Int, from: Int, to: Int)] = []
        let window = configuration.candidateWindow
        while moves.count < moveLimit && !isBalanced() {
            // The donor: the receiver-eligible node with the highest pressure, not exhausted.
            var donor = -1
            var donorPressure = -Double.infinity
            for n in receivers where !exhausted[n] {
                let p = pressure(n)
                if p > donorPressure { donor = n; donorPressure = p }
            }
            if donor < 0 { break }
            let donorID = NodeID(rawValue: UInt32(donor))
            // The mix the donor should shed per copy: its excess bytes and load per excess copy.
            let surplus = excess(donor, 0)
            let wanted: (Double, Double)? = surplus >= 1
                ? (max(0, excess(donor, 1)) / surplus, max(0, excess(donor, 2)) / surplus) : nil
            // The neediest receiver: a candidate that can go there beats one that cannot, so a
            // joining node is filled directly instead of through moves among the others.
            var neediest = -1
            var neediestPressure = Double.infinity
            for n in receivers {
                let p = pressure(n)
                if p < neediestPressure { neediest = n; neediestPressure = p }
            }
            var best: (s: Int, receiver: Int, delta: Double)?
            var examined = 0
            while examined < window && !held[donor].isEmpty {
                if position[donor] >= held[donor].count { position[donor] = 0 }
                let slot = position[donor]
                let s = Int(held[donor][slot])
                if touched[s] || !copies[s].contains(donorID) {
                    held[donor].swapAt(slot, held[donor].count - 1)
                    held[donor].removeLast()
                    continue
                }
                position[donor] += 1
                examined += 1
                var others = copies[s]
                if let p = others.position(of: donorID) { others.remove(at: p) }
                let keep = min(diversity(copies[s]), requiredDiversity)
                guard let (receiver, receiveDelta) = bestReceiver(for: s, others: others, mustKeep: keep)
                else { continue }
                // Pick the candidate best for the donor (so donors shed the mix of copies, bytes
                // and load they are over by, and receivers get the sum of those excesses); take it
                // only if the whole move lowers Φ.
                let give = delta(s, at: donor, sign: -1)
                let score: Double
                if let mix = wanted {
                    let db = weight[s].0 - mix.0
                    let dl = weight[s].1 - mix.1
                    score = coefficient.1 * db * db + coefficient.2 * dl * dl
                } else {
                    score = give + receiveDelta
                }
                guard give + receiveDelta < -1e-12 else { continue }
                if let b = best {
                    let (was, now) = (b.receiver == neediest, receiver == neediest)
                    if was && !now || was == now && score >= b.delta { continue }
                }
                best = (s, receiver, score)
            }
            guard let chosen = best else {
                fruitless[donor] += examined
                if fruitless[donor] >= held[donor].count { exhausted[donor] = true }
                continue
            }
            fruitless[donor] = 0
            let s = chosen.s
            let relative = relativeExcess(donor)
            let priority: Move.Priority = relative > configuration.highThreshold ? .high
                : relative > configuration.mediumThreshold ? .medium : .low
            record(s, from: donor, to: chosen.receiver, source: donor, priority: priority)
            made.append((s, donor, chosen.receiver))
            remove(s, copy: donor)
            add(s, copy: chosen.receiver)
            if let p = copies[s].position(of: donorID) { copies[s][p] = NodeID(rawValue: UInt32(chosen.receiver)) }
            // The receiver's standing changed: if it was exhausted as a donor, let it try again.
            exhausted[chosen.receiver] = false
            fruitless[chosen.receiver] = 0
        }
        cancelSwaps(made, firstMove: firstMove, gain: startPotential - potential())
        if moves.count > firstMove && startPotential - potential() < configuration.minimumBalanceGain * startPotential {
            moves.removeLast(moves.count - firstMove)
        }
    }

    /// Takes back pairs of balancing moves that only swap two similar spaces between two nodes.
    ///
    /// Greedy steps can alternate: a hot node, over on load and then under on copies and bytes,
    /// gives a light space and receives a heavier one from the same node, again and again; each
    /// step lowers Φ, the pair barely does (with 10,000 spaces of equal load and sizes ±5%, a
    /// plan made 1,600 such pairs for a net change of 290 spaces). For every two nodes that
    /// exchanged spaces, the moves each way are paired by size (the most alike first) and a pair
    /// is undone when undoing it raises Φ by less than the phase's mean gain per move (`gain` over
    /// the moves in `made`, which follow `firstMove` in ``moves``): a swap worth less than an
    /// average move is not worth two. Swaps of unlike spaces (a large one for several small
    /// ones' worth of load) gain more and stay.
    mutating func cancelSwaps(_ made: [(s: Int, from: Int, to: Int)], firstMove: Int, gain: Double) {
        guard made.count >= 2, gain > 0 else { return }
        assert(moves.count == firstMove + made.count, "every balancing move is in made")
        let threshold = gain / Double(made.count)
        var ways: [Int: [Int]] = [:]  // from × nodes + to → indices into made
        for (i, m) in made.enumerated() { ways[m.from * ids.count + m.to, default: []].append(i) }
        var undone = [Bool](repeating: false, count: made.count)
        var phi = potential()
        for (key, forward) in ways.sorted(by: { $0.key < $1.key }) {
            let (a, b) = (key / ids.count, key % ids.count)
            guard a < b, let backward = ways[b * ids.count + a] else { continue }
            let bySize = { (i: Int, j: Int) in self.weight[made[i].s] < self.weight[made[j].s] }
            for (i, j) in zip(forward.sorted(by: bySize), backward.sorted(by: bySize)) {
                let (s, t) = (made[i].s, made[j].s)
                remove(s, copy: b); add(s, copy: a)
                remove(t, copy: a); add(t, copy: b)
                let after = potential()
                if after - phi < threshold {
                    phi = after
                    undone[i] = true
                    undone[j] = true
                } else {
                    remove(s, copy: a); add(s, copy: b)
                    remove(t, copy: b); add(t, copy: a)
                }
            }
        }
        var kept: [Move] = []
        for (i, m) in made.enumerated() {
            guard undone[i] else { kept.append(moves[firstMove + i]); continue }
            touched[m.s] = false
            outgoingBytes[m.from] -= weight[m.s].0
            if let p = copies[m.s].position(of: NodeID(rawValue: UInt32(m.to))) {
                copies[m.s][p] = NodeID(rawValue: UInt32(m.from))
            }
        }
        moves.replaceSubrange(firstMove..., with: kept)
    }
}
