// The move table in etcd: one key per space being moved, `<root>/moves/<space>`, holding a
// MoveRecord. Who writes what:
//
//   controller  create (compare: no move key, the space's assignment key at the revision it planned
//               from, its leadership fence), update (a retry: compare the move's mod_revision,
//               fence), remove (compare mod_revision, fence);
//   executor    complete (the cut-over) and fail, both comparing the move's mod_revision.
//
// The cut-over is ONE transaction: if the assignment key is still at the mod_revision the executor
// read and the move key still at the one it executed, put the assignment with the moved copy on
// `to` (primary = to, version + 1) and delete the move key. Any change to either key in between (a
// concurrent assignment change, a controller that withdrew or rewrote the move) makes it fail, and
// the source keeps the space.
//
// Ambiguous outcomes: a write that times out (or whose connection broke) is never resent. The keys
// are read back once: the exact value we meant to write (for complete: the new assignment, and the
// move key gone) means it applied; anything else rethrows the original error, and the caller reads
// the table again before acting.

import Logging
import MnemoPlacement

/// Reads, writes, follows and completes space moves.
///
/// ```swift
/// let moves = MoveStore(client: etcd, keys: keys)
/// let table = try await moves.load()
/// for move in table.pending where move.record.from == me {
///     // ... copy the space to move.record.to ...
///     guard let current = try await assignments.get(move.space) else { continue }
///     let done = try await moves.complete(move.record, moveRevision: move.modRevision,
///                                         assignment: current)
/// }
/// ```
public struct MoveStore: Sendable {
    /// The longest error message stored in a failed move (longer ones are cut).
    public static let maxErrorBytes = 1024

    /// The client used.
    public let client: EtcdClient
    /// The key layout.
    public let keys: ClusterKeys
    private let logger: Logger

    /// Creates the store of the cluster under `keys`.
    public init(client: EtcdClient, keys: ClusterKeys, logger: Logger = Logger(label: "mnemo.moves")) {
        self.client = client
        self.keys = keys
        self.logger = logger
    }

    // MARK: Reading

    /// Reads every move.
    public func load() async throws(EtcdError) -> MoveSnapshot {
        let range = try await client.range(prefix: keys.movesPrefix)
        var snapshot = MoveSnapshot(revision: range.revision)
        for kv in range.kvs {
            guard let space = keys.space(fromMoveKey: kv.key) else { continue }
            guard let record = MoveRecord.decoded(space: space, from: kv.value) else {
                logger.warning("malformed move skipped", metadata: ["key": "\(kv.key)"])
                continue
            }
            snapshot.entries[space] = StoredMove(record: record, modRevision: kv.modRevision)
        }
        return snapshot
    }

    /// Reads one space's move.
    public func get(_ space: SpaceID) async throws(EtcdError) -> StoredMove? {
        guard let kv = try await client.get(keys.move(space)).first,
              let record = MoveRecord.decoded(space: space, from: kv.value) else { return nil }
        return StoredMove(record: record, modRevision: kv.modRevision)
    }

    /// Watches the move table from `fromRevision` (a snapshot's revision + 1).
    public func watch(fromRevision: Int64) -> EtcdWatch {
        client.watch(keys.movesPrefix, prefix: true, fromRevision: fromRevision)
    }

    /// Keeps a snapshot of the move table current until the calling task is cancelled (as
    /// ``AssignmentStore/follow(from:onSnapshot:)``: a compacted or broken watch re-reads all).
    public func follow(from start: MoveSnapshot? = nil,
                       onSnapshot: @Sendable (MoveSnapshot) async -> Void) async throws(EtcdError) {
        let keys = keys
        let follow = EtcdFollow<MoveSnapshot>(
            client: client, prefix: keys.movesPrefix, load: { () async throws(EtcdError) in try await load() },
            revision: { $0.revision }, apply: { $0.apply($1, keys: keys) }, logger: logger)
        try await follow.run(from: start, onSnapshot: onSnapshot)
    }

    // MARK: The controller's writes

    /// Writes a new move if the space has none and its assignment key is still at
    /// `assignmentRevision` (the revision the move was planned from), under `fence`.
    public func create(_ record: MoveRecord, assignmentRevision: Int64,
                       fence: EtcdTxn.Compare? = nil) async throws(EtcdError) -> MoveWrite {
        let key = keys.move(record.space)
        return try await write(record.space,
                               compare: [.createRevision(key, .equal, 0),
                                         .modRevision(keys.assignment(record.space), .equal, assignmentRevision)],
                               success: [.put(key, value: record.encoded())], fence: fence) {
            // Our move id at the key means the create applied (ids are unique).
            guard let current = try? await get(record.space), current.record.id == record.id else { return nil }
            return .applied(revision: current.modRevision)
        }
    }

    /// Replaces a move (e.g. a failed one set pending again) if its key is still at `modRevision`.
    public func update(_ record: MoveRecord, expecting modRevision: Int64,
                       fence: EtcdTxn.Compare? = nil) async throws(EtcdError) -> MoveWrite {
        try await replace(record, expecting: modRevision, fence: fence)
    }

    /// Deletes a space's move if its key is still at `modRevision`.
    public func remove(_ space: SpaceID, expecting modRevision: Int64,
                       fence: EtcdTxn.Compare? = nil) async throws(EtcdError) -> MoveWrite {
        let key = keys.move(space)
        return try await write(space, compare: [.modRevision(key, .equal, modRevision)], success: [.delete(key)],
                               fence: fence) {
            // Gone either way: whoever deleted it, there is no move left to act on.
            guard let read = try? await client.get(key), read.first == nil else { return nil }
            return .conflict(current: nil)
        }
    }

    // MARK: The executor's writes

    /// The cut-over of `record` (read at `moveRevision`) given the space's `assignment` as the
    /// executor read it: one transaction that, if both keys are unchanged, puts the assignment
    /// with `to` in place of `from` (so `to` becomes the primary) at version + 1 and deletes the
    /// move key. Returns false, writing nothing, when either key changed, when the assignment's
    /// version is not the one the move was planned against, or when it does not list `from`.
    /// After a timeout the outcome is settled (``settleTime``), never resent: the caller keeps
    /// the space frozen until this returns, so no write is acknowledged by a node that may
    /// no longer be the primary.
    public func complete(_ record: MoveRecord, moveRevision: Int64,
                         assignment: StoredAssignment) async throws(EtcdError) -> Bool {
        guard assignment.space == record.space, assignment.assignment.version == record.version,
              let next = Self.moved(assignment.assignment, from: record.from, to: record.to) else {
            logger.info("cut-over refused: the assignment is not the one the move was planned against",
                        metadata: ["space": "\(record.space)", "move": "\(record.id)"])
            return false
        }
        let assignmentKey = keys.assignment(record.space)
        let moveKey = keys.move(record.space)
        let txn = EtcdTxn(
            compare: [.modRevision(assignmentKey, .equal, assignment.modRevision),
                      .modRevision(moveKey, .equal, moveRevision)],
            success: [.put(assignmentKey, value: StoredAssignment.encode(next, writeQuorum: assignment.writeQuorum)),
                      .delete(moveKey)],
            failure: [])
        do {
            let result = try await client.txn(txn)
            return result.succeeded
        } catch where error.code == .timeout || error.code == .unavailable {
            let deadline = ContinuousClock.now + Self.settleTime
            var last = error
            while ContinuousClock.now < deadline {
                do {
                    // Marking the move failed (a compare-and-swap on its key at `moveRevision`)
                    // succeeds exactly when the cut-over was not applied, and makes sure it
                    // never is; otherwise it was applied when the assignment holds our value and
                    // the move key is gone (versions only grow: nobody else writes this value).
                    if case .applied = try await fail(record, moveRevision: moveRevision,
                                                      error: "the cut-over's answer was lost; settled as not applied") {
                        return false
                    }
                    let current = try await client.get(assignmentKey).first
                    let move = try await client.get(moveKey)
                    return current.flatMap { StoredAssignment.decode($0.value) } == next && move.first == nil
                } catch let error {
                    last = error
                    try? await Task.sleep(for: .milliseconds(250))
                }
            }
            throw last
        }
    }

    /// How long a cut-over whose answer was lost is settled for (its space frozen meanwhile):
    /// longer than a member lease, so a node cut off from etcd for all of it refuses writes
    /// anyway by then (it no longer surely holds its lease).
    public static let settleTime = Duration.seconds(60)

    /// The cut-over of a stored move (see ``complete(_:moveRevision:assignment:)``).
    public func complete(_ move: StoredMove, assignment: StoredAssignment) async throws(EtcdError) -> Bool {
        try await complete(move.record, moveRevision: move.modRevision, assignment: assignment)
    }

    /// Marks the move failed (one more failed attempt, with `error`) if its key is still at
    /// `moveRevision`; the controller retries it later or gives up.
    @discardableResult
    public func fail(_ record: MoveRecord, moveRevision: Int64,
                     error message: String) async throws(EtcdError) -> MoveWrite {
        var failed = record
        failed.state = .failed
        failed.attempts = record.attempts + 1
        failed.error = Self.truncated(message)
        return try await replace(failed, expecting: moveRevision, fence: nil)
    }

    // MARK: Helpers

    private func replace(_ record: MoveRecord, expecting modRevision: Int64,
                         fence: EtcdTxn.Compare?) async throws(EtcdError) -> MoveWrite {
        let key = keys.move(record.space)
        return try await write(record.space, compare: [.modRevision(key, .equal, modRevision)],
                               success: [.put(key, value: record.encoded())], fence: fence) {
            guard let current = try? await get(record.space), current.record == record,
                  current.modRevision != modRevision else { return nil }
            return .applied(revision: current.modRevision)
        }
    }

    /// One transaction on a space's move key: `compare` (plus `fence`, whose key is read on
    /// failure to tell a deposed writer from a lost race) guarding `success`. After a timeout
    /// `readBack` decides from what is stored whether it applied; nil (unknown) rethrows, since
    /// the write is never sent twice.
    private func write(_ space: SpaceID, compare: [EtcdTxn.Compare], success: [EtcdTxn.Op],
                       fence: EtcdTxn.Compare?,
                       readBack: () async -> MoveWrite?) async throws(EtcdError) -> MoveWrite {
        var compare = compare
        var failure: [EtcdTxn.Op] = [.get(keys.move(space))]
        if let fence {
            compare.append(fence)
            failure.append(.get(fence.key))
        }
        let result: EtcdTxnResult
        do {
            result = try await client.txn(EtcdTxn(compare: compare, success: success, failure: failure))
        } catch where error.code == .timeout || error.code == .unavailable {
            if let known = await readBack() { return known }
            throw error
        }
        return outcome(result, space: space, fence: fence)
    }

    private func outcome(_ result: EtcdTxnResult, space: SpaceID, fence: EtcdTxn.Compare?) -> MoveWrite {
        if result.succeeded { return .applied(revision: result.revision) }
        if let fence, case .createRevision(let token) = fence.target,
           (result.kvs(at: 1).first?.createRevision ?? 0) != token {
            return .fenced
        }
        let current = result.kvs(at: 0).first.flatMap { kv in
            MoveRecord.decoded(space: space, from: kv.value).map { StoredMove(record: $0, modRevision: kv.modRevision) }
        }
        return .conflict(current: current)
    }

    /// `assignment` with `to` in place of `from` at the next version; nil when `from` is not a copy.
    static func moved(_ assignment: Assignment, from: NodeID, to: NodeID) -> Assignment? {
        guard let position = assignment.copies.position(of: from) else { return nil }
        var copies = assignment.copies
        if let existing = copies.position(of: to) {
            // `to` already holds a copy (a replica promoted): keep one entry, in `from`'s place.
            copies[position] = to
            copies.remove(at: existing)
        } else {
            copies[position] = to
        }
        return Assignment(copies: copies, version: assignment.version + 1)
    }

    static func truncated(_ message: String) -> String {
        var utf8 = Array(message.utf8)
        if utf8.count <= maxErrorBytes { return message }
        utf8 = Array(utf8.prefix(maxErrorBytes))
        // Drop a cut multi-byte sequence at the end.
        while let last = utf8.last, last & 0xC0 == 0x80 { utf8.removeLast() }
        if let last = utf8.last, last >= 0xC0 { utf8.removeLast() }
        return String(decoding: utf8, as: UTF8.self)
    }
}
