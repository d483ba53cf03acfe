// The assignment table in etcd: one key per space, `<root>/assignments/<space>`, holding
// {"primary","replicas","version"}. It changes only through transactions that compare the key's
// mod_revision with the one the writer read (or create_revision == 0 for a new space), optionally
// fenced by the controller's leadership, so two writers can never both move a space.
//
// Ambiguous outcomes: a write that times out is not retried. `update` reads the key back once: if
// it now holds exactly the assignment we meant to write at a newer revision, our write applied
// (assignment versions only grow, so nobody else writes an identical value). Otherwise the original
// error is rethrown and the caller, which must re-read before writing anyway, decides.
//
// `follow` is what every node runs: load the table, watch from the next revision, apply batches,
// and when etcd cancels the watch because its start revision was compacted, load again and re-watch.

import Logging
import MnemoPlacement

/// Reads, writes and follows the assignment table.
///
/// ```swift
/// let store = AssignmentStore(client: etcd, keys: keys)
/// let snapshot = try await store.load()
/// if let current = snapshot.entries[space] {
///     var next = current.assignment
///     next.version += 1
///     let result = try await store.update(space, to: next, expecting: current.modRevision,
///                                         fence: leadership.fence)
/// }
/// ```
public struct AssignmentStore: Sendable {
    /// The client used.
    public let client: EtcdClient
    /// The key layout.
    public let keys: ClusterKeys
    private let logger: Logger

    /// Creates the store of the cluster under `keys`.
    public init(client: EtcdClient, keys: ClusterKeys, logger: Logger = Logger(label: "mnemo.assignments")) {
        self.client = client
        self.keys = keys
        self.logger = logger
    }

    /// Reads the whole table.
    public func load() async throws(EtcdError) -> AssignmentSnapshot {
        let range = try await client.range(prefix: keys.assignmentsPrefix)
        var snapshot = AssignmentSnapshot(revision: range.revision)
        for kv in range.kvs {
            guard let space = keys.space(fromKey: kv.key) else { continue }
            guard let stored = StoredAssignment.decode(space: space, value: kv.value, modRevision: kv.modRevision) else {
                logger.warning("malformed assignment skipped", metadata: ["key": "\(kv.key)"])
                continue
            }
            snapshot.entries[space] = stored
        }
        return snapshot
    }

    /// Reads one space's assignment.
    public func get(_ space: SpaceID) async throws(EtcdError) -> StoredAssignment? {
        guard let kv = try await client.get(keys.assignment(space)).first else { return nil }
        return StoredAssignment.decode(space: space, value: kv.value, modRevision: kv.modRevision)
    }

    /// Writes a new space's assignment if the space has none (`writeQuorum`: the space's own).
    public func create(_ space: SpaceID, _ assignment: Assignment, writeQuorum: String? = nil,
                       fence: EtcdTxn.Compare? = nil) async throws(EtcdError) -> AssignmentWrite {
        try await write(space, assignment, writeQuorum: writeQuorum,
                        condition: .createRevision(keys.assignment(space), .equal, 0), expecting: 0, fence: fence)
    }

    /// Replaces a space's assignment if its key is still at `modRevision` (`writeQuorum`: the
    /// space's own, which a rewrite carries over).
    public func update(_ space: SpaceID, to assignment: Assignment, writeQuorum: String? = nil,
                       expecting modRevision: Int64,
                       fence: EtcdTxn.Compare? = nil) async throws(EtcdError) -> AssignmentWrite {
        try await write(space, assignment, writeQuorum: writeQuorum,
                        condition: .modRevision(keys.assignment(space), .equal, modRevision),
                        expecting: modRevision, fence: fence)
    }

    /// Replaces many assignments in one transaction, if every key is still at the mod_revision
    /// given and the fence holds: all of them or none. Returns the revision they were written at,
    /// nil when a compare failed (nothing was written). Keep a batch under etcd's
    /// `--max-txn-ops` (128 by default).
    public func updateAll(_ changes: [(space: SpaceID, assignment: Assignment, writeQuorum: String?, expecting: Int64)],
                          fence: EtcdTxn.Compare?) async throws(EtcdError) -> Int64? {
        var compare = changes.map { EtcdTxn.Compare.modRevision(keys.assignment($0.space), .equal, $0.expecting) }
        if let fence { compare.append(fence) }
        let puts = changes.map {
            EtcdTxn.Op.put(keys.assignment($0.space), value: StoredAssignment.encode($0.assignment, writeQuorum: $0.writeQuorum))
        }
        let result = try await client.txn(EtcdTxn(compare: compare, success: puts, failure: []))
        return result.succeeded ? result.revision : nil
    }

    private func write(_ space: SpaceID, _ assignment: Assignment, writeQuorum: String?, condition: EtcdTxn.Compare,
                       expecting modRevision: Int64,
                       fence: EtcdTxn.Compare?) async throws(EtcdError) -> AssignmentWrite {
        let key = keys.assignment(space)
        var compare = [condition]
        var failure: [EtcdTxn.Op] = [.get(key)]
        if let fence {
            compare.append(fence)
            failure.append(.get(fence.key))
        }
        let txn = EtcdTxn(compare: compare,
                          success: [.put(key, value: StoredAssignment.encode(assignment, writeQuorum: writeQuorum))],
                          failure: failure)
        let result: EtcdTxnResult
        do {
            result = try await client.txn(txn)
        } catch where error.code == .timeout || error.code == .unavailable {
            // Outcome unknown: our exact value at a newer revision means the write applied.
            if let current = try? await get(space), current.assignment == assignment,
               current.modRevision != modRevision {
                return .applied(modRevision: current.modRevision)
            }
            throw error
        }
        if result.succeeded { return .applied(modRevision: result.revision) }
        if let fence, !Self.holds(fence, result.kvs(at: 1).first) { return .fenced }
        let current = result.kvs(at: 0).first.flatMap { kv in
            StoredAssignment.decode(space: space, value: kv.value, modRevision: kv.modRevision)
        }
        return .conflict(current: current)
    }

    /// Whether a fence on create_revision holds for the key-value read in the failure branch.
    private static func holds(_ fence: EtcdTxn.Compare, _ kv: EtcdKeyValue?) -> Bool {
        guard case .createRevision(let token) = fence.target else { return true }
        return (kv?.createRevision ?? 0) == token
    }

    /// Keeps a snapshot of the table current until the calling task is cancelled: loads it (or
    /// starts from `start`, e.g. a cached one), watches from its revision + 1, and hands every new
    /// snapshot to `onSnapshot`. A watch cancelled for compaction, or a broken stream, leads to a
    /// full re-read and a new watch; other errors are thrown.
    public func follow(from start: AssignmentSnapshot? = nil,
                       onSnapshot: @Sendable (AssignmentSnapshot) async -> Void) async throws(EtcdError) {
        let keys = keys
        let follow = EtcdFollow<AssignmentSnapshot>(
            client: client, prefix: keys.assignmentsPrefix, load: { () async throws(EtcdError) in try await load() },
            revision: { $0.revision }, apply: { $0.apply($1, keys: keys) }, logger: logger)
        try await follow.run(from: start, onSnapshot: onSnapshot)
    }
}
