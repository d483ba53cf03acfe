// `mnemo placement`: the placement simulator and the lookup/planning benchmark.
//
//   mnemo placement simulate --nodes 10 --spaces 10000 --vnodes 150 --seeds 20 [--json]
//   mnemo placement bench --spaces 10000,1000000
//
// `simulate` compares plain virtual nodes, bounded loads and Mnemo's ring + planner + directory
// over many hash seeds (see PlacementSimulation); `bench` times lookups and planning at scale.
// Both print figures and never fail on speed (STYLE rule 20).

import ArgumentParser
import MnemoPlacement

/// `mnemo placement`: where spaces live and how they move.
struct PlacementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "placement",
        abstract: "Simulate and benchmark space placement (ring, planner, directory).",
        subcommands: [Simulate.self, Bench.self]
    )

    /// `mnemo placement simulate`.
    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare placement schemes over many hash seeds.",
            discussion: """
                Schemes: ring (plain virtual nodes), bounded (bounded loads), mnemo (ring + planner + \
                directory). Scenarios: balance, join, death, rack-death, drain, hot-space. Figures are \
                the mean (and worst) over seeds. Example:
                  mnemo placement simulate --nodes 10 --spaces 10000 --vnodes 150 --seeds 20 --json
                """
        )

        @Option(help: "Nodes before any event.")
        var nodes = 10
        @Option(help: "Memory spaces to place.")
        var spaces = 10_000
        @Option(help: "Virtual nodes per node.")
        var vnodes = 150
        @Option(help: "Hash seeds to run (0 ..< seeds).")
        var seeds = 20
        @Option(help: "Copies of each space (the replication factor).")
        var replicas = 1
        @Option(help: "Racks (node i is in rack i mod racks).")
        var racks = 5
        @Option(help: "ε of the bounded-loads scheme.")
        var epsilon = 0.25
        @Option(help: "Zipf exponent of space sizes (sizes are 64 KiB × k, k ~ Zipf on 1...10000).")
        var zipf = 1.0
        @Option(help: "Lookup timing passes (0 skips lookup timing).")
        var lookupPasses = 15
        @Option(help: "Schemes, comma-separated (ring,bounded,mnemo).")
        var schemes = "ring,bounded,mnemo"
        @Option(help: "Scenarios, comma-separated (balance,join,death,rack-death,drain,hot-space).")
        var scenarios = "balance,join,death,rack-death,drain,hot-space"
        @Flag(help: "Print one JSON object per line per scheme and scenario.")
        var json = false

        mutating func run() async throws {
            var options = PlacementSimulation.Options()
            options.nodes = nodes
            options.spaces = spaces
            options.virtualNodes = vnodes
            options.seeds = seeds
            options.replicas = replicas
            options.racks = racks
            options.loadBound = epsilon
            options.zipfExponent = zipf
            options.lookupPasses = lookupPasses
            let schemeList = try schemes.split(separator: ",").map { name in
                guard let scheme = PlacementSimulation.Scheme(rawValue: String(name)) else {
                    throw ValidationError("unknown scheme \(name)")
                }
                return scheme
            }
            let scenarioList = try scenarios.split(separator: ",").map { name in
                guard let scenario = PlacementSimulation.Scenario(rawValue: String(name)) else {
                    throw ValidationError("unknown scenario \(name)")
                }
                return scenario
            }
            let rows = try PlacementSimulation(options: options).run(schemes: schemeList, scenarios: scenarioList)
            if json {
                for row in rows { print(PlacementCommand.json(row, options: options)) }
            } else {
                print("\(nodes) nodes, \(spaces) spaces, \(vnodes) vnodes, \(replicas) copies, \(racks) racks, "
                      + "\(seeds) seeds; mean (worst) over seeds")
                PlacementCommand.printTable(rows)
            }
        }
    }

    /// `mnemo placement bench`.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time ring and directory lookups and planning at scale.",
            discussion: "Example: mnemo placement bench --spaces 10000,1000000 --nodes 10"
        )

        @Option(help: "Space counts to measure, comma-separated.")
        var spaces = "10000,1000000"
        @Option(help: "Nodes before the join.")
        var nodes = 10
        @Option(help: "Virtual nodes per node.")
        var vnodes = 150
        @Option(help: "Copies of each space.")
        var replicas = 1
        @Option(help: "Lookup passes (the median pass is reported).")
        var passes = 9
        @Option(help: "Planning runs (the median run is reported).")
        var runs = 3

        mutating func run() async throws {
            print("space_count  ring_primary_ns  ring_copies_ns  directory_ns  reader_ns  "
                  + "plan_join_ms  plan_death_ms  join_moves  ideal_join")
            for field in spaces.split(separator: ",") {
                guard let count = Int(field), count > 0 else { throw ValidationError("bad space count \(field)") }
                try bench(count)
            }
        }

        func bench(_ count: Int) throws {
            var rng = SplitMix64(seed: 7)
            let ids = (0..<count).map { _ in SpaceID(rawValue: rng.next()) }
            var workload = Workload()
            let zipf = ZipfDistribution(n: 10_000, exponent: 1)
            for id in ids {
                workload[id] = .init(bytes: UInt64(zipf.sample(using: &rng)) * 65_536,
                                     opsPerSecond: Double.random(in: 1..<100, using: &rng))
            }
            let nodeList = (1...nodes).map { Node(id: NodeID(rawValue: UInt32($0)), rack: "r\($0 % 5)") }
            let ring = try Ring(nodes: nodeList, configuration: RingConfiguration(
                virtualNodes: vnodes, replicationFactor: replicas, seed: 1))
            let planner = RebalancePlanner(configuration: PlannerConfiguration(replicationFactor: replicas))
            let membership = try Membership(nodes: nodeList)
            var directory = try ring.assign(ids)
            for _ in 0..<10 {
                let plan = try planner.plan(directory: directory, membership: membership, workload: workload)
                if plan.isEmpty { break }
                directory = try directory.applying(plan.moves)
            }
            let shuffled = ids.shuffled(using: &rng)
            var checksum: UInt64 = 0
            let primary = PlacementBenchmark.ringPrimaryLookup(ring, ids: shuffled, passes: passes)
            let copies = PlacementBenchmark.ringLookup(ring, ids: shuffled, passes: passes)
            let direct = PlacementBenchmark.directoryLookup(directory, ids: shuffled, passes: passes)
            checksum &+= primary.checksum &+ copies.checksum &+ direct.checksum
            var readerNs = Double.nan
            if #available(macOS 15.0, *) {
                let reader = PlacementBenchmark.readerLookup(DirectoryPublisher(directory), ids: shuffled, passes: passes)
                readerNs = reader.nanoseconds
                checksum &+= reader.checksum
            }
            let joined = try membership.adding(Node(id: NodeID(rawValue: UInt32(nodes + 1)), rack: "r0"))
            var joinMoves = 0
            let joinMs = try PlacementBenchmark.medianMilliseconds(runs: runs) { () throws(PlacementError) in
                joinMoves = try planner.plan(directory: directory, membership: joined, workload: workload).moves.count
            }
            let dead = try membership.setting(nodeList[0].id, to: .dead)
            let deathMs = try PlacementBenchmark.medianMilliseconds(runs: runs) { () throws(PlacementError) in
                _ = try planner.plan(directory: directory, membership: dead, workload: workload)
            }
            let ideal = Double(count * replicas) / Double(nodes + 1)
            print([String(count), fixed(primary.nanoseconds, 1), fixed(copies.nanoseconds, 1),
                   fixed(direct.nanoseconds, 2), fixed(readerNs, 2), fixed(joinMs, 1), fixed(deathMs, 1),
                   String(joinMoves), fixed(ideal, 0)].joined(separator: "  "))
            if checksum == 0x5EED { print("(checksum collision)") }
        }
    }

    // MARK: - Output

    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = digits == 0 ? String(Int(rounded)) : String(rounded)
        if digits > 0 {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            let fraction = parts.count > 1 ? String(parts[1]) : ""
            if !text.contains("e") {
                text = String(parts[0]) + "." + fraction + String(repeating: "0", count: max(0, digits - fraction.count))
            }
        }
        return text
    }

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int(value)) }
        return String((value * 10_000).rounded() / 10_000)
    }

    static func json(_ row: PlacementSimulation.Row, options: PlacementSimulation.Options) -> String {
        var fields: [(String, String)] = [
            ("scheme", "\"\(row.scheme.rawValue)\""), ("scenario", "\"\(row.scenario.rawValue)\""),
            ("nodes", number(Double(options.nodes))), ("spaces", number(Double(options.spaces))),
            ("vnodes", number(Double(options.virtualNodes))), ("replicas", number(Double(options.replicas))),
            ("seeds", number(Double(row.seeds))),
            ("stddev_percent", number(row.stddevPercent.mean)),
            ("stddev_percent_median", number(row.stddevPercent.median)),
            ("stddev_percent_worst", number(row.stddevPercent.worst)),
            ("max_over_mean", number(row.maxOverMean.mean)), ("max_over_mean_worst", number(row.maxOverMean.worst)),
            ("bytes_stddev_percent", number(row.bytesStddevPercent.mean)),
            ("bytes_stddev_percent_worst", number(row.bytesStddevPercent.worst)),
            ("bytes_max_over_mean", number(row.bytesMaxOverMean.mean)),
            ("bytes_max_over_mean_worst", number(row.bytesMaxOverMean.worst)),
            ("load_max_over_mean", number(row.loadMaxOverMean.mean)),
            ("load_max_over_mean_worst", number(row.loadMaxOverMean.worst)),
            ("moved", number(row.moved.mean)), ("moved_worst", number(row.moved.worst)),
            ("ideal_moved", number(row.idealMoved)),
            ("moved_bytes", number(row.movedBytes.mean)), ("moved_bytes_worst", number(row.movedBytes.worst)),
            ("ideal_moved_bytes", number(row.idealMovedBytes)),
            ("lookup_ns", number(row.lookupNanoseconds)),
        ]
        if let plan = row.planMilliseconds {
            fields.append(("plan_ms", number(plan.mean)))
            fields.append(("plan_ms_worst", number(plan.worst)))
        }
        if let estimate = row.estimatedSeconds { fields.append(("est_seconds", number(estimate.mean))) }
        if let restore = row.restoreSeconds { fields.append(("restore_seconds", number(restore.mean))) }
        fields.append(("below_factor", number(Double(row.belowFactor))))
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    static func printTable(_ rows: [PlacementSimulation.Row]) {
        let header = ["scheme", "scenario", "stddev%", "max/mean", "bytes sd%", "bytes max/mean",
                      "load max/mean", "moved", "ideal", "moved GB", "ideal GB", "lookup ns", "plan ms",
                      "est s", "restore s"]
        var table = [header]
        func pair(_ s: PlacementSimulation.Statistic, _ digits: Int) -> String {
            "\(fixed(s.mean, digits)) (\(fixed(s.worst, digits)))"
        }
        for row in rows {
            table.append([
                row.scheme.rawValue, row.scenario.rawValue, pair(row.stddevPercent, 2), pair(row.maxOverMean, 3),
                pair(row.bytesStddevPercent, 2), pair(row.bytesMaxOverMean, 3), pair(row.loadMaxOverMean, 3),
                pair(row.moved, 0), fixed(row.idealMoved, 0),
                fixed(row.movedBytes.mean / 1e9, 1), fixed(row.idealMovedBytes / 1e9, 1),
                fixed(row.lookupNanoseconds, 1), row.planMilliseconds.map { fixed($0.mean, 1) } ?? "-",
                row.estimatedSeconds.map { fixed($0.mean, 0) } ?? "-",
                row.restoreSeconds.map { fixed($0.mean, 0) } ?? "-",
            ])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for line in table { for (i, cell) in line.enumerated() { widths[i] = max(widths[i], cell.count) } }
        for line in table {
            print(line.enumerated().map { i, cell in
                i < 2 ? cell.padding(widths[i]) : cell.leftPadding(widths[i])
            }.joined(separator: "  "))
        }
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
    fileprivate func leftPadding(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
