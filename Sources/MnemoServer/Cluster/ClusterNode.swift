// ClusterNode: one `mnemo serve` process as a member of a cluster. It owns the node's etcd client,
// its routing table and its forwarder, and runs (as a service of the server's group, see
// ClusterService) the node's side of the control plane:
//
// - registers the member record under a lease (ClusterMembership), state alive;
// - follows the member list and the assignment table into the routing table (AssignmentStore.follow
//   re-reads everything when its watch start was compacted);
// - adopts local spaces that have no assignment (primary = self, version 1) at start;
// - writes `load/<node>` on the member lease every 2 s (LoadReport: spaces, bytes, operations
//   since the last report, the busiest spaces) for the controller's planner;
// - campaigns as a controller candidate (ClusterController, named `n<id>`: while it leads it plans
//   and writes moves), unless configured not to;
// - executes the moves addressed to it (MoveRunner: SpaceMover + MoveStore.complete);
// - replicates the spaces it is the primary of to their replicas (Replicator), acknowledges a
//   write once its quorum holds it, and accepts writes only while it surely holds its member
//   lease (a stalled node stops before the controller can have replaced it);
// - drops local copies of spaces whose assignment no longer names it (a former primary that
//   was failed over, a replica that was replaced);
// - on `POST /v1/cluster/drain` marks itself draining and leaves (revokes the lease) once it owns
//   no assignment; on shutdown it leaves at once.
//
// The request side (which node serves a request, forwarding, WRONG_NODE) is ClusterRouter; this
// type gives it lookups, single-key re-reads, placement of new spaces and the release of dropped
// ones. Every etcd write that could race is a compare-and-swap (AssignmentStore); nothing here
// retries a write blindly.
import AsyncHTTPClient
import Foundation
import Logging
import Mnemo
import MnemoCluster
import MnemoPlacement
import NIOCore
import Synchronization

/// A cluster member's runtime. Thread-safe.
public final class ClusterNode: Sendable {
    /// The node's cluster configuration.
    public let configuration: ClusterConfiguration
    /// The etcd client (one connection pool).
    public let etcd: EtcdClient
    /// The cluster's key layout.
    public let keys: ClusterKeys
    /// The assignment table in etcd.
    public let assignments: AssignmentStore
    /// The member list in etcd.
    public let membership: ClusterMembership
    let table = RoutingTable()
    let forwarder: RequestForwarder
    let replicator: Replicator
    /// How current this node's replica copies are (reads that accept staleness).
    let freshness = ReplicaFreshness()
    /// Versions a failover question fenced this node's replica copies at.
    let fences = ReplicaFences()

    /// Whether `name` is the incoming copy of a move that still exists (its key names the same
    /// move): one whose sender died mid-move had its key withdrawn and is a leftover, or unknown
    /// when etcd does not answer (then kept).
    private func isLiveIncomingMove(_ space: SpaceID, name: String, state: ServerState) async -> Bool {
        guard let move = state.incomingMoves.move(of: name) else { return false }
        do {
            return try await MoveStore(client: etcd, keys: keys).get(space)?.record.id == move
        } catch {
            return true
        }
    }

    /// Whether a fresh read of `space`'s assignment names this node (true when etcd cannot tell).
    private func isServedHere(_ space: SpaceID) async -> Bool {
        do {
            return try await reread(space)?.assignment.copies.contains(node) ?? false
        } catch {
            return true
        }
    }

    /// Whether this node's copy of `name` is one no assignment names it for (a fresh read of the
    /// key says so): a leftover of a failover or a replaced replica, about to be dropped.
    func isStaleCopy(_ name: String) async -> Bool {
        let space = SpaceID(name: name)
        guard let entry = table.lookup(space), !entry.assignment.copies.contains(node),
              let fresh = try? await reread(space) else { return false }
        return !fresh.assignment.copies.contains(node)
    }

    /// Throws 409 `replicaFenced` when a replication request for `name` (its `Mnemo-Replica`
    /// header) was fenced by a failover question while its body was on the way.
    func checkStillAdmitted(_ name: String, header: String?) throws(ServerError) {
        guard let header, let version = UInt64(header), !fences.admits(SpaceID(name: name), version: version) else {
            return
        }
        throw ServerError(status: .conflict, code: "replicaFenced",
                          message: "\"\(name)\" at version \(version) was failed over while this request arrived")
    }
    let counters = Counters()
    let logger: Logger
    private let runtime = Mutex(Runtime())

    /// What changes while the node runs.
    private struct Runtime {
        var registration: MemberRegistration?
        var address: String?
        var draining = false
        var left = false
        /// Requests served locally per space since the last load report.
        var operations: [String: Int] = [:]
        /// The assignment table has been read and local spaces adopted: until then a local copy
        /// may be a replica (a restarted node), so nothing is served from it.
        var synced = false
        /// Primary spaces whose replicas differed at the last replica check.
        var divergentSpaces = 0
        /// Replica copies compared by the replica check so far.
        var comparedCopies = 0
    }

    /// The routing counters shown on /metrics.
    final class Counters: Sendable {
        /// Requests sent on to another node (every attempt).
        let forwards = Atomic<Int>(0)
        /// WRONG_NODE answers this node gave.
        let wrongNode = Atomic<Int>(0)
        /// Second attempts after a WRONG_NODE or an unreachable owner.
        let retries = Atomic<Int>(0)
        /// Requests answered ROUTING_FAILED.
        let failures = Atomic<Int>(0)
        /// Requests whose space moved away while they were served here, handed on to the new owner.
        let handoffs = Atomic<Int>(0)
        /// Writes answered `replicationTimeout` (applied here, not on a quorum in time).
        let replicationTimeouts = Atomic<Int>(0)

        /// Which counter.
        enum Kind { case forwards, wrongNode, retries, failures, handoffs, replicationTimeouts }

        func add(_ kind: Kind) {
            switch kind {
            case .forwards: forwards.wrappingAdd(1, ordering: .relaxed)
            case .wrongNode: wrongNode.wrappingAdd(1, ordering: .relaxed)
            case .retries: retries.wrappingAdd(1, ordering: .relaxed)
            case .failures: failures.wrappingAdd(1, ordering: .relaxed)
            case .handoffs: handoffs.wrappingAdd(1, ordering: .relaxed)
            case .replicationTimeouts: replicationTimeouts.wrappingAdd(1, ordering: .relaxed)
            }
        }
    }

    /// Most spaces a load report lists one by one (the busiest; the totals cover all).
    static let loadReportSpaces = 256

    /// Creates the node's runtime (nothing is contacted until the service runs).
    public init(configuration: ClusterConfiguration, tls: Bool = false,
                logger: Logger = Logger(label: "mnemo.cluster")) {
        self.configuration = configuration
        self.etcd = EtcdClient(configuration: .init(endpoint: configuration.etcdEndpoints.first ?? "http://127.0.0.1:2379"))
        self.keys = ClusterKeys(root: configuration.root)
        self.assignments = AssignmentStore(client: etcd, keys: keys)
        self.membership = ClusterMembership(client: etcd, keys: keys)
        self.forwarder = RequestForwarder(node: configuration.node, tls: tls)
        self.replicator = Replicator(node: configuration.node, table: table, http: forwarder.http, logger: logger)
        self.logger = logger
    }

    /// This node's id.
    public var node: NodeID { configuration.node }

    /// The address this node registered (nil until registered).
    public var address: String? { runtime.withLock { $0.address } }

    /// Whether the node has read the assignment table (and adopted its unassigned local spaces).
    var isSynced: Bool { runtime.withLock { $0.synced } }

    /// Whether the node is draining (or has left).
    public var isDraining: Bool { runtime.withLock { $0.draining } }

    /// Whether the node has left the member list.
    public var hasLeft: Bool { runtime.withLock { $0.left } }

    // MARK: Routing support

    /// Re-reads one space's assignment from etcd and installs it in the table.
    func reread(_ space: SpaceID) async throws(ServerError) -> StoredAssignment? {
        do {
            let result = try await etcd.get(keys.assignment(space))
            let entry = result.first.flatMap { kv in
                StoredAssignment.decode(space: space, value: kv.value, modRevision: kv.modRevision)
            }
            table.install(space, entry, readAt: result.revision)
            return entry
        } catch {
            throw .routingFailed("etcd is unreachable: \(error)")
        }
    }

    /// The space's assignment; when it has none, places it with the ring over the alive,
    /// non-draining members and creates the key by compare-and-swap (version 1, with the space's
    /// own `writeQuorum` if given). Returns the stored assignment and whether this call created it.
    func place(_ space: SpaceID, writeQuorum: WriteQuorum? = nil) async throws(ServerError)
        -> (entry: StoredAssignment, created: Bool) {
        if let entry = table.lookup(space) { return (entry, false) }
        if let entry = try await reread(space) { return (entry, false) }
        var candidates = table.members.members.values
            .filter { $0.state == .alive || $0.state == .joining }
            .map { Node(id: $0.node, rack: $0.rack, capacity: $0.capacity) }
        if candidates.isEmpty && !isDraining {
            candidates = [Node(id: node, rack: configuration.rack, capacity: configuration.capacity)]
        }
        guard !candidates.isEmpty else { throw .routingFailed("no alive member to place the space on") }
        let copies: CopySet
        do {
            let factor = min(configuration.replicationFactor, candidates.count)
            let ring = try Ring(nodes: candidates, configuration: RingConfiguration(replicationFactor: factor,
                                                                                   rackAware: factor > 1))
            copies = ring.copies(for: space)
        } catch {
            throw .routingFailed("placement failed: \(error)")
        }
        let assignment = Assignment(copies: copies, version: 1)
        do {
            switch try await assignments.create(space, assignment, writeQuorum: writeQuorum?.rawValue) {
            case .applied(let revision):
                let entry = StoredAssignment(space: space, assignment: assignment, modRevision: revision,
                                             writeQuorum: writeQuorum?.rawValue)
                table.install(space, entry, readAt: revision)
                return (entry, true)
            case .conflict(let current?):
                table.install(space, current, readAt: current.modRevision)
                return (current, false)
            case .conflict(nil), .fenced:
                throw ServerError.routingFailed("the space's assignment changed while it was placed; retry")
            }
        } catch let error as ServerError {
            throw error
        } catch {
            throw .routingFailed("etcd is unreachable: \(error)")
        }
    }

    /// Deletes a dropped space's assignment if the key is still the one read (`entry`).
    func release(_ entry: StoredAssignment) async {
        let key = keys.assignment(entry.space)
        let txn = EtcdTxn(compare: [.modRevision(key, .equal, entry.modRevision)], success: [.delete(key)])
        do {
            let result = try await etcd.txn(txn)
            if result.succeeded { table.install(entry.space, nil, readAt: result.revision) }
        } catch {
            logger.warning("the dropped space's assignment stays", metadata: ["space": "\(entry.space)", "error": "\(error)"])
        }
    }

    // MARK: Replication

    /// How long before its lease may expire the node stops accepting writes.
    var leaseMargin: Duration { .milliseconds(max(200, configuration.leaseTTL * 1000 / 5)) }

    /// Whether the node surely holds its member lease (by its own clock, with ``leaseMargin``).
    var holdsLease: Bool {
        runtime.withLock { state in
            !state.left && (state.registration?.keeper.isHeld(margin: leaseMargin) ?? false)
        }
    }

    /// The assignment a write of `name` is applied under here, checked before it is applied: the
    /// node must hold its lease (else 503 `leaseExpired`: a stalled or cut-off node may have been
    /// replaced), and must still be the space's primary (else 503 `spaceMoved`, which the router
    /// hands on to the owner). Nil for a local space that has no assignment yet.
    func writableEntry(_ name: String) throws(ServerError) -> StoredAssignment? {
        guard holdsLease else {
            throw ServerError(status: .serviceUnavailable, code: "leaseExpired",
                              message: "this node does not hold its cluster lease: it accepts no writes until it has renewed it; retry",
                              retryAfterSeconds: 1)
        }
        guard let entry = table.lookup(SpaceID(name: name)) else {
            // A local space without an assignment is written only once the table was read (it is
            // then one about to be adopted, never a replica's copy).
            guard isSynced else { throw .notReady("the node is reading the cluster's assignments; retry shortly") }
            return nil
        }
        guard entry.assignment.primary == node else {
            throw ServerError(status: .serviceUnavailable, code: "spaceMoved",
                              message: "space \"\(name)\" is served by node \(entry.assignment.primary); retry",
                              retryAfterSeconds: 1)
        }
        return entry
    }

    /// Waits until the write quorum of `entry`'s copies holds every write `space` has logged so
    /// far (the one just applied included), then checks the lease again: a write acknowledged by
    /// a node that may have been replaced meanwhile is answered 503 (outcome indeterminate).
    func commit(_ name: String, space: Space, entry: StoredAssignment?) async throws(ServerError) {
        if let entry, entry.assignment.copies.count > 1 {
            let sequence: UInt64
            do {
                sequence = try await space.logSequence()
            } catch {
                throw ServerError(error)
            }
            let quorum = WriteQuorum.requested ?? entry.writeQuorum.flatMap(WriteQuorum.init(rawValue:))
                ?? configuration.writeQuorum
            let held = await replicator.commit(name, sequence: sequence, entry: entry, quorum: quorum,
                                               timeout: .milliseconds(configuration.replicationTimeoutMilliseconds))
            guard held else {
                counters.add(.replicationTimeouts)
                throw ServerError(status: .serviceUnavailable, code: "replicationTimeout",
                                  message: "the write is applied on the primary but not yet on a \(quorum.rawValue) of the copies; its outcome is unknown, retry it",
                                  retryAfterSeconds: 1)
            }
        }
        guard holdsLease else {
            throw ServerError(status: .serviceUnavailable, code: "leaseExpired",
                              message: "this node lost its cluster lease while the write was applied; its outcome is unknown, retry it",
                              retryAfterSeconds: 1)
        }
    }

    /// The log sequences of this node's copies of `spaces` (absent: no copy here).
    func sequences(of spaces: [SpaceID], database: Database) async -> [SpaceID: UInt64] {
        var result: [SpaceID: UInt64] = [:]
        for (id, _, space) in await copies(of: spaces, database: database) {
            if let sequence = try? await space.logSequence() { result[id] = sequence }
        }
        return result
    }

    /// The sequences and checksums of this node's copies of `spaces` (absent: no copy here, or
    /// one written throughout the reads).
    func checksums(of spaces: [SpaceID], database: Database) async -> [SpaceID: SpaceChecksum] {
        var result: [SpaceID: SpaceChecksum] = [:]
        for (id, _, space) in await copies(of: spaces, database: database) {
            if let checksum = try? await SpaceChecksum.of(space) { result[id] = checksum }
        }
        return result
    }

    private func copies(of spaces: [SpaceID], database: Database) async -> [(id: SpaceID, name: String, space: Space)] {
        let wanted = Set(spaces)
        var result: [(id: SpaceID, name: String, space: Space)] = []
        for name in await database.spaces() where wanted.contains(SpaceID(name: name)) {
            if let space = try? await database.space(name) { result.append((SpaceID(name: name), name, space)) }
        }
        return result
    }

    /// Asks node `other` for its copies' sequences (`POST /v1/cluster/sequences`), fencing them
    /// at the given assignment versions first (ReplicaFences); nil when it cannot be reached.
    func remoteSequences(_ other: NodeID, versions: [SpaceID: UInt64], authorization: String?) async -> [SpaceID: UInt64]? {
        var body = ClusterRoutes.SequencesRequest(spaces: versions.keys.map(ClusterKeys.hex), versions: [:])
        for (space, version) in versions { body.versions?[ClusterKeys.hex(space)] = version }
        let answer = await ask(other, "/v1/cluster/sequences", body: body, authorization: authorization,
                               as: ClusterRoutes.SequencesAnswer.self)
        return answer.map { Self.bySpace($0.sequences) }
    }

    /// Asks node `other` for its copies' checksums (`POST /v1/cluster/checksums`).
    func remoteChecksums(_ other: NodeID, spaces: [SpaceID], authorization: String?) async -> [SpaceID: SpaceChecksum]? {
        let answer = await ask(other, "/v1/cluster/checksums", spaces: spaces, authorization: authorization,
                               as: ClusterRoutes.ChecksumsAnswer.self)
        return answer.map { Self.bySpace($0.checksums) }
    }

    /// Has node `other` drop its stale copies of `spaces` (`POST /v1/cluster/discard`); true
    /// when it answered that none is left.
    func remoteDiscard(_ other: NodeID, spaces: [SpaceID], authorization: String?) async -> Bool {
        let answer = await ask(other, "/v1/cluster/discard", spaces: spaces, authorization: authorization,
                               as: ClusterRoutes.DiscardAnswer.self)
        return answer?.kept.isEmpty ?? false
    }

    /// Drops this node's copies of `spaces` that a fresh read of the assignment table does not
    /// name it for. Returns the spaces whose copy stays (this node is a copy, or etcd did not answer).
    func discard(_ spaces: [SpaceID], state: ServerState, database: Database) async -> [SpaceID] {
        let held = await copies(of: spaces, database: database)
        if held.isEmpty { return [] }
        guard let fresh = try? await assignments.load() else { return held.map(\.id) }
        table.replace(fresh)
        var kept: [SpaceID] = []
        for (id, name, _) in held {
            var discard = fresh.entries[id].map { !$0.assignment.copies.contains(node) } ?? false
                && !state.incomingMoves.isArriving(name)
            if discard { discard = await !isLiveIncomingMove(id, name: name, state: state) }
            // A move that ended after the range read may have cut its copy over to here.
            if discard && state.incomingMoves.move(of: name) != nil { discard = await !isServedHere(id) }
            guard discard else {
                kept.append(id)
                continue
            }
            state.incomingMoves.forget(name)
            state.forget(name)
            do {
                try await database.dropSpace(name)
                replicator.forget(name)
                freshness.forget(name)
                logger.notice("dropped a stale copy before receiving the space again", metadata: ["space": "\(name)"])
            } catch where error.code == .unknownSpace {
            } catch {
                kept.append(id)
            }
        }
        return kept
    }

    /// A map keyed by space ids as 16 hex digits, keyed by space id (malformed keys left out).
    static func bySpace<Value>(_ byHex: [String: Value]) -> [SpaceID: Value] {
        var result: [SpaceID: Value] = [:]
        for (key, value) in byHex {
            if let space = ClusterKeys.space(hex: key) { result[space] = value }
        }
        return result
    }

    private func ask<Answer: Decodable>(_ other: NodeID, _ path: String, spaces: [SpaceID], authorization: String?,
                                        as type: Answer.Type) async -> Answer? {
        await ask(other, path, body: ClusterRoutes.SequencesRequest(spaces: spaces.map(ClusterKeys.hex)),
                  authorization: authorization, as: type)
    }

    private func ask<Body: Encodable, Answer: Decodable>(_ other: NodeID, _ path: String, body: Body,
                                                         authorization: String?, as: Answer.Type) async -> Answer? {
        guard let address = table.address(of: other) else { return nil }
        var request = HTTPClientRequest(url: SpaceMover.baseURL(address) + path)
        request.method = .POST
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        request.headers.add(name: "Content-Type", value: "application/json")
        guard let data = try? JSONEncoder().encode(body) else { return nil }
        request.body = .bytes(ByteBuffer(bytes: data))
        do {
            let response = try await forwarder.http.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 64 << 20)
            guard response.status == .ok else {
                logger.info("cluster question refused", metadata: [
                    "node": "\(other)", "path": "\(path)", "status": "\(response.status.code)",
                    "answer": "\(String(buffer: body).prefix(300))"])
                return nil
            }
            return try JSONDecoder().decode(Answer.self, from: Data(body.readableBytesView))
        } catch {
            logger.info("cluster question failed", metadata: ["node": "\(other)", "path": "\(path)", "error": "\(error)"])
            return nil
        }
    }

    /// The replica check: compares the checksum of every primary space here whose replicas are
    /// all Active with each replica's, at equal sequences, and records how many differ
    /// (`mnemo_replication_divergent_spaces`). Spaces written meanwhile are skipped this round.
    /// A replica whose copy is missing or ahead of this one is asked again (``Replicator/recheck(_:)``).
    func checkReplicas(local: [SpaceID: String], database: Database) async {
        var byReplica: [NodeID: [SpaceID]] = [:]
        var mine: [SpaceID: SpaceChecksum] = [:]
        for (space, entry) in table.assignments where entry.assignment.primary == node && entry.assignment.copies.count > 1 {
            guard let name = local[space],
                  entry.assignment.replicas.allSatisfy({ replicator.replicaState(name, $0)?.state == .active }),
                  let copy = try? await database.space(name), let checksum = try? await SpaceChecksum.of(copy) else { continue }
            mine[space] = checksum
            for replica in entry.assignment.replicas { byReplica[replica, default: []].append(space) }
        }
        var divergent = Set<SpaceID>()
        var compared = 0
        for (replica, spaces) in byReplica {
            guard let theirs = await remoteChecksums(replica, spaces: spaces, authorization: replicator.authorization) else {
                continue
            }
            for space in spaces {
                guard let mineNow = mine[space], let name = local[space] else { continue }
                guard let their = theirs[space], their.sequence <= mineNow.sequence else {
                    // Its stream thinks it caught up, but the copy is gone or holds more than
                    // this primary: ask it again (a snapshot follows).
                    replicator.recheck(.init(name: name, replica: replica))
                    continue
                }
                guard their.sequence == mineNow.sequence else { continue }
                compared += 1
                if their.checksum != mineNow.checksum { divergent.insert(space) }
            }
        }
        runtime.withLock {
            $0.divergentSpaces = divergent.count
            $0.comparedCopies += compared
        }
        if !divergent.isEmpty {
            logger.error("replicas diverge from the primary", metadata: ["spaces": "\(divergent.count)"])
        }
    }

    /// Deletes the replicas' copies of the dropped space `name` (best effort: a replica that
    /// misses it keeps an orphan copy until an operator drops it).
    func dropReplicas(_ name: String, entry: StoredAssignment) async {
        let authorization = replicator.authorization
        for replica in entry.assignment.replicas {
            guard let address = table.address(of: replica) else { continue }
            let target = CopyTarget(http: forwarder.http, base: SpaceMover.baseURL(address), name: name,
                                    headers: [(ClusterHeaders.replica, String(entry.assignment.version))],
                                    purpose: "replica on node \(replica)", authorization: authorization)
            do {
                try await target.deleteCopy()
            } catch {
                logger.warning("a replica of a dropped space was not deleted",
                               metadata: ["space": "\(name)", "replica": "\(replica)", "error": "\(error)"])
            }
        }
        replicator.forget(name)
    }

    /// How often a primary tells its replicas which of their copies are current.
    static let heartbeatInterval: Duration = .seconds(1)

    /// Once a second: tells each replica node the sequence of every space whose stream to it is
    /// idle and caught up (`POST /v1/cluster/heartbeat`), so its copies stay fresh for reads that
    /// accept staleness although no record arrives.
    private func sendHeartbeats(authorization: String?) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: Self.heartbeatInterval)
            } catch {
                return
            }
            guard holdsLease else { continue }
            for (replica, sequences) in replicator.caughtUp() {
                var body = ClusterRoutes.Heartbeat(sequences: [:])
                for (space, sequence) in sequences { body.sequences[ClusterKeys.hex(space)] = sequence }
                _ = await ask(replica, "/v1/cluster/heartbeat", body: body, authorization: authorization,
                              as: ClusterRoutes.HeartbeatAnswer.self)
            }
        }
    }

    /// The replica check runs every this many 2 s ticks.
    static let replicaCheckTicks = 15

    /// Every 2 s: drops local copies that no assignment names this node for (a former primary
    /// failed over while away, a replaced replica), and starts replication streams for the
    /// replicas of this node's primary spaces that are not known to be caught up; every 30 s,
    /// the replica check.
    private func tend(state: ServerState, database: Database) async {
        var ticks = 0
        while !Task.isCancelled {
            ticks += 1
            do {
                try await Task.sleep(for: .seconds(2))
            } catch {
                return
            }
            guard holdsLease else { continue }
            var local: [SpaceID: String] = [:]
            for name in await database.spaces() { local[SpaceID(name: name)] = name }
            let stale = local.filter { isStale($0.key, name: $0.value, state: state) }
            // Re-read first (one range read): the watch may lag a change that added this node back.
            if !stale.isEmpty, let fresh = try? await assignments.load() {
                table.replace(fresh)
                for (space, name) in stale {
                    // Asked again: while the read was on its way, a move or a snapshot may have
                    // replaced the stale copy with one this node serves (the read may predate it).
                    guard let entry = fresh.entries[space], !entry.assignment.copies.contains(node),
                          isStale(space, name: name, state: state) else { continue }
                    state.forget(name)
                    do {
                        try await database.dropSpace(name)
                        replicator.forget(name)
                        freshness.forget(name)
                        logger.notice("dropped a copy no longer assigned here", metadata: [
                            "space": "\(name)", "primary": "\(entry.assignment.primary)", "version": "\(entry.assignment.version)"])
                    } catch {
                        logger.warning("a copy no longer assigned here could not be dropped",
                                       metadata: ["space": "\(name)", "error": "\(error)"])
                    }
                }
            }
            replicator.sweep(local: local)
            if ticks % Self.replicaCheckTicks == 0 { await checkReplicas(local: local, database: database) }
        }
    }

    /// Whether the local copy `name` is one no assignment names this node for, as far as the
    /// routing table knows, and no import, move or freeze is using it. Forgets the incoming
    /// move of a copy that was cut over (it is served here now).
    private func isStale(_ space: SpaceID, name: String, state: ServerState) -> Bool {
        guard let entry = table.lookup(space) else { return false }
        if entry.assignment.copies.contains(node) {
            state.incomingMoves.forget(name)
            return false
        }
        // Arriving first: an import records its move's copy before it stops arriving.
        return !state.incomingMoves.isArriving(name) && state.incomingMoves.move(of: name) == nil
            && !state.freezes.isFrozen(name)
    }

    /// The owner of an assignment as a WRONG_NODE answer names it.
    func owner(of entry: StoredAssignment) -> ServerError.Owner {
        ServerError.Owner(node: entry.assignment.primary.rawValue, address: table.address(of: entry.assignment.primary) ?? "")
    }

    /// Counts a request served locally for `space` (the load report's operations).
    func countOperation(_ space: String) {
        runtime.withLock { $0.operations[space, default: 0] += 1 }
    }

    /// The routing counters in Prometheus text format.
    func metricsText() -> String {
        let rows: [(String, String, Int)] = [
            ("mnemo_cluster_forwards_total", "Requests forwarded to the owning node (every attempt).",
             counters.forwards.load(ordering: .relaxed)),
            ("mnemo_cluster_wrong_node_total", "WRONG_NODE answers given by this node.",
             counters.wrongNode.load(ordering: .relaxed)),
            ("mnemo_cluster_retries_total", "Forwards retried once after a WRONG_NODE or an unreachable owner.",
             counters.retries.load(ordering: .relaxed)),
            ("mnemo_cluster_routing_failures_total", "Requests answered ROUTING_FAILED.",
             counters.failures.load(ordering: .relaxed)),
            ("mnemo_cluster_handoffs_total", "Requests whose space moved away while served here, handed on to the new owner.",
             counters.handoffs.load(ordering: .relaxed)),
            ("mnemo_replication_timeouts_total", "Writes applied here that no quorum of copies held in time (answered 503).",
             counters.replicationTimeouts.load(ordering: .relaxed)),
        ]
        let figures = replicator.figures()
        var text = rows.map { "# HELP \($0.0) \($0.1)\n# TYPE \($0.0) counter\n\($0.0) \($0.2)\n" }.joined()
        text += "# HELP mnemo_replication_records_total Log records shipped to replicas.\n"
            + "# TYPE mnemo_replication_records_total counter\nmnemo_replication_records_total \(figures.records)\n"
        text += "# HELP mnemo_replication_snapshots_total Export snapshots sent to replicas (new, diverged or cut-off copies).\n"
            + "# TYPE mnemo_replication_snapshots_total counter\nmnemo_replication_snapshots_total \(figures.snapshots)\n"
        text += "# HELP mnemo_replication_lag_records Records the replicas of this node's spaces lack of what writes wait for.\n"
            + "# TYPE mnemo_replication_lag_records gauge\nmnemo_replication_lag_records \(figures.lag)\n"
        let (divergent, compared) = runtime.withLock { ($0.divergentSpaces, $0.comparedCopies) }
        text += "# HELP mnemo_replication_divergent_spaces Primary spaces whose replicas differed (checksum at equal sequence) at the last check.\n"
            + "# TYPE mnemo_replication_divergent_spaces gauge\nmnemo_replication_divergent_spaces \(divergent)\n"
        text += "# HELP mnemo_replication_compared_copies_total Replica copies the background check compared.\n"
            + "# TYPE mnemo_replication_compared_copies_total counter\nmnemo_replication_compared_copies_total \(compared)\n"
        text += "# HELP mnemo_replication_replicas Replicas of this node's primary spaces by state.\n"
            + "# TYPE mnemo_replication_replicas gauge\n"
        for replicaState in Replicator.ReplicaState.allCases {
            text += "mnemo_replication_replicas{state=\"\(replicaState.rawValue)\"} \(figures.states[replicaState] ?? 0)\n"
        }
        return text
    }

    // MARK: Life cycle

    /// Registers, adopts local spaces, and follows the cluster until `shutdown` resolves; then
    /// leaves. Runs inside ClusterService.
    func run(state: ServerState, database: Database, address: String, until shutdown: @Sendable () async -> Void) async {
        runtime.withLock { $0.address = address }
        let record = MemberRecord(node: node, address: address, rack: configuration.rack,
                                  capacity: configuration.capacity)
        var registration: MemberRegistration?
        while registration == nil && !Task.isCancelled {
            do {
                registration = try await membership.register(record, ttl: Int64(configuration.leaseTTL))
            } catch {
                logger.warning("registration failed, retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
        let authorization = state.configuration.dev ? nil : state.configuration.adminKey.map { "Bearer \($0)" }
        replicator.attach(database: database, authorization: authorization)
        if let registration {
            runtime.withLock { $0.registration = registration }
            logger.notice("joined the cluster", metadata: ["node": "\(node)", "address": "\(address)",
                                                           "cluster": "\(configuration.name)"])
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.followMembers() }
                group.addTask { await self.followAssignments(database: database) }
                group.addTask { await self.reportLoad(database: database) }
                group.addTask { await self.tend(state: state, database: database) }
                group.addTask { await self.sendHeartbeats(authorization: authorization) }
                group.addTask {
                    await MoveRunner(node: self, state: state, limit: self.configuration.maxConcurrentMoves)
                        .run(database: database)
                }
                if configuration.runsController {
                    let controller = ClusterController(
                        client: etcd, keys: keys, name: node.description,
                        planner: RebalancePlanner(configuration: configuration.planner),
                        limits: configuration.planner.limits,
                        configuration: .init(leaseTTL: Int64(configuration.leaseTTL),
                                             loadReportSeconds: Double(configuration.loadReportMilliseconds) / 1000),
                        logger: logger,
                        nodes: .init(sequences: { other, versions in
                            await self.remoteSequences(other, versions: versions, authorization: authorization)
                        }, discard: { other, spaces in
                            await self.remoteDiscard(other, spaces: spaces, authorization: authorization)
                        }))
                    group.addTask { await controller.run() }
                }
                await shutdown()
                group.cancelAll()
            }
            await leave()
        }
        await forwarder.shutdown()
        try? await etcd.shutdown()
    }

    /// Leaves the member list now (revokes the lease); idempotent.
    func leave() async {
        let registration = runtime.withLock { state -> MemberRegistration? in
            if state.left { return nil }
            state.left = true
            return state.registration
        }
        guard let registration else { return }
        do {
            try await registration.leave()
            logger.notice("left the cluster", metadata: ["node": "\(node)"])
        } catch {
            logger.warning("leaving failed; the member key expires with its lease", metadata: ["error": "\(error)"])
        }
    }

    /// Marks the node draining; it leaves once it owns no assignment (the controller moves its
    /// spaces away). Returns how many spaces it still owns.
    @discardableResult
    public func drain() async throws(ServerError) -> Int {
        let (registration, already) = runtime.withLock { state -> (MemberRegistration?, Bool) in
            let already = state.draining
            state.draining = true
            return (state.registration, already)
        }
        guard let registration else { throw .notReady("the node has not joined the cluster yet") }
        if !already {
            do {
                try await registration.setState(.draining)
            } catch {
                runtime.withLock { $0.draining = false }
                throw .routingFailed("etcd is unreachable: \(error)")
            }
            logger.notice("draining", metadata: ["node": "\(node)"])
            Task { await self.leaveWhenEmpty() }
        }
        return ownedSpaces
    }

    /// How many assignments name this node as primary.
    var ownedSpaces: Int { table.assignments.values.filter { $0.assignment.primary == node }.count }

    private func leaveWhenEmpty() async {
        while !hasLeft {
            if ownedSpaces == 0 {
                await leave()
                return
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    private func followMembers() async {
        while !Task.isCancelled {
            do throws(EtcdError) {
                let snapshot = try await membership.list()
                table.replaceMembers(snapshot)
                let watch = membership.watch(fromRevision: snapshot.revision + 1)
                defer { watch.cancel() }
                for try await batch in watch {
                    for event in batch.events {
                        if let change = membership.change(for: event) {
                            table.apply(change, revision: event.kv.modRevision)
                        }
                    }
                }
                return
            } catch {
                if Task.isCancelled || error.code == .cancelled { return }
                logger.info("member watch restarts", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    private func followAssignments(database: Database) async {
        var adopted = false
        while !Task.isCancelled {
            do throws(EtcdError) {
                let snapshot = try await assignments.load()
                table.replace(snapshot)
                if !adopted {
                    await adopt(database: database, known: snapshot)
                    adopted = true
                    runtime.withLock { $0.synced = true }
                }
                try await assignments.follow(from: snapshot) { next in self.table.replace(next) }
                return
            } catch {
                if Task.isCancelled || error.code == .cancelled { return }
                logger.warning("assignment follow failed, restarting", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Creates `primary = self` assignments for local spaces that have none.
    private func adopt(database: Database, known: AssignmentSnapshot) async {
        for name in await database.spaces() {
            let space = SpaceID(name: name)
            if known.entries[space] != nil { continue }
            let assignment = Assignment(copies: CopySet([node]), version: 1)
            do {
                switch try await assignments.create(space, assignment) {
                case .applied(let revision):
                    table.install(space, StoredAssignment(space: space, assignment: assignment, modRevision: revision),
                                  readAt: revision)
                    logger.info("adopted a local space", metadata: ["space": "\(name)"])
                case .conflict(let current):
                    logger.warning("a local space is assigned elsewhere", metadata: [
                        "space": "\(name)", "primary": "\(current?.assignment.primary.description ?? "?")"])
                case .fenced:
                    break
                }
            } catch {
                logger.warning("adopting a local space failed", metadata: ["space": "\(name)", "error": "\(error)"])
            }
        }
    }

    private func reportLoad(database: Database) async {
        // The counts cover the time between two swaps, which a busy node stretches past the period.
        var countedSince = ContinuousClock.now
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .milliseconds(configuration.loadReportMilliseconds))
            } catch {
                return
            }
            let (lease, operations) = runtime.withLock { state -> (Int64?, [String: Int]) in
                let operations = state.operations
                state.operations = [:]
                return (state.left ? nil : state.registration?.keeper.lease.id, operations)
            }
            let now = ContinuousClock.now
            let seconds = SpaceMover.milliseconds(now - countedSince) / 1000
            countedSince = now
            guard var lease else { continue }
            if let renewed = await reregisterIfLost() { lease = renewed }
            let stats = await database.loadedSpaceStats()
            let report = Self.loadReport(stats: stats, operations: operations, seconds: seconds)
            do {
                _ = try await LoadStore(client: etcd, keys: keys).put(report, node: node, lease: lease)
            } catch {
                logger.info("load report not written", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Registers again under a new lease when the member lease was lost (etcd unreachable for
    /// longer than the TTL, or a stalled process): the member key had expired and the other nodes
    /// saw this node dead. Keeps the draining state. Returns the new lease.
    private func reregisterIfLost() async -> Int64? {
        let current = runtime.withLock { state -> MemberRegistration? in
            guard !state.left, let registration = state.registration, registration.keeper.isLost else { return nil }
            return registration
        }
        guard let current else { return nil }
        var record = current.record
        record.state = isDraining ? .draining : .alive
        do {
            let renewed = try await membership.register(record, ttl: Int64(configuration.leaseTTL))
            // The table may be stale (the watch stalled with the process): read it whole before
            // the new lease lets writes in, so a space failed over meanwhile is not written here.
            table.replace(try await assignments.load())
            let kept = runtime.withLock { state -> Bool in
                guard !state.left else { return false }
                state.registration = renewed
                return true
            }
            if !kept {
                try? await renewed.leave()
                return nil
            }
            logger.warning("the member lease was lost; registered again", metadata: ["node": "\(node)"])
            return renewed.keeper.lease.id
        } catch {
            logger.warning("registering again failed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// The load report of `stats` (the loaded spaces) and `operations` (requests served per
    /// space over the last `seconds`); LoadReport keeps the busiest ``LoadReport/maxSpaces``.
    static func loadReport(stats: [SpaceStats], operations: [String: Int], seconds: Double) -> LoadReport {
        var perSpace: [SpaceID: LoadReport.SpaceLoad] = [:]
        for space in stats {
            perSpace[SpaceID(name: space.name)] = .init(bytes: UInt64(max(0, space.bytes)),
                                                       ops: UInt64(operations[space.name] ?? 0))
        }
        for (name, ops) in operations where perSpace[SpaceID(name: name)] == nil {
            perSpace[SpaceID(name: name)] = .init(bytes: 0, ops: UInt64(ops))
        }
        return LoadReport(spaces: stats.count, bytes: UInt64(stats.reduce(0) { $0 + max(0, $1.bytes) }),
                          ops: UInt64(operations.values.reduce(0, +)), perSpace: perSpace,
                          seconds: seconds > 0 ? seconds : nil)
    }
}
