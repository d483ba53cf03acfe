// Every node's latest load report at one etcd revision, kept current from a watch. A report goes
// away with its node's lease, so the snapshot only holds live nodes' reports.

import MnemoPlacement

/// The load reports at one revision.
public struct LoadSnapshot: Hashable, Sendable {
    /// The latest report of each node.
    public var reports: [NodeID: LoadReport]
    /// The mod revision of each node's report (a new report, a new revision).
    public var reportRevisions: [NodeID: Int64]
    /// The revision the reports reflect (watch from revision + 1).
    public var revision: Int64

    /// Creates a snapshot.
    public init(reports: [NodeID: LoadReport] = [:], reportRevisions: [NodeID: Int64] = [:], revision: Int64 = 0) {
        self.reports = reports
        self.reportRevisions = reportRevisions
        self.revision = revision
    }

    /// Applies one watch batch of the load prefix (foreign keys and malformed values are skipped).
    public mutating func apply(_ batch: EtcdWatch.Batch, keys: ClusterKeys) {
        for event in batch.events {
            guard let node = keys.node(fromLoadKey: event.kv.key) else { continue }
            switch event.kind {
            case .delete:
                reports[node] = nil
                reportRevisions[node] = nil
            case .put:
                reports[node] = LoadReport.decoded(from: event.kv.value)
                reportRevisions[node] = event.kv.modRevision
            }
            revision = max(revision, event.kv.modRevision)
        }
        revision = max(revision, batch.revision)
    }
}
