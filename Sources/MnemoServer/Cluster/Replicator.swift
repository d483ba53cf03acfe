// Replicator: a primary's side of replication (docs/consistency.md). For every space this node is
// the primary of, and every replica its assignment names, one stream keeps the replica's copy
// equal to the local one by shipping log records in order over the replica's log route
// (CopyTarget with `Mnemo-Replica: <assignment version>`):
//
// - the first contact asks the replica for its sequence (an empty log POST); a replica without
//   the space (404), or holding more than the primary (a copy that diverged), or a primary whose
//   records were cut by a checkpoint (logTruncated), gets an export snapshot (the replica's
//   import replaces its copy) and then the log tail;
// - otherwise only the missing records are shipped, in batches of up to 1 MiB; a gap or a
//   duplicate the replica reports (409) makes the stream ask its sequence again: the replica is
//   CatchingUp, never Dead, for a missing record;
// - a replica that cannot be reached for `deadAfter` is Dead (it does not count towards a write's
//   quorum; the stream keeps trying with a growing pause, and the controller replaces a replica
//   whose member key expired);
// - a replica that refuses the version (`replicaFenced`: it knows a newer assignment) stops the
//   stream once a re-read shows this node is no longer the primary.
//
// A write is acknowledged once `commit` sees enough replicas hold its sequence: the route applies
// the write locally (durably, in the space's log), reads the space's sequence, and waits until
// `quorum.required(copies:) - 1` replicas have answered a sequence at least that high. Many writes
// waiting on one space share each shipped batch (the stream always ships up to the space's current
// sequence), so replication batches like the log's group commit. States and counts are on /metrics.
import AsyncHTTPClient
import Foundation
import Logging
import Mnemo
import MnemoCluster
import MnemoPlacement
import Synchronization

/// Ships each primary space's log to its replicas and counts acknowledgements. Thread-safe.
final class Replicator: Sendable {
    /// A replica's state as its stream sees it.
    enum ReplicaState: String, Sendable, CaseIterable {
        /// Holds every record the primary had when last shipped to.
        case active
        /// Being brought up to date (records or a snapshot on the way).
        case catchingUp = "catching_up"
        /// Unreachable for longer than ``Replicator/deadAfter``.
        case dead
    }

    /// One replica of one space.
    struct Key: Hashable, Sendable {
        let name: String
        let replica: NodeID
    }

    private struct Stream {
        /// The replica's sequence as it last answered (nil: not known; ask first).
        var acked: UInt64?
        /// The highest local sequence a write waits for.
        var wanted: UInt64 = 0
        var state: ReplicaState = .catchingUp
        var running = false
        /// Since when every attempt failed (nil: the last one worked).
        var failingSince: ContinuousClock.Instant?
        /// The assignment version `acked` was learnt under: a copy set rewritten since (the
        /// replica removed and added back, its copy discarded meanwhile) must be asked again.
        var version: UInt64 = 0

        /// Forgets what the replica held if the assignment changed since.
        mutating func align(to version: UInt64) {
            guard version != self.version else { return }
            self.version = version
            acked = nil
            state = .catchingUp
        }
    }

    private struct Waiter {
        let id: Int
        let sequence: UInt64
        let replicas: [NodeID]
        let required: Int
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var streams: [Key: Stream] = [:]
        var waiters: [String: [Waiter]] = [:]
        var nextWaiter = 0
        var database: Database?
        var authorization: String?
        var snapshots = 0
        var recordsShipped = 0
    }

    /// Unreachable this long: the replica is Dead.
    static let deadAfter: Duration = .seconds(2)
    /// The longest pause between attempts to reach a failing replica.
    static let maxPause: Duration = .seconds(2)

    private let node: NodeID
    private let table: RoutingTable
    private let http: HTTPClient
    private let logger: Logger
    private let state = Mutex(State())

    init(node: NodeID, table: RoutingTable, http: HTTPClient, logger: Logger) {
        self.node = node
        self.table = table
        self.http = http
        self.logger = logger
    }

    /// Gives the streams the database to read and the credential to send (once it is open).
    func attach(database: Database, authorization: String?) {
        state.withLock {
            $0.database = database
            $0.authorization = authorization
        }
    }

    /// The credential sent to replicas.
    var authorization: String? { state.withLock { $0.authorization } }

    /// Waits until `quorum` of `entry`'s copies hold the local `sequence` of space `name` (the
    /// primary holds it already).
    /// - Returns: false when `timeout` passed first.
    func commit(_ name: String, sequence: UInt64, entry: StoredAssignment, quorum: WriteQuorum,
                timeout: Duration) async -> Bool {
        let replicas = Array(entry.assignment.replicas)
        for replica in replicas {
            ensure(Key(name: name, replica: replica), version: entry.assignment.version, wanted: sequence)
        }
        let required = quorum.required(copies: entry.assignment.copies.count) - 1
        if required <= 0 { return true }
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.expire(name, id: id)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let satisfied = state.withLock { state -> Bool in
                if Self.count(state, name, replicas, at: sequence) >= required { return true }
                state.waiters[name, default: []].append(Waiter(id: id, sequence: sequence, replicas: replicas,
                                                               required: required, continuation: continuation))
                return false
            }
            if satisfied { continuation.resume(returning: true) }
        }
    }

    /// Starts (or extends) the stream of `key` under assignment `version` so that the replica
    /// reaches at least `wanted`.
    func ensure(_ key: Key, version: UInt64, wanted: UInt64 = 0) {
        let start = state.withLock { state -> Bool in
            var stream = state.streams[key, default: Stream()]
            stream.align(to: version)
            stream.wanted = max(stream.wanted, wanted)
            defer { state.streams[key] = stream }
            if stream.running { return false }
            stream.running = true
            return true
        }
        if start { Task { await self.pump(key) } }
    }

    /// Starts a stream for every replica of the primary spaces in `local` (id → name) that has
    /// none, whose replica is not Active, or that was Active under another assignment version:
    /// catches up replicas that came back, or were added.
    func sweep(local: [SpaceID: String]) {
        let idle = state.withLock { state in
            state.streams.filter { !$0.value.running && $0.value.state == .active }.mapValues(\.version)
        }
        for (space, entry) in table.assignments where entry.assignment.primary == node {
            guard let name = local[space] else { continue }
            for replica in entry.assignment.replicas
            where idle[Key(name: name, replica: replica)] != entry.assignment.version {
                ensure(Key(name: name, replica: replica), version: entry.assignment.version)
            }
        }
    }

    /// Starts the stream of `key` again from a fresh question of the replica's sequence (the
    /// replica check found its copy missing, or ahead of this primary's).
    func recheck(_ key: Key) {
        guard let version = state.withLock({ state -> UInt64? in
            guard var stream = state.streams[key], !stream.running else { return nil }
            stream.acked = nil
            stream.state = .catchingUp
            state.streams[key] = stream
            return stream.version
        }) else { return }
        logger.info("replica check: asking a replica again", metadata: ["space": "\(key.name)", "replica": "\(key.replica)"])
        ensure(key, version: version)
    }

    /// Forgets the streams of `name` (the space was dropped or moved away).
    func forget(_ name: String) {
        state.withLock { state in
            for key in state.streams.keys where key.name == name && state.streams[key]?.running == false {
                state.streams[key] = nil
            }
        }
    }

    /// For each replica node, the spaces whose stream to it is idle and caught up, with the
    /// sequence it holds (= this primary's: a newer write would have started the stream).
    func caughtUp() -> [NodeID: [SpaceID: UInt64]] {
        state.withLock { state in
            var result: [NodeID: [SpaceID: UInt64]] = [:]
            for (key, stream) in state.streams where !stream.running && stream.state == .active {
                guard let acked = stream.acked, acked >= stream.wanted else { continue }
                result[key.replica, default: [:]][SpaceID(name: key.name)] = acked
            }
            return result
        }
    }

    /// Replica counts by state, records shipped and snapshots sent (for /metrics).
    func figures() -> (states: [ReplicaState: Int], records: Int, snapshots: Int, lag: UInt64) {
        state.withLock { state in
            var states: [ReplicaState: Int] = [:]
            var lag: UInt64 = 0
            for stream in state.streams.values {
                states[stream.state, default: 0] += 1
                if let acked = stream.acked, stream.wanted > acked { lag += stream.wanted - acked }
            }
            return (states, state.recordsShipped, state.snapshots, lag)
        }
    }

    /// The state of one replica's stream (tests).
    func replicaState(_ name: String, _ replica: NodeID) -> (state: ReplicaState, acked: UInt64?)? {
        state.withLock { state in state.streams[Key(name: name, replica: replica)].map { ($0.state, $0.acked) } }
    }

    private static func count(_ state: State, _ name: String, _ replicas: [NodeID], at sequence: UInt64) -> Int {
        replicas.filter { (state.streams[Key(name: name, replica: $0)]?.acked ?? 0) >= sequence }.count
    }

    private func expire(_ name: String, id: Int) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters[name]?.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters[name]?.remove(at: index)
        }
        waiter?.continuation.resume(returning: false)
    }

    /// Records the replica's answered sequence and wakes the writes it satisfies.
    private func acknowledge(_ key: Key, _ sequence: UInt64, local: UInt64, version: UInt64) {
        let ready = state.withLock { state -> [Waiter] in
            var stream = state.streams[key, default: Stream()]
            // Learnt under a copy set that has changed since: ask again.
            guard stream.version == version else { return [] }
            stream.acked = sequence
            stream.failingSince = nil
            stream.state = sequence >= local ? .active : .catchingUp
            state.streams[key] = stream
            guard var waiting = state.waiters[key.name] else { return [] }
            var ready: [Waiter] = []
            waiting.removeAll { waiter in
                guard Self.count(state, key.name, waiter.replicas, at: waiter.sequence) >= waiter.required else {
                    return false
                }
                ready.append(waiter)
                return true
            }
            state.waiters[key.name] = waiting.isEmpty ? nil : waiting
            return ready
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
    }

    /// Ends the stream if its replica holds what was wanted; otherwise it goes on.
    private func finish(_ key: Key, dropping: Bool = false) -> Bool {
        state.withLock { state in
            guard var stream = state.streams[key] else { return true }
            if dropping {
                state.streams[key] = nil
                return true
            }
            if let acked = stream.acked, acked >= stream.wanted, stream.state == .active {
                stream.running = false
                state.streams[key] = stream
                return true
            }
            return false
        }
    }

    /// Counts a failed attempt (Dead after ``deadAfter`` of them); the pause before the next,
    /// and whether the stream changed state (a first failure, or Dead now).
    private func noteFailure(_ key: Key) -> (pause: Duration, changed: Bool) {
        state.withLock { state in
            guard var stream = state.streams[key] else { return (.milliseconds(100), false) }
            let now = ContinuousClock.now
            let since = stream.failingSince ?? now
            let before = stream.state
            stream.failingSince = since
            if now - since >= Self.deadAfter { stream.state = .dead } else if stream.state == .active { stream.state = .catchingUp }
            state.streams[key] = stream
            let failing = now - since
            return (min(Self.maxPause, max(.milliseconds(50), failing / 4)), since == now || stream.state != before)
        }
    }

    /// The stream's loop: until the replica holds what writes wait for, or this node stops being
    /// the space's primary, or the replica leaves the assignment.
    private func pump(_ key: Key) async {
        let space = SpaceID(name: key.name)
        var snapshot = false
        while true {
            guard let entry = table.lookup(space), entry.assignment.primary == node,
                  entry.assignment.replicas.contains(key.replica) else {
                _ = finish(key, dropping: true)
                return
            }
            let (database, authorization, known) = state.withLock { state in
                state.streams[key]?.align(to: entry.assignment.version)
                return (state.database, state.authorization, state.streams[key]?.acked)
            }
            guard let database, let address = table.address(of: key.replica) else {
                try? await Task.sleep(for: noteFailure(key).pause)
                continue
            }
            do {
                let local = try await database.space(key.name)
                var sequence = try await local.logSequence()
                let target = CopyTarget(http: http, base: SpaceMover.baseURL(address), name: key.name,
                                        headers: [(ClusterHeaders.replica, String(entry.assignment.version)),
                                                  (ClusterHeaders.primarySequence, String(sequence))],
                                        purpose: "replica on node \(key.replica)", authorization: authorization)
                var held: UInt64
                if snapshot {
                    held = try await sendSnapshot(local, to: target)
                    snapshot = false
                } else if let known {
                    held = known
                } else {
                    held = try await target.sequence(timeout: .seconds(5))
                }
                // A snapshot or an answer may be newer than the sequence read before it.
                if held > sequence { sequence = try await local.logSequence() }
                if held > sequence {
                    // More than this primary holds: a copy that diverged (a former primary's).
                    logger.notice("replica ahead of the primary: sending a snapshot",
                                  metadata: ["space": "\(key.name)", "replica": "\(key.replica)",
                                             "replicaSequence": "\(held)", "sequence": "\(sequence)"])
                    held = try await sendSnapshot(local, to: target)
                }
                if held < sequence {
                    var outcome = MoveOutcome()
                    held = try await SpaceMover.sendTail(local, after: held, to: target, pacer: MovePacer(bytesPerSecond: 0),
                                                         outcome: &outcome)
                    state.withLock { $0.recordsShipped += outcome.records }
                }
                acknowledge(key, held, local: sequence, version: entry.assignment.version)
                if finish(key) { return }
            } catch let error as MnemoError where error.code == .logTruncated {
                snapshot = true
            } catch let error as MnemoError where error.code == .unknownSpace {
                _ = finish(key, dropping: true)
                return
            } catch let refusal as CopyRefusal where refusal.code == "unknownSpace" {
                snapshot = true
            } catch let refusal as CopyRefusal where refusal.code == "logGap" || refusal.code == "logDuplicate" {
                state.withLock { $0.streams[key]?.acked = nil }
            } catch let refusal as CopyRefusal where refusal.code == "replicaFenced" {
                // The replica knows another version: re-read it (the loop's first check decides).
                state.withLock { $0.streams[key]?.acked = nil }
                try? await Task.sleep(for: .milliseconds(20))
            } catch let backoff as Backoff {
                try? await Task.sleep(for: .seconds(backoff.seconds))
            } catch {
                let (pause, changed) = noteFailure(key)
                state.withLock { $0.streams[key]?.acked = nil }
                logger.log(level: changed ? .info : .debug, "replication failed", metadata: [
                    "space": "\(key.name)", "replica": "\(key.replica)", "error": "\(error)"])
                try? await Task.sleep(for: pause)
            }
        }
    }

    /// Sends an export of `space` (the replica's import replaces its copy); the copy's sequence.
    private func sendSnapshot(_ space: Space, to target: CopyTarget) async throws -> UInt64 {
        var outcome = MoveOutcome()
        let held = try await SpaceMover.sendExport(space, to: target, pacer: MovePacer(bytesPerSecond: 0),
                                                   outcome: &outcome)
        state.withLock { $0.snapshots += 1 }
        return held
    }
}
