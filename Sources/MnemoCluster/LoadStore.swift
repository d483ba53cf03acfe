// Load reports in etcd: each node puts its own `<root>/load/<node>` every couple of seconds on its
// member lease (a plain put: the node is the only writer of its key, and a lost put is replaced by
// the next one); the controller reads them all and follows them.

import Logging
import MnemoPlacement

/// Writes, reads and follows the nodes' load reports.
///
/// ```swift
/// let loads = LoadStore(client: etcd, keys: keys)
/// try await loads.put(report, node: me, lease: registration.keeper.lease.id)
/// let all = try await loads.loadAll()
/// ```
public struct LoadStore: Sendable {
    /// The client used.
    public let client: EtcdClient
    /// The key layout.
    public let keys: ClusterKeys
    private let logger: Logger

    /// Creates the store of the cluster under `keys`.
    public init(client: EtcdClient, keys: ClusterKeys, logger: Logger = Logger(label: "mnemo.load")) {
        self.client = client
        self.keys = keys
        self.logger = logger
    }

    /// Writes `node`'s report attached to `lease` (its member lease, so it goes when the node
    /// does); returns the write's revision.
    @discardableResult
    public func put(_ report: LoadReport, node: NodeID, lease: Int64) async throws(EtcdError) -> Int64 {
        try await client.put(keys.load(node), value: report.encoded(), lease: lease)
    }

    /// Reads every node's report.
    public func loadAll() async throws(EtcdError) -> LoadSnapshot {
        let range = try await client.range(prefix: keys.loadPrefix)
        var snapshot = LoadSnapshot(revision: range.revision)
        for kv in range.kvs {
            guard let node = keys.node(fromLoadKey: kv.key) else { continue }
            guard let report = LoadReport.decoded(from: kv.value) else {
                logger.warning("malformed load report skipped", metadata: ["key": "\(kv.key)"])
                continue
            }
            snapshot.reports[node] = report
            snapshot.reportRevisions[node] = kv.modRevision
        }
        return snapshot
    }

    /// Keeps a snapshot of every report current until the calling task is cancelled.
    public func follow(from start: LoadSnapshot? = nil,
                       onSnapshot: @Sendable (LoadSnapshot) async -> Void) async throws(EtcdError) {
        let keys = keys
        let follow = EtcdFollow<LoadSnapshot>(
            client: client, prefix: keys.loadPrefix, load: { () async throws(EtcdError) in try await loadAll() },
            revision: { $0.revision }, apply: { $0.apply($1, keys: keys) }, logger: logger)
        try await follow.run(from: start, onSnapshot: onSnapshot)
    }
}
