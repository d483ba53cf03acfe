// ClusterRoutes: `GET /v1/cluster`, the cluster as this node sees it (members with their spaces and
// bytes, the controller, moves in flight, the etcd revision), and `POST /v1/cluster/drain`, which
// marks this node draining: the controller moves its spaces away and the node leaves the member
// list once it owns none; `POST /v1/cluster/sequences` (admin) answers the log sequences of this
// node's copies of the listed spaces (the controller's failover question), and
// `POST /v1/cluster/checksums` their sequences and checksums (SpaceChecksum); and
// `POST /v1/cluster/discard` drops the listed spaces' copies that no assignment names this node
// for (before the controller gives it a copy again); `POST /v1/cluster/heartbeat` is a primary
// saying which of this node's replica copies are current (ReplicaFreshness). A single node answers the status with `"mode":"single"` and refuses
// the drain with 409 `notClustered`.
import Foundation
import Hummingbird
import MnemoCluster
import MnemoPlacement

/// `GET /v1/cluster`, `POST /v1/cluster/drain`.
struct ClusterRoutes: Sendable {
    let state: ServerState

    struct Member: Encodable {
        var node: UInt32
        var address: String
        var rack: String
        var capacity: Double
        var state: String
        var spaces: Int
        var bytes: Int
    }

    struct Status: Encodable {
        var mode: String
        var node: UInt32?
        var leader: String?
        var revision: Int64
        var members: [Member]
        var moves: [JSONValue]
    }

    struct DrainAnswer: Encodable {
        var node: UInt32
        var state: String
        var spaces: Int
    }

    /// `POST /v1/cluster/sequences` (and checksums, discard) body: space ids as 16 hex digits;
    /// for sequences, optionally the assignment version each is being failed over from, at which
    /// replication is then refused here (ReplicaFences).
    struct SequencesRequest: Codable {
        var spaces: [String]
        var versions: [String: UInt64]?
    }

    /// Its answer: the log sequence of each space this node holds a copy of.
    struct SequencesAnswer: Codable {
        var sequences: [String: UInt64]
    }

    func register(on router: RouterGroup<ServerContext>) {
        router.get("cluster") { _, context in try await status(context) }
        router.post("cluster/drain") { _, context in try await drain(context) }
        router.post("cluster/sequences") { request, context in try await sequences(request, context) }
        router.post("cluster/checksums") { request, context in try await checksums(request, context) }
        router.post("cluster/discard") { request, context in try await discard(request, context) }
        router.post("cluster/heartbeat") { request, context in try await heartbeat(request, context) }
    }

    /// `POST /v1/cluster/heartbeat` body: a primary's sequence of spaces replicated to this node.
    struct Heartbeat: Codable {
        var sequences: [String: UInt64]
    }

    /// Its answer: how many of those copies are current here.
    struct HeartbeatAnswer: Codable {
        var current: Int
    }

    /// A primary's heartbeat (ReplicaFreshness).
    func heartbeat(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let (node, beat) = try await nodeRequest(request, context, as: Heartbeat.self)
        return JSONResponse.make(status: .ok,
                                 HeartbeatAnswer(current: node.freshness.heartbeat(ClusterNode.bySpace(beat.sequences))))
    }

    /// `POST /v1/cluster/discard` answer: the listed spaces whose copy stays here.
    struct DiscardAnswer: Codable {
        var kept: [String]
    }

    /// The controller's request before it gives this node a copy: drop copies of these spaces
    /// left from before this node was removed from their copy sets.
    func discard(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let (node, asked) = try await nodeRequest(request, context, as: SequencesRequest.self)
        let kept = await node.discard(asked.spaces.compactMap { ClusterKeys.space(hex: $0) }, state: state,
                                      database: try state.database())
        return JSONResponse.make(status: .ok, DiscardAnswer(kept: kept.map(ClusterKeys.hex)))
    }

    /// `POST /v1/cluster/checksums` answer: each listed space's copy here at one sequence.
    struct ChecksumsAnswer: Codable {
        var checksums: [String: SpaceChecksum]
    }

    /// The replica check's question: which sequence and checksum does this node hold of these spaces?
    func checksums(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let (node, asked) = try await nodeRequest(request, context, as: SequencesRequest.self)
        let held = await node.checksums(of: asked.spaces.compactMap { ClusterKeys.space(hex: $0) },
                                        database: try state.database())
        var answer = ChecksumsAnswer(checksums: [:])
        for (space, checksum) in held { answer.checksums[ClusterKeys.hex(space)] = checksum }
        return JSONResponse.make(status: .ok, answer)
    }

    /// The admin-only node-to-node routes: checks the admin right, that this server is a cluster
    /// node (409 `notClustered` otherwise) and decodes the body.
    private func nodeRequest<Body: Decodable>(_ request: Request, _ context: ServerContext,
                                              as type: Body.Type) async throws(ServerError) -> (ClusterNode, Body) {
        try context.require(.admin, space: nil)
        guard let node = state.cluster else {
            throw ServerError(status: .conflict, code: "notClustered", message: "this server is a single node (no --etcd)")
        }
        let body = try await RequestJSON.collect(request, limit: state.configuration.maxBodyBytes)
        return (node, try RequestJSON.decode(type, from: body))
    }

    /// The controller's failover question: which sequence does this node hold of these spaces?
    func sequences(_ request: Request, _ context: ServerContext) async throws(ServerError) -> Response {
        let (node, asked) = try await nodeRequest(request, context, as: SequencesRequest.self)
        let spaces = asked.spaces.compactMap { ClusterKeys.space(hex: $0) }
        let versions = ClusterNode.bySpace(asked.versions ?? [:])
        if !versions.isEmpty { await node.fences.fence(versions) }
        let held = await node.sequences(of: spaces, database: try state.database())
        var answer = SequencesAnswer(sequences: [:])
        for (space, sequence) in held { answer.sequences[ClusterKeys.hex(space)] = sequence }
        return JSONResponse.make(status: .ok, answer)
    }

    func status(_ context: ServerContext) async throws(ServerError) -> Response {
        do {
            try context.principal.authorizeListing()
        } catch {
            throw ServerError(error)
        }
        guard let node = state.cluster else {
            let database = try state.database()
            let stats = await database.loadedSpaceStats()
            let me = Member(node: 0, address: "\(state.configuration.host):\(state.port ?? state.configuration.port)",
                            rack: "", capacity: 1, state: "alive", spaces: await database.spaces().count,
                            bytes: stats.reduce(0) { $0 + $1.bytes })
            return JSONResponse.make(status: .ok, Status(mode: "single", node: nil, leader: nil, revision: 0,
                                                        members: [me], moves: []))
        }
        let keys = node.keys
        do {
            async let leaderRead = node.etcd.get(keys.leader)
            async let loadRead = LoadStore(client: node.etcd, keys: keys).loadAll()
            async let movesRead = MoveStore(client: node.etcd, keys: keys).load()
            let members = try await node.membership.list()
            let leader = try await leaderRead.first?.valueString
            let loads = try await loadRead
            let moves = try await movesRead
            var owned: [NodeID: Int] = [:]
            for entry in node.table.assignments.values { owned[entry.assignment.primary, default: 0] += 1 }
            let rows = members.members.values.sorted { $0.node < $1.node }.map { record in
                Member(node: record.node.rawValue, address: record.address, rack: record.rack,
                       capacity: record.capacity, state: record.state.rawValue, spaces: owned[record.node] ?? 0,
                       bytes: Int(loads.reports[record.node]?.bytes ?? 0))
            }
            let moveValues = moves.entries.values.sorted { $0.record.space < $1.record.space }.compactMap { move in
                try? JSONDecoder().decode(JSONValue.self, from: Data(move.record.encoded()))
            }
            return JSONResponse.make(status: .ok, Status(
                mode: "cluster", node: node.node.rawValue, leader: leader,
                revision: max(members.revision, loads.revision, moves.revision), members: rows, moves: moveValues))
        } catch {
            throw .routingFailed("etcd is unreachable: \(error)")
        }
    }

    func drain(_ context: ServerContext) async throws(ServerError) -> Response {
        try context.require(.admin, space: nil)
        guard let node = state.cluster else {
            throw ServerError(status: .conflict, code: "notClustered",
                              message: "this server is a single node (no --etcd): there is nothing to drain to")
        }
        let owned = try await node.drain()
        return JSONResponse.make(status: .accepted, DrainAnswer(node: node.node.rawValue,
                                                               state: node.hasLeft ? "left" : "draining", spaces: owned))
    }
}
