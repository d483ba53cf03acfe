// `mnemo cluster`: a running cluster seen from the command line, and its benchmark.
//
//   mnemo cluster status [--url URL] [--json]      nodes, racks, spaces and bytes, moves in flight
//   mnemo cluster drain  [--url URL]               the node at URL hands its spaces over and leaves
//   mnemo cluster bench --nodes 5 --spaces 10000 --json
//
// status and drain talk to one node (any node answers for the whole cluster: GET /v1/cluster);
// bench starts its own etcd and nodes (ClusterBench).
import ArgumentParser
import Foundation

/// `mnemo cluster`.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Inspect, drain and benchmark a Mnemo cluster.",
        subcommands: [Status.self, Drain.self, Bench.self]
    )

    /// `mnemo cluster status`.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Nodes, racks, spaces and bytes per node, moves in flight and versions.")

        @OptionGroup var server: ServerOptions
        @Flag(help: "Print the node's JSON answer as it is.") var json = false

        /// The parts of GET /v1/cluster the table shows.
        struct Answer: Decodable {
            struct Member: Decodable {
                var node: UInt32
                var address: String
                var rack: String
                var capacity: Double
                var state: String
                var spaces: Int?
                var bytes: Int?
            }
            struct MoveEntry: Decodable {
                var from: UInt32
                var to: UInt32
                var priority: String
                var bytes: UInt64
                var state: String
            }
            var node: UInt32?
            var leader: String?
            var revision: Int64
            var members: [Member]
            var moves: [MoveEntry]
        }

        func run() async throws {
            let reply = try await server.request(.GET, "/v1/cluster")
            guard (200..<300).contains(reply.status) else { throw ServerClient.failure(reply) }
            if json {
                print(reply.text)
                return
            }
            let answer = try JSONDecoder().decode(Answer.self, from: Data(reply.body))
            print("answered by \(answer.node.map { "n\($0)" } ?? "a single node"); controller \(answer.leader ?? "none"); etcd revision \(answer.revision)")
            print("node  address                rack   capacity  state     spaces        bytes")
            for member in answer.members.sorted(by: { $0.node < $1.node }) {
                print(String(format: "%-5@ %-22@ %-6@ %8.2f  %-9@ %6d %12d", "n\(member.node)", member.address,
                             member.rack, member.capacity, member.state, member.spaces ?? 0, member.bytes ?? 0))
            }
            print("moves in flight: \(answer.moves.count)")
            for move in answer.moves {
                print("  n\(move.from) → n\(move.to) \(move.priority) \(move.bytes) B \(move.state)")
            }
        }
    }

    /// `mnemo cluster drain`.
    struct Drain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drain the node at --url: it hands every space it owns to others, then leaves.")

        @OptionGroup var server: ServerOptions

        func run() async throws {
            let reply = try await server.request(.POST, "/v1/cluster/drain", body: Array("{}".utf8))
            guard (200..<300).contains(reply.status) else { throw ServerClient.failure(reply) }
            print(reply.text)
        }
    }

    /// `mnemo cluster bench`.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start etcd and nodes on loopback, write continuously, and join, drain and heat the cluster.",
            discussion: """
                One row per scenario with the keys scenario, moved, ideal_moved, seconds, \
                routing_errors_percent, failed_requests, lost_writes (plus context, and spaces and \
                bytes per node before and after, for bench/cluster_plot.py); the fault scenarios add \
                failover_seconds, rounds, acknowledged, converged, versions_decreased and \
                late_acknowledgements (docs/consistency.md). Example:
                  mnemo cluster bench --nodes 5 --spaces 10000 --json
                """
        )

        @Option(help: "Nodes before the scenarios.") var nodes = 5
        @Option(help: "Memory spaces.") var spaces = 10_000
        @Option(help: "Concurrent writing clients.") var clients = 4
        @Option(help: "Memories each space starts with.") var memoriesPerSpace = 4
        @Option(help: "Vector dimension.") var dimension = 8
        @Option(help: """
            Scenarios, comma-separated, run in this order (by default cross before hot, whose decay moves spaces back). \
            The fault scenarios partition (root: node 1 in a network namespace; first, while node 1 leads a third of \
            the spaces), kill, pause, etcd-restart and move-kill run on a second cluster with 3 copies per space.
            """)
        var scenarios = "join,drain,cross,hot,partition,kill,pause,etcd-restart,move-kill"
        @Option(help: "Rounds of the kill scenario.") var killRounds = 10
        @Option(help: "Member lease TTL in seconds of the fault scenarios' nodes (default 5).") var leaseTtl: Int?
        @Option(help: "Quiet seconds that end a scenario.") var settle = 3.0
        @Option(help: "Seconds after which a scenario is reported unfinished.") var timeout = 300.0
        @Option(help: "Shard workers per node.") var workers = 1
        @Option(help: "Space moves a node sends or receives at once.") var maxConcurrentMoves = 8
        @Option(help: "Directory for node data and logs (kept); default: a temporary one, removed.")
        var directory: String?
        @Flag(help: "Print one JSON object per line.") var json = false

        func validate() throws {
            guard nodes >= 2 else { throw ValidationError("--nodes must be at least 2") }
            guard killRounds >= 1 else { throw ValidationError("--kill-rounds must be at least 1") }
            if let leaseTtl, !(2...60).contains(leaseTtl) { throw ValidationError("--lease-ttl must be 2 to 60 seconds") }
            guard spaces >= 1, clients >= 1, memoriesPerSpace >= 1, dimension >= 1, maxConcurrentMoves >= 1 else {
                throw ValidationError("--spaces, --clients, --memories-per-space, --dimension and --max-concurrent-moves must be positive")
            }
        }

        func run() async throws {
            var options = ClusterBench.Options()
            options.nodes = nodes
            options.spaces = spaces
            options.clients = clients
            options.memoriesPerSpace = memoriesPerSpace
            options.dimension = dimension
            options.settle = settle
            options.timeout = timeout
            options.workers = workers
            options.maxConcurrentMoves = maxConcurrentMoves
            options.killRounds = killRounds
            options.leaseTTL = leaseTtl
            options.directory = directory.map { URL(fileURLWithPath: $0) }
            options.keep = directory != nil
            options.scenarios = try scenarios.split(separator: ",").map { name in
                guard let scenario = ClusterBench.Scenario(rawValue: String(name)) else {
                    throw ValidationError("unknown scenario \(name)")
                }
                return scenario
            }
            let json = self.json
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try await ClusterBench(options: options).run(
                log: { line in FileHandle.standardError.write(Data("cluster bench: \(line)\n".utf8)) },
                emit: { row in
                    if json {
                        if let data = try? encoder.encode(row) { print(String(decoding: data, as: UTF8.self)) }
                    } else {
                        let failover = row.failover_seconds.map { String(format: "  failover %.2f s (max %.2f)", $0, row.failover_seconds_max ?? $0) } ?? ""
                        print(String(format: "%-12@ nodes %d  moved %5d (ideal %5d)  %7.1f s  stale routes %.4f%%  failed %d  lost %d  requests %d%@%@",
                                     row.scenario, row.nodes, row.moved, row.ideal_moved, row.seconds,
                                     row.routing_errors_percent, row.failed_requests, row.lost_writes, row.requests,
                                     failover, row.finished ? "" : "  (did not settle)"))
                    }
                })
        }
    }
}
