// The cluster's controller: one per cluster at a time, elected through etcd. While it leads it
// follows four tables (members, load reports, assignments, moves); when they change (and at least
// every `period`) it runs a round: it re-plans with the rebalance planner if the inputs of its plan
// changed (at most once per `debounce`, and only once the member list has been quiet that long), and
// writes the plan's moves as MoveRecords as slots free up. The source nodes execute them and cut
// them over themselves (MoveStore.complete): the controller never changes an assignment.
//
// Safety rests on etcd's compares, not on the controller's view being current (its four watches
// are not at one revision):
// - every write carries the leadership fence, so a deposed controller writes nothing; a write
//   refused by the fence makes it step down at once, and so does a leader key that is deleted or
//   re-created, or its lease lost;
// - a move is created only if the space has no move key and its assignment key is still at the
//   revision the plan was made from, so a space whose assignment changed after planning (a move
//   completed, a space re-created, another writer) is never moved on stale information;
// - retries and withdrawals of moves compare the move key's revision.
//
// Limits (MoveLimits): a node takes part in at most `maxConcurrentMovesPerNode` pending moves;
// a move's `rate` is its priority's rate shared among that priority's moves in flight; Critical and
// High moves go before Low ones (ClusterController+Planning.swift).
//
// A plan is kept while its inputs hold (same members, and every assignment either unchanged since
// planning or moved by the plan itself), and its moves are written as slots free up: so a join is
// carried out as exactly the moves the planner chose for it. Any other change re-plans, from the
// assignment table with the pending moves applied.
//
// Failed moves are set pending again after a backoff (doubling per failed attempt) until
// `maxAttempts` attempts failed; then they stay failed, are reported in `status()`, and block their
// space until an operator deletes the move key. Moves that can no longer complete (the space's
// assignment changed, the sender or receiver died) are withdrawn. A space whose only copy is on a
// dead node cannot be moved (no live source); it is logged and skipped.
//
// Replication (docs/consistency.md): the controller does change assignments in two cases, each by
// a fenced compare-and-swap at version + 1. Failover: a space whose primary is not registered (its
// lease expired) gets as primary the live replica with the highest durable sequence, which every
// live replica is asked for (`sequences`; a replica that does not answer holds the failover back,
// since it may hold the newest writes), and its dead copies leave the copy set. Copy changes the
// planner makes to keep the replication factor: a copy added (the primary's replication ships it
// a snapshot), dropped, or replacing one on a dead node; moves of live copies run as move records.

import Logging
import MnemoPlacement

/// Elects itself through etcd and, while leading, plans and writes space moves.
///
/// ```swift
/// let controller = ClusterController(client: etcd, keys: keys, name: "node-1",
///                                    planner: RebalancePlanner(configuration: .init(replicationFactor: 1)),
///                                    limits: MoveLimits())
/// let task = Task { await controller.run() }
/// // ...
/// task.cancel()     // resigns if leading
/// ```
public actor ClusterController {
    /// Timing and retry settings.
    public struct Configuration: Sendable {
        /// The leader lease TTL in seconds (how long a crashed controller holds the role).
        public var leaseTTL: Int64
        /// Changes are gathered this long before planning.
        public var debounce: Duration
        /// The controller plans at least this often (load changes are seen this way).
        public var period: Duration
        /// Attempts of a move before it is left failed.
        public var maxAttempts: Int
        /// The wait before the first retry; doubled per failed attempt.
        public var retryBackoff: Duration
        /// The longest wait before a retry.
        public var maxRetryBackoff: Duration
        /// The nodes' load reporting period in seconds (a report's `ops` cover one period).
        public var loadReportSeconds: Double
        /// The time constant of the moving average of load the planner sees (WorkloadSmoother).
        public var loadTimeConstant: Duration

        /// Creates a configuration.
        public init(leaseTTL: Int64 = 5, debounce: Duration = .milliseconds(300), period: Duration = .seconds(3),
                    maxAttempts: Int = 5, retryBackoff: Duration = .seconds(1),
                    maxRetryBackoff: Duration = .seconds(60), loadReportSeconds: Double = 2,
                    loadTimeConstant: Duration = .seconds(30)) {
            self.leaseTTL = leaseTTL
            self.debounce = debounce
            self.period = period
            self.maxAttempts = maxAttempts
            self.retryBackoff = retryBackoff
            self.maxRetryBackoff = maxRetryBackoff
            self.loadReportSeconds = loadReportSeconds
            self.loadTimeConstant = loadTimeConstant
        }
    }

    /// What the controller is doing, for status pages and tests.
    public struct Status: Hashable, Sendable {
        /// Whether it leads now.
        public var isLeader: Bool = false
        /// Its fencing token while leading.
        public var token: Int64?
        /// Plans computed since start.
        public var plans: Int = 0
        /// Moves of the current plan not yet written (waiting for slots).
        public var queuedMoves: Int = 0
        /// Move records written (created or set pending again) since start.
        public var writtenMoves: Int = 0
        /// Writes refused because another controller leads (each one ends a term).
        public var fencedWrites: Int = 0
        /// Writes refused because a compared revision changed.
        public var conflicts: Int = 0
        /// Planned moves skipped because the space has no live copy.
        public var skippedWithoutSource: Int = 0
        /// Spaces failed over to a replica since start.
        public var failovers: Int = 0
        /// Copies added, dropped or replaced (on a dead node) by assignment writes since start.
        public var copyChanges: Int = 0
        /// Moves left failed after `maxAttempts` attempts.
        public var givenUp: [MoveRecord] = []
        /// The last error met (etcd or planning), nil when none.
        public var lastError: String?
    }

    private let client: EtcdClient
    private let keys: ClusterKeys
    private let name: String
    private let planner: RebalancePlanner
    private let limits: MoveLimits
    private let configuration: Configuration
    private let logger: Logger
    private let clock = ContinuousClock()
    private let nodes: NodeCalls?

    /// What the controller asks the nodes themselves (over their cluster routes) for replication.
    public struct NodeCalls: Sendable {
        /// The durable log sequences of a node's copies of some spaces, asked with the assignment
        /// version each is being failed over from: the node first refuses replication at that
        /// version, so its answer is final (nil: it did not answer; a space it holds no copy of
        /// is absent from the answer).
        public var sequences: @Sendable (NodeID, [SpaceID: UInt64]) async -> [SpaceID: UInt64]?
        /// Has a node drop its copies of some spaces that no assignment names it for (a copy
        /// left from before it was removed may have diverged); true once none is left.
        public var discard: @Sendable (NodeID, [SpaceID]) async -> Bool

        /// Creates the calls.
        public init(sequences: @escaping @Sendable (NodeID, [SpaceID: UInt64]) async -> [SpaceID: UInt64]?,
                    discard: @escaping @Sendable (NodeID, [SpaceID]) async -> Bool) {
            self.sequences = sequences
            self.discard = discard
        }
    }

    // What the followers deliver (nil until the first snapshot of the current term).
    private var members: MembershipSnapshot?
    /// The member list as last read by the failover step itself, and when.
    private var readMembers: (snapshot: MembershipSnapshot, at: ContinuousClock.Instant)?
    private var assignments: AssignmentSnapshot?
    private var moves: MoveSnapshot?
    private var loads = LoadSnapshot()
    /// The load the planner sees: reports averaged over `loadTimeConstant`.
    private var smoother: WorkloadSmoother
    /// Each node's report revision the smoother last took in (a report is blended once).
    private var blended: [NodeID: Int64] = [:]
    /// This controller's own move writes not yet seen by the move follower: space → (revision of
    /// the write, the move after it or nil when deleted). Keeps the limits right in between.
    private var ownWrites: [SpaceID: (revision: Int64, move: StoredMove?)] = [:]
    /// Something changed since the last round.
    private var dirty = true
    /// When a round is due anyway (a failed move's backoff ends).
    private var wakeAt: ContinuousClock.Instant?
    /// The last change of the member list (plans wait until it has been quiet for `debounce`).
    private var membersChangedAt: ContinuousClock.Instant?
    /// When the last plan was made.
    private var lastPlanAt: ContinuousClock.Instant?

    // The current plan.
    private var queue: [PlannedMove] = []
    /// The plan's copy additions, drops and replacements of dead copies (assignment writes).
    private var copyQueue: [(move: Move, stored: StoredAssignment)] = []
    private var planMembers: [NodeID: MemberRecord]?
    private var planBase: [SpaceID: Int64] = [:]
    private var planSpaces: Set<SpaceID> = []
    private var planStale = true

    // Failed moves seen: move id → (attempts, when first seen in that state).
    private var failedSince: [String: (attempts: Int, since: ContinuousClock.Instant)] = [:]
    private var reportedNoSource: Set<SpaceID> = []
    private var state = Status()

    /// Creates a controller of the cluster under `keys`, campaigning as `name`. `limits` bound how
    /// moves run (concurrency per node, byte rates per priority).
    /// `nodes` lets it fail spaces over to replicas and change copy sets (without it, it never
    /// changes an assignment).
    public init(client: EtcdClient, keys: ClusterKeys, name: String, planner: RebalancePlanner,
                limits: MoveLimits, configuration: Configuration = Configuration(),
                logger: Logger = Logger(label: "mnemo.controller"), nodes: NodeCalls? = nil) {
        self.nodes = nodes
        self.client = client
        self.keys = keys
        self.name = name
        self.planner = planner
        self.limits = limits
        self.configuration = configuration
        self.smoother = WorkloadSmoother(timeConstant: configuration.loadTimeConstant)
        self.logger = logger
    }

    /// What the controller is doing now.
    public func status() -> Status { state }

    /// Campaigns, leads while elected, campaigns again after losing the role; returns when the
    /// calling task is cancelled (resigning if leading).
    public func run() async {
        let election = LeaderElection(client: client, key: keys.leader, candidate: name,
                                      ttl: configuration.leaseTTL, logger: logger)
        while !Task.isCancelled {
            let leadership: Leadership
            do {
                leadership = try await election.campaign()
            } catch {
                if Task.isCancelled { return }
                state.lastError = "\(error)"
                logger.warning("campaign failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            await lead(leadership)
            // Deleting the key is fenced (only if still ours); revoking the lease is harmless. In
            // a task of its own, so that it runs even when the caller cancelled this one.
            await Task { try? await leadership.resign() }.value
        }
    }

    // MARK: - A term

    private func lead(_ leadership: Leadership) async {
        beginTerm(leadership)
        logger.info("leading", metadata: ["candidate": "\(name)", "token": "\(leadership.token)"])
        let membership = ClusterMembership(client: client, keys: keys)
        let assignmentStore = AssignmentStore(client: client, keys: keys, logger: logger)
        let moveStore = MoveStore(client: client, keys: keys, logger: logger)
        let loadStore = LoadStore(client: client, keys: keys, logger: logger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.keepFollowing("members") { () async throws(EtcdError) in
                try await membership.follow { snapshot in await self.update(members: snapshot) }
            } }
            group.addTask { await self.keepFollowing("assignments") { () async throws(EtcdError) in
                try await assignmentStore.follow { snapshot in await self.update(assignments: snapshot) }
            } }
            group.addTask { await self.keepFollowing("moves") { () async throws(EtcdError) in
                try await moveStore.follow { snapshot in await self.update(moves: snapshot) }
            } }
            group.addTask { await self.keepFollowing("load") { () async throws(EtcdError) in
                try await loadStore.follow { snapshot in await self.update(loads: snapshot) }
            } }
            group.addTask { await self.watchRole(leadership) }
            group.addTask { await self.planLoop(leadership, moves: moveStore) }
            // The followers run until cancelled: the first task to end is the role watcher (the
            // role is gone) or the plan loop (a fenced write, or cancellation).
            _ = await group.next()
            group.cancelAll()
        }
        endTerm()
        logger.info("no longer leading", metadata: ["candidate": "\(name)", "token": "\(leadership.token)"])
    }

    private func beginTerm(_ leadership: Leadership) {
        members = nil
        assignments = nil
        moves = nil
        loads = LoadSnapshot()
        smoother.reset()
        blended = [:]
        ownWrites = [:]
        queue = []
        copyQueue = []
        planMembers = nil
        planStale = true
        failedSince = [:]
        dirty = true
        wakeAt = nil
        membersChangedAt = nil
        lastPlanAt = nil
        state.isLeader = true
        state.token = leadership.token
    }

    private func endTerm() {
        state.isLeader = false
        state.token = nil
        queue = []
        state.queuedMoves = 0
    }

    /// Runs a follower, restarting it after errors, until cancelled.
    private nonisolated func keepFollowing(_ what: String,
                                           _ body: @Sendable () async throws(EtcdError) -> Void) async {
        while !Task.isCancelled {
            do {
                try await body()
                return
            } catch {
                if Task.isCancelled { return }
                await noteError("following \(what): \(error)")
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// Returns when the role is gone: the leader key deleted or re-created by another candidate,
    /// or the lease found expired.
    private nonisolated func watchRole(_ leadership: Leadership) async {
        let lost = Task {
            while !Task.isCancelled && !leadership.keeper.isLost {
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        let watcher = Task {
            var from = leadership.token
            while !Task.isCancelled {
                let watch = client.watch(keys.leader, fromRevision: from)
                do {
                    var batches = watch.makeAsyncIterator()
                    while let batch = try await batches.next() {
                        for event in batch.events
                        where event.kind == .delete || event.kv.createRevision != leadership.token {
                            return
                        }
                        from = batch.revision + 1
                    }
                    return
                } catch {
                    watch.cancel()
                    if Task.isCancelled { return }
                    // History gone or stream broken: read the key itself.
                    guard let current = try? await leadership.isCurrent() else {
                        try? await Task.sleep(for: .milliseconds(200))
                        continue
                    }
                    if !current { return }
                    from = (try? await client.get(keys.leader).revision).map { $0 + 1 } ?? from
                }
            }
        }
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await lost.value }
                group.addTask { await watcher.value }
                _ = await group.next()
                lost.cancel()
                watcher.cancel()
            }
        } onCancel: {
            lost.cancel()
            watcher.cancel()
        }
    }

    private func noteError(_ message: String) {
        state.lastError = message
        logger.warning("\(message)")
    }

    // MARK: - Inputs

    private func update(members snapshot: MembershipSnapshot) {
        if members != snapshot {
            membersChangedAt = clock.now
            markDirty()
        }
        members = snapshot
    }

    private func update(assignments snapshot: AssignmentSnapshot) {
        assignments = snapshot
        markDirty()
    }

    private func update(moves snapshot: MoveSnapshot) {
        moves = snapshot
        ownWrites = ownWrites.filter { $0.value.revision > snapshot.revision }
        markDirty()
    }

    private func update(loads snapshot: LoadSnapshot) {
        // Load is seen at the periodic plan, not as a trigger: reports arrive all the time.
        loads = snapshot
    }

    private func markDirty() {
        dirty = true
    }

    /// The move table with this controller's unconfirmed writes on top.
    private func currentMoves() -> MoveSnapshot? {
        guard var snapshot = moves else { return nil }
        for (space, write) in ownWrites where write.revision > snapshot.revision {
            snapshot.entries[space] = write.move
        }
        return snapshot
    }

    // MARK: - Planning loop

    private func planLoop(_ leadership: Leadership, moves store: MoveStore) async {
        var lastRun = clock.now
        // A short tick: a freed slot is refilled within it (re-plans are paced by `debounce`).
        let tick = min(configuration.debounce, .milliseconds(20))
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: tick)
            } catch {
                return
            }
            let now = clock.now
            let woken = wakeAt.map { now >= $0 } ?? false
            guard dirty || woken || now - lastRun >= configuration.period else { continue }
            dirty = false
            if woken { wakeAt = nil }
            lastRun = now
            if await !reconcile(leadership, store: store) { return }
        }
    }

    /// One round: tidy existing moves, plan if needed, write what the limits allow. Returns false
    /// when a write was fenced (the term is over).
    private func reconcile(_ leadership: Leadership, store: MoveStore) async -> Bool {
        guard let members, let assignments, var moves = currentMoves() else { return true }
        let fence = leadership.fence
        let assignmentStore = AssignmentStore(client: client, keys: keys, logger: logger)
        // How long each step took, logged when the round was slow (a slow round delays failovers).
        var steps: [(String, Duration)] = []
        var stepStart = clock.now
        func step(_ name: String) {
            let now = clock.now
            steps.append((name, now - stepStart))
            stepStart = now
        }
        let roundStart = stepStart
        defer {
            step("rest")
            let total = clock.now - roundStart
            if total >= Self.slowRound {
                func text(_ duration: Duration) -> String { "\((duration.seconds * 100).rounded() / 100)" }
                logger.info("slow controller round", metadata: [
                    "seconds": "\(text(total))", "steps": "\(steps.map { "\($0.0) \(text($0.1))" }.joined(separator: ", "))"])
            }
        }

        // 0. Failover: spaces whose primary is gone get a replica as primary. Spaces left over
        // (changed under their write, or an answer missing) are tried again at once from the
        // newest views, a few times: the rest of the round can take seconds under load.
        var outcome = await failover(members: members, assignments: assignments, store: assignmentStore, fence: fence)
        for _ in 1..<Self.failoverAttempts where outcome.left > 0 && !outcome.fenced {
            try? await Task.sleep(for: Self.failoverRetryPause)
            guard let members = self.members, let assignments = self.assignments else { break }
            outcome = await failover(members: members, assignments: assignments, store: assignmentStore, fence: fence)
        }
        if outcome.fenced { return false }

        step("failover")

        // 1. Existing moves: withdraw the ones that cannot complete, retry failed ones.
        for stored in moves.entries.values.sorted(by: { $0.space < $1.space }) {
            guard var action = action(for: stored, members: members, assignments: assignments) else { continue }
            if Task.isCancelled { return true }
            if case .retry(var record) = action {
                // The retry takes a slot and a rate like a new move; none free: wait for one.
                let pending = moves.entries.values.map(\.record).filter { $0.state == .pending }
                guard let rate = Self.retryRate(record, pending: pending, limits: limits) else { continue }
                record.rate = rate
                action = .retry(record)
            }
            let write: MoveWrite
            do {
                switch action {
                case .withdraw(let reason):
                    logger.info("move withdrawn", metadata: ["space": "\(stored.space)", "move": "\(stored.record.id)",
                                                             "reason": "\(reason)"])
                    write = try await store.remove(stored.space, expecting: stored.modRevision, fence: fence)
                    if case .applied(let revision) = write {
                        ownWrites[stored.space] = (revision, nil)
                        moves.entries[stored.space] = nil
                    }
                case .retry(let record):
                    write = try await store.update(record, expecting: stored.modRevision, fence: fence)
                    if case .applied(let revision) = write {
                        let next = StoredMove(record: record, modRevision: revision)
                        ownWrites[stored.space] = (revision, next)
                        moves.entries[stored.space] = next
                        state.writtenMoves += 1
                        logger.info("move retried", metadata: ["space": "\(stored.space)", "attempts": "\(record.attempts)"])
                    }
                }
            } catch {
                noteError("move write: \(error)")
                wake(at: clock.now + Self.errorPause)
                continue
            }
            if !handle(write) { return false }
        }

        step("moves")

        // 2. Plan when the current plan no longer holds (or, exhausted, is a period old), once
        // the member list has been quiet for `debounce` and the last plan is that old: bursts of
        // changes make one plan. Meanwhile nothing is written from the outdated plan.
        let now = clock.now
        let exhausted = queue.isEmpty && (lastPlanAt.map { now - $0 >= configuration.period } ?? true)
        if planStale || exhausted || !planHolds(members: members, assignments: assignments) {
            let quiet = membersChangedAt.map { now - $0 >= configuration.debounce } ?? true
            let paced = lastPlanAt.map { now - $0 >= configuration.debounce } ?? true
            guard quiet && paced else {
                queue = []
                planStale = true
                wake(at: max(membersChangedAt ?? now, lastPlanAt ?? now) + configuration.debounce)
                return true
            }
            makePlan(members: members, assignments: assignments, moves: moves)
        }

        step("plan")

        // 3. Start what the limits allow.
        queue.removeAll { moves.entries[$0.move.space] != nil }
        let pending = moves.entries.values.map(\.record).filter { $0.state == .pending }
        let starts = Self.schedule(queue, pending: pending, limits: limits)
        var started = Set<SpaceID>()
        for (planned, rate) in starts {
            if Task.isCancelled { return true }
            let record = MoveRecord(space: planned.move.space, from: planned.from, to: planned.to,
                                    priority: planned.move.priority, bytes: planned.move.bytes, rate: rate,
                                    version: planned.version)
            let write: MoveWrite
            do {
                write = try await store.create(record, assignmentRevision: planned.assignmentRevision, fence: fence)
            } catch {
                noteError("move write: \(error)")
                wake(at: clock.now + Self.errorPause)
                continue
            }
            switch write {
            case .applied(let revision):
                ownWrites[record.space] = (revision, StoredMove(record: record, modRevision: revision))
                started.insert(record.space)
                state.writtenMoves += 1
                logger.debug("move written", metadata: ["move": "\(planned.move)", "rate": "\(rate)"])
            case .conflict:
                // The space changed since planning (or has a move now): plan again.
                state.conflicts += 1
                planStale = true
                markDirty()
            case .fenced:
                state.fencedWrites += 1
                logger.warning("move write fenced: another controller leads")
                return false
            }
        }
        queue.removeAll { started.contains($0.move.space) }
        state.queuedMoves = queue.count

        step("starts")

        // 4. Copy additions, drops and replacements of dead copies: one assignment write each. A
        // node receiving a copy first drops any copy of the space it kept from before it was
        // removed (it may hold writes no quorum acknowledged): the primary then sends it a
        // snapshot, and a copy in a copy set is always a prefix of its primary's log.
        let changes = copyQueue
        copyQueue = []
        guard let nodes else { return true }
        var receivers: [NodeID: [SpaceID]] = [:]
        for (move, _) in changes { if let to = move.to { receivers[to, default: []].append(move.space) } }
        var cleared = Set<NodeID>()
        for (node, spaces) in receivers where await nodes.discard(node, spaces) { cleared.insert(node) }
        step("discards")
        // Critical changes (a lost copy) all go at once; the others at most
        // maxConcurrentMovesPerNode per node and round, so a changed replication factor trickles.
        var gentle: [NodeID: Int] = [:]
        var writes: [AssignmentChange] = []
        for (move, stored) in changes {
            if let to = move.to, !cleared.contains(to) {
                logger.info("copy change waits: the receiver kept old copies", metadata: ["move": "\(move)"])
                planStale = true
                continue
            }
            if move.priority != .critical, let node = move.to ?? move.from {
                gentle[node, default: 0] += 1
                if gentle[node, default: 0] > limits.maxConcurrentMovesPerNode {
                    planStale = true
                    continue
                }
            }
            guard let next = Self.copyChange(move, stored.assignment) else {
                logger.info("copy change does not fit the assignment", metadata: [
                    "move": "\(move)", "copies": "\(Array(stored.assignment.copies))"])
                continue
            }
            writes.append(AssignmentChange(stored: stored, next: next))
        }
        for (change, outcome) in await Self.write(writes, store: assignmentStore, fence: fence) {
            switch outcome {
            case .success(.applied):
                state.copyChanges += 1
                logger.info("copies changed", metadata: ["space": "\(change.stored.space)",
                                                         "copies": "\(Array(change.next.copies))",
                                                         "version": "\(change.next.version)"])
            case .success(.conflict):
                state.conflicts += 1
                planStale = true
            case .success(.fenced):
                state.fencedWrites += 1
                return false
            case .failure(let error):
                noteError("copy change: \(error)")
            }
        }
        return true
    }

    /// One assignment rewrite: the stored assignment it replaces and the next one.
    struct AssignmentChange: Sendable {
        let stored: StoredAssignment
        let next: Assignment
    }

    /// Assignment rewrites per transaction, and transactions in flight at once: a node lost with
    /// thousands of spaces is failed over and re-copied in a few dozen transactions, not thousands.
    static let assignmentWritesPerTransaction = 50
    static let concurrentAssignmentTransactions = 8

    /// Writes `changes` (fenced compare-and-swaps carrying each space's write quorum) in batches of
    /// ``assignmentWritesPerTransaction``, one transaction each, ``concurrentAssignmentTransactions``
    /// at a time; a batch whose transaction is refused or fails (one key changed meanwhile, or the
    /// fence) is written key by key, which tells the outcomes apart. Returns each change's outcome.
    private nonisolated static func write(_ changes: [AssignmentChange], store: AssignmentStore,
                                          fence: EtcdTxn.Compare) async
        -> [(AssignmentChange, Result<AssignmentWrite, EtcdError>)]
    {
        typealias Outcome = (AssignmentChange, Result<AssignmentWrite, EtcdError>)
        let batches = stride(from: 0, to: changes.count, by: assignmentWritesPerTransaction).map {
            Array(changes[$0..<min($0 + assignmentWritesPerTransaction, changes.count)])
        }
        return await withTaskGroup(of: [Outcome].self) { group in
            var results: [Outcome] = []
            var pending = batches[...]
            func add() {
                guard let batch = pending.popFirst() else { return }
                group.addTask {
                    let all = batch.map { ($0.stored.space, $0.next, $0.stored.writeQuorum, $0.stored.modRevision) }
                    if let revision = try? await store.updateAll(all, fence: fence) {
                        return batch.map { ($0, .success(.applied(modRevision: revision))) }
                    }
                    var outcomes: [Outcome] = []
                    for change in batch {
                        do throws(EtcdError) {
                            outcomes.append((change, .success(try await store.update(
                                change.stored.space, to: change.next, writeQuorum: change.stored.writeQuorum,
                                expecting: change.stored.modRevision, fence: fence))))
                        } catch {
                            outcomes.append((change, .failure(error)))
                        }
                    }
                    return outcomes
                }
            }
            for _ in 0..<concurrentAssignmentTransactions { add() }
            for await outcomes in group {
                results += outcomes
                add()
            }
            return results
        }
    }

    /// Fails over every space whose primary is not registered: the live replica with the highest
    /// durable sequence becomes the primary, the dead copies leave, version + 1 (fenced CAS).
    /// Waits (does nothing for a space) while a live replica has not answered its sequence, or
    /// while too few replicas live to be sure of holding every majority-acknowledged write.
    /// Returns whether a write was fenced, and how many orphaned spaces are left (waiting, or
    /// changed under their write).
    private func failover(members: MembershipSnapshot, assignments: AssignmentSnapshot,
                          store: AssignmentStore, fence: EtcdTxn.Compare) async -> (fenced: Bool, left: Int) {
        guard let sequences = nodes?.sequences else { return (false, 0) }
        // The member watch may lag, or have stalled (an etcd restart): primaries are judged from
        // the newer of its view and a read of the member list (at most one per interval).
        if readMembers.map({ clock.now - $0.at >= Self.memberReadInterval }) ?? true,
           let fresh = try? await ClusterMembership(client: client, keys: keys).list() {
            readMembers = (fresh, clock.now)
        }
        let members = readMembers.map { $0.snapshot.revision > members.revision ? $0.snapshot : members } ?? members
        // Judge a primary dead only from a member view at least as new as its assignment.
        let orphaned = assignments.entries.values.filter {
            members.members[$0.assignment.primary] == nil && members.revision >= $0.modRevision
                && $0.assignment.replicas.contains { members.members[$0] != nil }
        }
        if orphaned.isEmpty { return (false, 0) }
        var left = 0
        var asks: [NodeID: [SpaceID: UInt64]] = [:]
        for stored in orphaned {
            for replica in stored.assignment.replicas where members.members[replica] != nil {
                asks[replica, default: [:]][stored.space] = stored.assignment.version
            }
        }
        let answers = await withTaskGroup(of: (NodeID, [SpaceID: UInt64]?).self) { group in
            for (node, spaces) in asks { group.addTask { (node, await sequences(node, spaces)) } }
            var answers: [NodeID: [SpaceID: UInt64]] = [:]
            for await (node, answer) in group { if let answer { answers[node] = answer } }
            return answers
        }
        var writes: [AssignmentChange] = []
        for stored in orphaned.sorted(by: { $0.space < $1.space }) {
            guard let next = Self.promoted(stored.assignment, space: stored.space, alive: Set(members.members.keys),
                                           sequences: answers, writeQuorum: stored.writeQuorum) else {
                logger.info("failover waits for the replicas' sequences (all live ones, and enough of them)", metadata: [
                    "space": "\(stored.space)", "answered": "\(answers.keys.sorted())"])
                wake(at: clock.now + Self.errorPause)
                left += 1
                continue
            }
            writes.append(AssignmentChange(stored: stored, next: next))
        }
        for (change, outcome) in await Self.write(writes, store: store, fence: fence) {
            switch outcome {
            case .success(.applied):
                state.failovers += 1
                logger.notice("failed over", metadata: [
                    "space": "\(change.stored.space)", "from": "\(change.stored.assignment.primary)",
                    "to": "\(change.next.primary)", "version": "\(change.next.version)"])
            case .success(.conflict):
                state.conflicts += 1
                left += 1
            case .success(.fenced):
                state.fencedWrites += 1
                return (true, left)
            case .failure(let error):
                noteError("failover: \(error)")
                wake(at: clock.now + Self.errorPause)
                left += 1
            }
        }
        return (false, left)
    }

    private enum Action {
        case withdraw(String)
        case retry(MoveRecord)
    }

    /// What to do about one existing move, nil for nothing.
    private func action(for stored: StoredMove, members: MembershipSnapshot,
                        assignments: AssignmentSnapshot) -> Action? {
        let record = stored.record
        // Judge only from views at least as new as the move: the move was created against the
        // assignment it names, so an older view cannot tell anything about it.
        if assignments.revision >= stored.modRevision {
            let current = assignments.entries[record.space]?.assignment
            if current == nil || current?.version != record.version || current?.copies.contains(record.from) != true {
                return .withdraw("the space's assignment changed")
            }
        }
        if members.revision >= stored.modRevision {
            if members.members[record.from] == nil { return .withdraw("sender \(record.from) is gone") }
            if members.members[record.to] == nil { return .withdraw("receiver \(record.to) is gone") }
        }
        guard record.state == .failed else {
            failedSince[record.id] = nil
            return nil
        }
        if members.members[record.to]?.state == .draining {
            return .withdraw("receiver \(record.to) is draining")
        }
        if record.attempts >= configuration.maxAttempts {
            if !state.givenUp.contains(where: { $0.id == record.id }) {
                state.givenUp.append(record)
                logger.error("move left failed", metadata: ["space": "\(record.space)", "move": "\(record.id)",
                                                            "attempts": "\(record.attempts)", "error": "\(record.error)"])
            }
            return nil
        }
        var backoff = configuration.retryBackoff
        for _ in 1..<max(1, record.attempts) where backoff < configuration.maxRetryBackoff { backoff *= 2 }
        backoff = min(backoff, configuration.maxRetryBackoff)
        let now = clock.now
        guard let seen = failedSince[record.id], seen.attempts == record.attempts else {
            failedSince[record.id] = (record.attempts, now)
            wake(at: now + backoff)
            return nil
        }
        guard now - seen.since >= backoff else {
            wake(at: seen.since + backoff)
            return nil
        }
        var retry = record
        retry.state = .pending
        return .retry(retry)
    }

    /// Failover passes in one round, and the pause between two (the watches catch up).
    static let failoverAttempts = 3
    static let failoverRetryPause = Duration.milliseconds(200)

    /// How often the failover step reads the member list itself.
    static let memberReadInterval = Duration.milliseconds(500)

    /// A round at least this long is logged with its steps' times.
    static let slowRound = Duration.seconds(2)

    /// How long the loop waits after an etcd error before the next round.
    static let errorPause = Duration.milliseconds(500)

    /// Makes the loop run a round at `instant` (a backoff ends, a plan may be made).
    private func wake(at instant: ContinuousClock.Instant) {
        wakeAt = min(wakeAt ?? instant, instant)
    }

    /// Applies a write's outcome to the statistics; false when fenced.
    private func handle(_ write: MoveWrite) -> Bool {
        switch write {
        case .applied:
            return true
        case .conflict:
            state.conflicts += 1
            markDirty()
            return true
        case .fenced:
            state.fencedWrites += 1
            logger.warning("move write fenced: another controller leads")
            return false
        }
    }

    /// Whether the current plan was made from inputs that still hold: the same members, and every
    /// assignment unchanged since planning or moved by a move of the plan already written.
    private func planHolds(members: MembershipSnapshot, assignments: AssignmentSnapshot) -> Bool {
        guard let planMembers, planMembers == members.members, planBase.count == assignments.entries.count else {
            return false
        }
        let queued = Set(queue.map(\.move.space))
        for (space, stored) in assignments.entries {
            guard let base = planBase[space] else { return false }
            if base != stored.modRevision && (!planSpaces.contains(space) || queued.contains(space)) { return false }
        }
        return true
    }

    private func makePlan(members: MembershipSnapshot, assignments: AssignmentSnapshot, moves: MoveSnapshot) {
        planStale = false
        lastPlanAt = clock.now
        planMembers = members.members
        planBase = assignments.entries.mapValues(\.modRevision)
        planSpaces = []
        queue = []
        copyQueue = []
        let plan: RebalancePlan
        do {
            let membership = try Self.membership(members: members, assignments: assignments)
            let directory = try Self.projectedDirectory(assignments: assignments, moves: moves)
            if directory.isEmpty { return }
            let reportSeconds = configuration.loadReportSeconds
            let smoothed = smoother.smooth(
                Self.workload(loads: loads, assignments: assignments, reportSeconds: reportSeconds),
                sampleSeconds: Self.sampleSeconds(loads: loads, assignments: assignments, blended: blended,
                                                  reportSeconds: reportSeconds))
            blended = loads.reportRevisions
            let workload = Self.pooled(smoothed, assignments: assignments, windowSeconds: smoother.windowSeconds)
            plan = try planner.plan(directory: directory, membership: membership, workload: workload)
        } catch {
            noteError("planning: \(error)")
            return
        }
        state.plans += 1
        var seen = Set<SpaceID>()
        for move in plan.moves {
            guard seen.insert(move.space).inserted, moves.entries[move.space] == nil,
                  let stored = assignments.entries[move.space] else { continue }
            guard let from = move.from, let to = move.to, members.members[from] != nil else {
                // A copy added, dropped, or replacing one on a dead node: an assignment write.
                if move.source != nil || move.to == nil {
                    planSpaces.insert(move.space)
                    copyQueue.append((move, stored))
                    continue
                }
                state.skippedWithoutSource += 1
                if reportedNoSource.insert(move.space).inserted {
                    logger.error("space has no live copy: not moved", metadata: ["move": "\(move)"])
                }
                continue
            }
            guard move.source == from else {
                // The only copy is on a dead node: no source. Restoring it from replicas is the
                // replication issue's work.
                state.skippedWithoutSource += 1
                if reportedNoSource.insert(move.space).inserted {
                    logger.error("space has no live copy: not moved", metadata: ["move": "\(move)"])
                }
                continue
            }
            planSpaces.insert(move.space)
            queue.append(PlannedMove(move: move, from: from, to: to, assignmentRevision: stored.modRevision,
                                     version: stored.assignment.version))
        }
        if !queue.isEmpty {
            logger.info("planned", metadata: ["moves": "\(queue.count)", "critical": "\(plan.count(of: .critical))",
                                              "high": "\(plan.count(of: .high))", "low": "\(plan.count(of: .low))"])
        }
    }
}
