// MoveRunner: executes the moves the controller addresses to this node. It follows `moves/`
// (MoveStore.follow, re-reading after a compaction); for every pending record whose `from` is this
// node it runs a SpaceMover (export + log tail to the target, paced to the record's rate), at most
// one per space and at most `maxConcurrentMoves` at once (MoveLimits.maxConcurrentMovesPerNode).
// The cut-over is MoveStore.complete against the assignment as read just before it: one etcd
// transaction that makes the target the primary at version + 1 and deletes the move, only if
// neither key changed. Any error marks the record failed (MoveStore.fail), and the controller
// decides whether to retry. Space ids map to names through this node's own spaces (etcd stores
// no names).
import Foundation
import Logging
import Mnemo
import MnemoCluster
import MnemoPlacement
import Synchronization

/// Runs this node's outgoing space moves. Thread-safe.
final class MoveRunner: Sendable {
    let node: ClusterNode
    let state: ServerState
    let limit: Int
    /// The movers running, by space.
    private let tasks = Mutex<[SpaceID: Task<Void, Never>]>([:])
    /// The mod_revision of each space's last executed move record: a record is executed once,
    /// even while the watch has not yet shown its completion or failure.
    private let executed = Mutex<[SpaceID: Int64]>([:])
    private let latest = Mutex<MoveSnapshot?>(nil)
    private let started = Atomic<Int>(0)

    init(node: ClusterNode, state: ServerState, limit: Int) {
        self.node = node
        self.state = state
        self.limit = max(1, limit)
    }

    /// Moves started so far (tests and logs).
    var startedCount: Int { started.load(ordering: .relaxed) }

    /// Follows the move table until cancelled, starting movers as records arrive; on
    /// cancellation cancels the movers still running (each then marks its move failed).
    func run(database: Database) async {
        let store = MoveStore(client: node.etcd, keys: node.keys)
        while !Task.isCancelled {
            do throws(EtcdError) {
                try await store.follow { snapshot in
                    self.latest.withLock { $0 = snapshot }
                    self.schedule(snapshot, database: database, store: store)
                }
                break
            } catch {
                if Task.isCancelled || error.code == .cancelled { break }
                node.logger.warning("move watch failed, restarting", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
        for task in tasks.withLock({ Array($0.values) }) { task.cancel() }
    }

    /// Starts a mover for each pending move of this node not running yet (most urgent first),
    /// up to the limit.
    private func schedule(_ snapshot: MoveSnapshot, database: Database, store: MoveStore) {
        let mine = snapshot.pending.filter { $0.record.from == node.node }.sorted {
            ($0.record.priority, $0.record.id) < ($1.record.priority, $1.record.id)
        }
        for move in mine {
            if executed.withLock({ $0[move.space] == move.modRevision }) { continue }
            tasks.withLock { tasks in
                if tasks[move.space] != nil || tasks.count >= limit { return }
                executed.withLock { $0[move.space] = move.modRevision }
                started.wrappingAdd(1, ordering: .relaxed)
                tasks[move.space] = Task {
                    await self.execute(move, database: database, store: store)
                    self.tasks.withLock { _ = $0.removeValue(forKey: move.space) }
                    if let next = self.latest.withLock({ $0 }), !Task.isCancelled {
                        self.schedule(next, database: database, store: store)
                    }
                }
            }
        }
    }

    /// Runs one move to its end: completed, or marked failed.
    private func execute(_ move: StoredMove, database: Database, store: MoveStore) async {
        let record = move.record
        let logger = node.logger
        do {
            guard let name = await Self.name(of: record.space, in: database) else {
                throw SpaceMoveError(message: "no local space has id \(record.space)")
            }
            guard let address = node.table.address(of: record.to) else {
                throw SpaceMoveError(message: "the target node \(record.to) is not registered")
            }
            let authorization = state.configuration.dev ? nil : state.configuration.adminKey.map { "Bearer \($0)" }
            let mover = SpaceMover(database: database, http: node.forwarder.http, authorization: authorization,
                                   logger: logger)
            logger.info("move starts", metadata: ["space": "\(name)", "to": "\(record.to)", "move": "\(record.id)"])
            let node = self.node
            // A move of the primary role to one of its replicas ships only the records it lacks.
            let current = node.table.lookup(record.space)?.assignment
            let intoReplica = current?.primary == record.from && current?.replicas.contains(record.to) == true
            let outcome = try await mover.move(space: name, to: address, moveID: record.id, rate: record.rate,
                                               intoReplica: intoReplica,
                                               freeze: state.freezes) { @Sendable () async throws -> Bool in
                guard let assignment = try await node.assignments.get(record.space) else { return false }
                let done = try await store.complete(record, moveRevision: move.modRevision, assignment: assignment)
                // Route by the new assignment at once: writes held by the freeze go to the target.
                if done { _ = try? await node.reread(record.space) }
                return done
            }
            logger.notice("move done", metadata: [
                "space": "\(name)", "to": "\(record.to)", "bytes": "\(outcome.bytes)",
                "records": "\(outcome.records)", "frozenMs": "\(outcome.frozenMilliseconds)"])
        } catch {
            logger.warning("move failed", metadata: ["space": "\(record.space)", "move": "\(record.id)", "error": "\(error)"])
            do {
                try await store.fail(record, moveRevision: move.modRevision, error: "\(error)")
            } catch {
                logger.warning("the failed move could not be marked", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The name of this node's space with id `space`.
    static func name(of space: SpaceID, in database: Database) async -> String? {
        await database.spaces().first { SpaceID(name: $0) == space }
    }
}
