// The simulator behind `mnemo placement simulate`: the same cluster, spaces and events placed by
// three schemes, over many hash seeds, with the same metrics.
//
// Schemes: `ring` (plain consistent hashing with virtual nodes: the design's baseline), `bounded`
// (the ring with bounded loads, ε = loadBound) and `mnemo` (ring + planner + directory: the ring
// gives the initial homes, the planner balances them at creation, when no data exists yet, and
// then plans every change). Scenarios: the balanced start, an extra node joining, a node dying,
// a rack dying, a node draining, and one space taking 20% of all load. For each seed the spaces
// (random 64-bit ids, Zipf sizes, uniform loads) and the ring's hash seed change together.
// Moves are copies whose node changes; for ring schemes they are the diff of the directories
// before and after, for mnemo the plan's moves. The ideal is the least any scheme must move:
// a joining node's fair share, or everything the lost nodes held.

/// Simulates placement schemes and events over many seeds.
///
/// ```swift
/// var options = PlacementSimulation.Options()
/// options.seeds = 20
/// for row in try PlacementSimulation(options: options).run() {
///     print(row.scheme, row.scenario, row.stddevPercent.mean, row.moved.mean, row.idealMoved)
/// }
/// ```
public struct PlacementSimulation: Sendable {
    /// The simulated cluster and workload.
    public struct Options: Hashable, Sendable {
        /// Nodes before any event.
        public var nodes = 10
        /// Spaces.
        public var spaces = 10_000
        /// Virtual nodes per node.
        public var virtualNodes = 150
        /// Hash seeds to run (0 ..< seeds).
        public var seeds = 20
        /// Copies of each space.
        public var replicas = 1
        /// Racks; node i is in rack i mod racks.
        public var racks = 5
        /// ε of the bounded-loads scheme.
        public var loadBound = 0.25
        /// Zipf exponent of space sizes.
        public var zipfExponent = 1.0
        /// Space sizes are `unitBytes × k`, k ~ Zipf on 1...sizeUnits.
        public var sizeUnits = 10_000
        /// Bytes of one size unit (64 KiB).
        public var unitBytes: UInt64 = 65_536
        /// Lookup passes for the lookup timing (0: do not time lookups).
        public var lookupPasses = 15
        /// The planner's configuration (its replication factor is set from ``replicas``).
        public var planner = PlannerConfiguration()

        /// Default options: 10 nodes, 10,000 spaces, 150 virtual nodes, 20 seeds, 1 copy, 5 racks.
        public init() {}
    }

    /// A placement scheme.
    public enum Scheme: String, Hashable, Sendable, CaseIterable {
        /// Plain consistent hashing with virtual nodes.
        case ring
        /// Consistent hashing with bounded loads.
        case bounded
        /// Mnemo: ring + planner + directory.
        case mnemo
    }

    /// An event.
    public enum Scenario: String, Hashable, Sendable, CaseIterable {
        /// The start: no event.
        case balance
        /// One more node joins.
        case join
        /// One node dies.
        case death
        /// Every node of one rack dies.
        case rackDeath = "rack-death"
        /// One node is drained.
        case drain
        /// One space takes 20% of all load.
        case hotSpace = "hot-space"
    }

    /// Mean, median and worst of a figure over seeds (worst is the largest).
    public struct Statistic: Hashable, Sendable {
        /// The mean.
        public var mean: Double
        /// The median.
        public var median: Double
        /// The largest value.
        public var worst: Double

        init(_ values: [Double]) {
            mean = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
            median = PlacementBenchmark.median(values)
            worst = values.max() ?? 0
        }
    }

    /// One scheme under one scenario, over all seeds.
    public struct Row: Hashable, Sendable {
        /// The scheme.
        public var scheme: Scheme
        /// The scenario.
        public var scenario: Scenario
        /// Seeds that ran (a scenario impossible for a seed, e.g. too few nodes left, is skipped).
        public var seeds: Int
        /// Std dev of copies per live node, % of the mean.
        public var stddevPercent: Statistic
        /// Largest copies per node over the mean.
        public var maxOverMean: Statistic
        /// Std dev of bytes per live node, % of the mean.
        public var bytesStddevPercent: Statistic
        /// Largest bytes per node over the mean.
        public var bytesMaxOverMean: Statistic
        /// Largest load (ops/s) per node over the mean.
        public var loadMaxOverMean: Statistic
        /// Copies moved by the event.
        public var moved: Statistic
        /// The least number of copies the event forces to move (mean over seeds).
        public var idealMoved: Double
        /// Bytes moved by the event.
        public var movedBytes: Statistic
        /// The least bytes the event forces to move (mean over seeds).
        public var idealMovedBytes: Double
        /// Median ns of one lookup of the scheme's routing structure (seed 0).
        public var lookupNanoseconds: Double
        /// Milliseconds to plan the event (mnemo only).
        public var planMilliseconds: Statistic?
        /// Estimated seconds to run the plan under its rate limits (mnemo only).
        public var estimatedSeconds: Statistic?
        /// Estimated seconds until every lost copy is restored (mnemo only).
        public var restoreSeconds: Statistic?
        /// Times a move left a space below the replication factor (mnemo only; must be 0).
        public var belowFactor: Int
    }

    /// The options.
    public let options: Options

    /// Creates a simulation.
    public init(options: Options) { self.options = options }

    /// Runs every scheme and scenario.
    ///
    /// - Throws: `PlacementError` for impossible options (e.g. more replicas than nodes).
    public func run(schemes: [Scheme] = Scheme.allCases, scenarios: [Scenario] = Scenario.allCases)
        throws(PlacementError) -> [Row]
    {
        guard options.nodes >= 1, options.spaces >= 1, options.seeds >= 1, options.racks >= 1 else {
            throw PlacementError(.invalidConfiguration, "nodes, spaces, seeds and racks must be ≥ 1")
        }
        var samples: [Key: [Sample]] = [:]
        var lookups: [Scheme: Double] = [:]
        for seed in 0..<options.seeds {
            let world = World(options: options, seed: UInt64(seed))
            for scheme in schemes {
                let start = try place(scheme, in: world)
                if seed == 0 && options.lookupPasses > 0 {
                    lookups[scheme] = timeLookup(scheme, start: start, world: world)
                }
                for scenario in scenarios {
                    if let sample = try simulate(scenario, scheme: scheme, start: start, world: world) {
                        samples[Key(scheme: scheme, scenario: scenario), default: []].append(sample)
                    }
                }
            }
        }
        var rows: [Row] = []
        for scheme in schemes {
            for scenario in scenarios {
                guard let list = samples[Key(scheme: scheme, scenario: scenario)] else { continue }
                let planned = list.compactMap(\.planMilliseconds)
                rows.append(Row(
                    scheme: scheme, scenario: scenario, seeds: list.count,
                    stddevPercent: Statistic(list.map(\.stats.countStddevPercent)),
                    maxOverMean: Statistic(list.map(\.stats.countMaxOverMean)),
                    bytesStddevPercent: Statistic(list.map(\.stats.bytesStddevPercent)),
                    bytesMaxOverMean: Statistic(list.map(\.stats.bytesMaxOverMean)),
                    loadMaxOverMean: Statistic(list.map(\.stats.loadMaxOverMean)),
                    moved: Statistic(list.map(\.moved)),
                    idealMoved: Statistic(list.map(\.idealMoved)).mean,
                    movedBytes: Statistic(list.map(\.movedBytes)),
                    idealMovedBytes: Statistic(list.map(\.idealMovedBytes)).mean,
                    lookupNanoseconds: lookups[scheme] ?? 0,
                    planMilliseconds: planned.isEmpty ? nil : Statistic(planned),
                    estimatedSeconds: planned.isEmpty ? nil : Statistic(list.compactMap(\.estimatedSeconds)),
                    restoreSeconds: planned.isEmpty ? nil : Statistic(list.compactMap(\.restoreSeconds)),
                    belowFactor: list.reduce(0) { $0 + $1.belowFactor }))
            }
        }
        return rows
    }

    // MARK: - One seed

    struct Key: Hashable {
        var scheme: Scheme
        var scenario: Scenario
    }

    struct Sample {
        var stats: Balance
        var moved: Double
        var idealMoved: Double
        var movedBytes: Double
        var idealMovedBytes: Double
        var planMilliseconds: Double?
        var estimatedSeconds: Double?
        var restoreSeconds: Double?
        var belowFactor = 0
    }

    /// The spaces, nodes and ring of one seed.
    struct World {
        let ids: [SpaceID]
        let workload: Workload
        let nodes: [Node]
        let ringConfiguration: RingConfiguration
        let seed: UInt64

        init(options: Options, seed: UInt64) {
            var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 1)
            let zipf = ZipfDistribution(n: options.sizeUnits, exponent: options.zipfExponent)
            var ids: [SpaceID] = []
            var workload = Workload()
            var seen = Set<UInt64>()
            while ids.count < options.spaces {
                let id = rng.next()
                if !seen.insert(id).inserted { continue }
                ids.append(SpaceID(rawValue: id))
                let bytes = UInt64(zipf.sample(using: &rng)) * options.unitBytes
                workload[SpaceID(rawValue: id)] = .init(bytes: bytes, opsPerSecond: Double.random(in: 1..<100, using: &rng))
            }
            self.ids = ids
            self.workload = workload
            self.nodes = (1...options.nodes).map {
                Node(id: NodeID(rawValue: UInt32($0)), rack: "r\(($0 - 1) % options.racks)")
            }
            self.ringConfiguration = RingConfiguration(virtualNodes: options.virtualNodes,
                                                       replicationFactor: options.replicas,
                                                       rackAware: true, seed: seed)
            self.seed = seed
        }
    }

    var plannerConfiguration: PlannerConfiguration {
        var configuration = options.planner
        configuration.replicationFactor = options.replicas
        return configuration
    }

    func ring(_ scheme: Scheme, nodes: [Node], world: World) throws(PlacementError) -> Ring {
        var configuration = world.ringConfiguration
        if scheme == .bounded { configuration.loadBound = options.loadBound }
        return try Ring(nodes: nodes, configuration: configuration)
    }

    /// The starting directory of a scheme. Mnemo balances the ring's placement before any data
    /// exists (planning until the planner has nothing left to do).
    func place(_ scheme: Scheme, in world: World) throws(PlacementError) -> Directory {
        var directory = try ring(scheme, nodes: world.nodes, world: world).assign(world.ids)
        guard scheme == .mnemo else { return directory }
        let planner = RebalancePlanner(configuration: plannerConfiguration)
        let membership = try Membership(nodes: world.nodes)
        for _ in 0..<10 {
            let plan = try planner.plan(directory: directory, membership: membership, workload: world.workload)
            if plan.isEmpty { break }
            directory = try directory.applying(plan.moves)
        }
        return directory
    }

    func timeLookup(_ scheme: Scheme, start: Directory, world: World) -> Double {
        var rng = SplitMix64(seed: 99)
        let shuffled = world.ids.shuffled(using: &rng)
        if scheme == .ring, let ring = try? ring(.ring, nodes: world.nodes, world: world) {
            return PlacementBenchmark.ringLookup(ring, ids: shuffled, passes: options.lookupPasses).nanoseconds
        }
        return PlacementBenchmark.directoryLookup(start, ids: shuffled, passes: options.lookupPasses).nanoseconds
    }

    func simulate(_ scenario: Scenario, scheme: Scheme, start: Directory, world: World) throws(PlacementError)
        -> Sample?
    {
        var workload = world.workload
        var membership = try Membership(nodes: world.nodes)
        var removed: [NodeID] = []
        var nodesAfter = world.nodes
        let victim = world.nodes[Int(world.seed % UInt64(world.nodes.count))].id
        switch scenario {
        case .balance:
            break
        case .join:
            let id = NodeID(rawValue: UInt32(world.nodes.count + 1))
            let node = Node(id: id, rack: "r\(world.nodes.count % options.racks)")
            membership = try membership.adding(node)
            nodesAfter.append(node)
        case .death, .drain:
            removed = [victim]
            membership = try membership.setting(victim, to: scenario == .death ? .dead : .draining)
        case .rackDeath:
            let rack = "r\(Int(world.seed % UInt64(options.racks)))"
            removed = world.nodes.filter { $0.rack == rack }.map(\.id)
            for id in removed { membership = try membership.setting(id, to: .dead) }
        case .hotSpace:
            let hot = world.ids[Int(world.seed % UInt64(world.ids.count))]
            let others = world.ids.reduce(0.0) { $0 + ($1 == hot ? 0 : world.workload[$1].opsPerSecond) }
            workload[hot] = .init(bytes: workload[hot].bytes, opsPerSecond: others / 4)
        }
        nodesAfter.removeAll { removed.contains($0.id) }
        if nodesAfter.count < options.replicas { return nil }

        // Ideal movement: a joining node's fair share, or every copy the removed nodes held.
        var ideal = 0.0
        var idealBytes = 0.0
        if scenario == .join {
            var total = 0.0
            var totalBytes = 0.0
            for (space, assignment) in start {
                total += Double(assignment.copies.count)
                totalBytes += Double(assignment.copies.count) * Double(workload[space].bytes)
            }
            ideal = total / Double(nodesAfter.count)
            idealBytes = totalBytes / Double(nodesAfter.count)
        } else if !removed.isEmpty {
            for (space, assignment) in start {
                let lost = assignment.copies.filter { removed.contains($0) }.count
                ideal += Double(lost)
                idealBytes += Double(lost) * Double(workload[space].bytes)
            }
        }

        var sample = Sample(stats: Balance(), moved: 0, idealMoved: ideal, movedBytes: 0, idealMovedBytes: idealBytes)
        let after: Directory
        switch scheme {
        case .ring, .bounded:
            after = scenario == .balance || scenario == .hotSpace
                ? start
                : try ring(scheme, nodes: nodesAfter, world: world).assign(world.ids)
            let moves = start.diff(after, workload: workload).filter { $0.to != nil }
            sample.moved = Double(moves.count)
            sample.movedBytes = moves.reduce(0.0) { $0 + Double($1.bytes) }
        case .mnemo:
            if scenario == .balance {
                after = start
                break
            }
            let planner = RebalancePlanner(configuration: plannerConfiguration)
            let clock = ContinuousClock.now
            let plan = try planner.plan(directory: start, membership: membership, workload: workload)
            sample.planMilliseconds = PlacementBenchmark.seconds(ContinuousClock.now - clock) * 1000
            var executor = SimulatedExecutor(directory: start, dead: scenario == .death || scenario == .rackDeath
                                                 ? Set(removed) : [], replicationFactor: options.replicas)
            let report = try RebalanceRunner().run(plan, directory: start, executor: &executor)
            after = report.directory
            let moves = plan.moves.filter { $0.to != nil }
            sample.moved = Double(moves.count)
            sample.movedBytes = moves.reduce(0.0) { $0 + Double($1.bytes) }
            sample.estimatedSeconds = report.seconds
            sample.restoreSeconds = report.secondsToRestore
            sample.belowFactor = executor.violations
        }
        sample.stats = Balance(after, nodes: nodesAfter.map(\.id), workload: workload)
        return sample
    }
}

/// Per-node balance figures of a directory over the given live nodes.
struct Balance {
    var countStddevPercent = 0.0
    var countMaxOverMean = 0.0
    var bytesStddevPercent = 0.0
    var bytesMaxOverMean = 0.0
    var loadMaxOverMean = 0.0

    init() {}

    init(_ directory: Directory, nodes: [NodeID], workload: Workload) {
        var index: [NodeID: Int] = [:]
        for (i, node) in nodes.enumerated() { index[node] = i }
        var count = [Double](repeating: 0, count: nodes.count)
        var bytes = count
        var load = count
        for (space, assignment) in directory {
            let stats = workload[space]
            for node in assignment.copies {
                guard let i = index[node] else { continue }
                count[i] += 1
                bytes[i] += Double(stats.bytes)
                load[i] += stats.opsPerSecond
            }
        }
        (countStddevPercent, countMaxOverMean) = Balance.spread(count)
        (bytesStddevPercent, bytesMaxOverMean) = Balance.spread(bytes)
        loadMaxOverMean = Balance.spread(load).1
    }

    /// (population std dev as % of the mean, max / mean).
    static func spread(_ values: [Double]) -> (Double, Double) {
        guard !values.isEmpty else { return (0, 0) }
        let mean = values.reduce(0, +) / Double(values.count)
        guard mean > 0 else { return (0, 0) }
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        return (variance.squareRoot() / mean * 100, (values.max() ?? 0) / mean)
    }
}
