// ClusterConfiguration: how a `mnemo serve` process joins a cluster (docs/cluster.md, "Nodes and
// routing"): where etcd is, which cluster (the root key `/mnemo/<name>`), who this node is (id,
// rack, capacity) and the address other nodes and clients reach it at. A nil configuration keeps
// the server a single node, exactly as before.
import Foundation
import MnemoPlacement

/// A node's place in a cluster.
///
/// ```swift
/// var configuration = ServerConfiguration()
/// configuration.dataPath = "/var/lib/mnemo"
/// configuration.cluster = ClusterConfiguration(node: 1, etcdEndpoints: ["http://127.0.0.1:2379"])
/// ```
public struct ClusterConfiguration: Sendable, Hashable {
    /// etcd client URLs (the first one is used; the others are for a later failover).
    public var etcdEndpoints: [String]
    /// The cluster's name: every key lives under `/mnemo/<name>`.
    public var name: String
    /// This node's id (unique in the cluster).
    public var node: NodeID
    /// The node's rack or failure domain.
    public var rack: String
    /// The node's relative capacity (> 0).
    public var capacity: Double
    /// `host:port` other nodes and clients use; nil: the bound host and port.
    public var advertise: String?
    /// The member lease's time to live, in seconds.
    public var leaseTTL: Int
    /// How often the node writes its load report, in milliseconds.
    public var loadReportMilliseconds: Int = 2000
    /// The limit on a forwarded request until its response head arrives, in seconds (streamed
    /// exports and imports get ``transferTimeoutSeconds``).
    public var forwardTimeoutSeconds: Int = 30
    /// The limit on a forwarded export or import, in seconds.
    public var transferTimeoutSeconds: Int = 3600
    /// Whether this node is a controller candidate (campaigns; while leading, plans and writes
    /// moves). Every node is one by default; at most one leads.
    public var runsController: Bool = true
    /// Space moves a node sends or receives at once at most (the planner's
    /// MoveLimits.maxConcurrentMovesPerNode). Moves of small spaces are bound by round trips,
    /// not bytes (export, import, log tail, one etcd transaction: ~0.1 s), so a joining node
    /// fills at about this many moves per 0.1 s; the byte rates of MoveLimits still cap big ones.
    public var maxConcurrentMoves: Int = 8
    /// Copies of each space (the primary and its replicas, at most `CopySet.capacity`).
    public var replicationFactor: Int = 1
    /// The copies a write must reach before it is acknowledged, unless the request asks for
    /// another quorum (`Mnemo-Write-Quorum`).
    public var writeQuorum: WriteQuorum = .majority
    /// How long a write waits for its quorum before it is answered 503 `replicationTimeout`
    /// (applied on the primary, outcome indeterminate), in milliseconds.
    public var replicationTimeoutMilliseconds: Int = 5000

    /// How the controller plans: ``replicationFactor`` copies per space (rack-aware), and
    /// tolerances sized to what the nodes measure. Bytes grow with every write and a moved
    /// space's bytes are re-counted on its new node, and load is an average of request counts
    /// (WorkloadSmoother): 5% and 10% keep the planner from moving spaces after measurement
    /// noise. The space count is only a proxy for those two: held to 1% (the simulator's
    /// default) it outweighs load when spaces are many and light, and a node with a hot space
    /// could not give away the others (the planner's potential rose with every move), so it is
    /// held to 25%. A plan's balancing moves must remove at least 5% of the planner's
    /// potential: under a hot space the tolerances cannot all be met, and each new average's
    /// noise would otherwise offer a few moves of tiny gain every few seconds, without end.
    public var planner: PlannerConfiguration {
        PlannerConfiguration(replicationFactor: replicationFactor, countTolerance: 0.25, bytesTolerance: 0.05, loadTolerance: 0.10,
                             minimumBalanceGain: 0.05,
                             limits: MoveLimits(maxConcurrentMovesPerNode: maxConcurrentMoves))
    }

    /// Creates a configuration.
    public init(node: NodeID, etcdEndpoints: [String] = ["http://127.0.0.1:2379"], name: String = "default",
                rack: String = "", capacity: Double = 1, advertise: String? = nil, leaseTTL: Int = 5) {
        self.etcdEndpoints = etcdEndpoints
        self.name = name
        self.node = node
        self.rack = rack
        self.capacity = capacity
        self.advertise = advertise
        self.leaseTTL = leaseTTL
    }

    /// The root key of the cluster's state in etcd.
    public var root: String { "/mnemo/" + name }
}
