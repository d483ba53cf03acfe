// ClusterRouter: the middleware that lets any node take any request (docs/cluster.md, "Nodes and
// routing"). For every space-bound route (`/v1/spaces/{space}...`, and `POST /v1/spaces`, whose
// body names the space) it looks the space up in the node's routing table:
//
// - Owner is this node: a request that routed by an older assignment version than the current one
//   is refused with WRONG_NODE, never applied; a newer one first re-reads that key from etcd. Then
//   the route serves it, and the response says the version it was served under.
// - Another node owns it: a request that is itself forwarded, or that names a version (a client
//   caching routes), gets 421 WRONG_NODE with the owner and the version. A plain request is
//   forwarded to the owner; if the owner answers WRONG_NODE (or cannot be reached) the key is
//   re-read from etcd and the request sent once more, else 503 ROUTING_FAILED. A streamed import
//   body cannot be sent twice, so it is sent only after a fresh read of its key.
// - No assignment: a local space (not adopted yet) is served here; a create (or an import of a new
//   name) places the space with the ring and creates its key by compare-and-swap.
//
// A request served here that finds the space gone because it moved meanwhile (a write that waited
// on the move's freeze, 503 `spaceMoved`; or one that arrived just after the cut-over dropped the
// local copy, 404 `unknownSpace`) is handed on to the new owner once a re-read of the key names one
// (its body was kept for that), even when it was itself forwarded or names a version: it was
// routed right when it arrived, so it is not answered WRONG_NODE.
//
// Requests carrying `Mnemo-Move` belong to a space move (the mover's import, log and cleanup
// calls) and are always handled locally. Requests carrying `Mnemo-Replica: <version>` are a
// primary's replication (log, sequence, snapshot import, drop) and are handled locally only if
// this node is a replica of the space at exactly that version (re-read from etcd when the node
// knows an older one); otherwise 409 `replicaFenced`: a former primary is fenced by the version.
// `Mnemo-Write-Quorum` is handed to the write as WriteQuorum.requested. A read carrying
// `Mnemo-Max-Staleness: <ms>` that reaches a replica of its space whose copy was current within
// that bound is answered there (with `Mnemo-Staleness`); otherwise it is routed to the primary.
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import MnemoCluster
import MnemoPlacement
import NIOCore

/// Routes space-bound requests to the space's owner.
struct ClusterRouter: RouterMiddleware {
    typealias Context = ServerContext

    let state: ServerState
    let node: ClusterNode

    /// The part of a create request the router reads: the name and the space's write quorum.
    private struct CreateName: Decodable {
        var name: String
        var writeQuorum: String?
    }

    func handle(_ request: Request, context: ServerContext,
                next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        if request.headers[ClusterHeaders.move] != nil { return try await next(request, context) }
        // A restarted node's local copies may be replicas: nothing is routed before the table is read.
        guard node.isSynced else {
            throw ServerError.notReady("the node is reading the cluster's assignments; retry shortly")
        }
        if let version = request.headers[ClusterHeaders.replica] {
            let space = try await checkReplica(context, version: version)
            defer { node.fences.leave(space.id) }
            return try await next(request, context)
        }
        if let text = request.headers[ClusterHeaders.writeQuorum] {
            guard let quorum = WriteQuorum(rawValue: text) else {
                throw ServerError.badRequest("Mnemo-Write-Quorum must be one of: one, majority", field: "Mnemo-Write-Quorum")
            }
            return try await WriteQuorum.$requested.withValue(quorum) { try await route(request, context: context, next: next) }
        }
        return try await route(request, context: context, next: next)
    }

    /// Refuses a replication request unless this node is a replica of the space at `version`
    /// and no failover question fenced the space at that version (ReplicaFences); admits it.
    private func checkReplica(_ context: ServerContext, version text: String) async throws -> (id: SpaceID, name: String) {
        guard let version = UInt64(text),
              let raw = context.parameters.get("space"), let name = raw.removingPercentEncoding else {
            throw ServerError.badRequest("Mnemo-Replica must be an assignment version on a space route", field: "Mnemo-Replica")
        }
        let space = SpaceID(name: name)
        var entry = node.table.lookup(space)
        if entry.map({ $0.assignment.version < version }) ?? true { entry = try await node.reread(space) }
        guard let entry, entry.assignment.version == version, entry.assignment.primary != node.node,
              entry.assignment.copies.contains(node.node) else {
            throw ServerError(status: .conflict, code: "replicaFenced",
                              message: "node \(node.node) is not a replica of \"\(name)\" at version \(version)" +
                                  (entry.map { " (current version \($0.assignment.version), primary \($0.assignment.primary))" } ?? ""))
        }
        guard node.fences.enter(space, version: version) else {
            throw ServerError(status: .conflict, code: "replicaFenced",
                              message: "\"\(name)\" at version \(version) is being failed over: its replication is closed here")
        }
        return (space, name)
    }

    private func route(_ request: Request, context: ServerContext,
                       next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        if request.method == .post, request.uri.path == "/v1/spaces" {
            return try await create(request, context: context, next: next)
        }
        guard let raw = context.parameters.get("space"), let name = raw.removingPercentEncoding, !name.isEmpty else {
            return try await next(request, context)
        }
        let space = SpaceID(name: name)
        let requested = request.headers[ClusterHeaders.assignmentVersion].flatMap { UInt64($0) }
        let forwarded = request.headers[ClusterHeaders.forwardedBy] != nil
        let isImport = request.method == .put && request.uri.path.hasSuffix("/import")
        var entry = node.table.lookup(space)
        if entry == nil {
            if await hasLocal(name) { return try await serve(request, context, entry: nil, next: next) }
            entry = try await node.reread(space)
            if entry == nil && isImport {
                try context.require(.admin, space: name)
                entry = try await node.place(space).entry
            }
        } else if let requested, let known = entry, requested > known.assignment.version {
            entry = try await node.reread(space)
        }
        guard let entry else { return try await next(request, context) }
        if entry.assignment.primary != node.node, let limit = request.headers[ClusterHeaders.maxStaleness],
           let answer = try await replicaRead(request, context, name: name, entry: entry, limit: limit, next: next) {
            return answer
        }
        if entry.assignment.primary == node.node {
            if let requested, requested < entry.assignment.version {
                node.counters.add(.wrongNode)
                throw ServerError.wrongNode(owner: node.owner(of: entry), version: entry.assignment.version)
            }
            if isImport || request.uri.path.hasSuffix("/log") {
                return try await serve(request, context, entry: entry, next: next)
            }
            // The body is kept so that a write that waited on a move's freeze, and was refused
            // because the space moved meanwhile, can go on to the new owner.
            let body = try await RequestJSON.collect(request, limit: state.configuration.maxBodyBytes)
            do {
                return try await serve(Request(head: request.head, body: .init(buffer: body)), context, entry: entry,
                                       next: next)
            } catch let error as ServerError where error.code == "spaceMoved" || error.code == "unknownSpace" {
                guard let fresh = try await node.reread(space), fresh.assignment.primary != node.node else { throw error }
                // The request reached the owner of its day: not a stale route, so it is handed on
                // (one hop more), whoever sent it, rather than answered WRONG_NODE.
                node.counters.add(.handoffs)
                return try await forward(request, context, space: space, entry: fresh, body: body, next: next)
            }
        }
        if forwarded || requested != nil {
            node.counters.add(.wrongNode)
            throw ServerError.wrongNode(owner: node.owner(of: entry), version: entry.assignment.version)
        }
        if isImport {
            return try await forwardStream(request, context, space: space, next: next)
        }
        let body = try await RequestJSON.collect(request, limit: state.configuration.maxBodyBytes)
        return try await forward(request, context, space: space, entry: entry, body: body, next: next)
    }

    /// A read that accepts `limit` milliseconds of staleness, answered from this node's replica
    /// copy when that copy was current that recently (ReplicaFreshness); nil: route it as usual.
    private func replicaRead(_ request: Request, _ context: ServerContext, name: String, entry: StoredAssignment,
                             limit text: String,
                             next: (Request, ServerContext) async throws -> Response) async throws -> Response? {
        guard let limit = Int(text), limit >= 0 else {
            throw ServerError.badRequest("Mnemo-Max-Staleness must be milliseconds (0 or more)", field: "Mnemo-Max-Staleness")
        }
        let path = request.uri.path
        let isRead = request.method == .get && !path.hasSuffix("/export") && !path.hasSuffix("/log")
            || request.method == .post && ["/search", "/recall", "/list", "/count"].contains { path.hasSuffix($0) }
        guard isRead, entry.assignment.copies.contains(node.node), let staleness = node.freshness.staleness(of: name),
              staleness <= .milliseconds(limit) else { return nil }
        node.countOperation(name)
        var response = try await next(request, context)
        response.headers[ClusterHeaders.staleness] = String(Int(SpaceMover.milliseconds(staleness).rounded(.up)))
        response.headers[ClusterHeaders.assignmentVersion] = String(entry.assignment.version)
        return response
    }

    /// Serves the request here: counts it for the load report, stamps the version, and releases
    /// the assignment of a space this node dropped.
    private func serve(_ request: Request, _ context: ServerContext, entry: StoredAssignment?,
                       next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        if let raw = context.parameters.get("space"), let name = raw.removingPercentEncoding {
            node.countOperation(name)
        }
        var response = try await next(request, context)
        guard let entry else { return response }
        response.headers[ClusterHeaders.assignmentVersion] = String(entry.assignment.version)
        // `DELETE /v1/spaces/{space}` (three path segments): the space is gone, so is its key.
        if request.method == .delete, response.status == .noContent,
           request.uri.path.split(separator: "/").count == 3 {
            if let name = context.parameters.get("space")?.removingPercentEncoding {
                await node.dropReplicas(name, entry: entry)
            }
            await node.release(entry)
        }
        return response
    }

    /// `POST /v1/spaces`: places a new space (ring + compare-and-swap), then creates it here or
    /// forwards the create to its primary.
    private func create(_ request: Request, context: ServerContext,
                        next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let body = try await RequestJSON.collect(request, limit: state.configuration.maxBodyBytes)
        let local = Request(head: request.head, body: .init(buffer: body))
        guard let create = try? RequestJSON.decode(CreateName.self, from: body), !create.name.isEmpty,
              create.name.utf8.count <= 128, create.writeQuorum.map({ WriteQuorum(rawValue: $0) != nil }) ?? true else {
            return try await next(local, context)  // the route answers the 400
        }
        let name = create.name
        try context.require(.admin, space: name)
        let space = SpaceID(name: name)
        let requested = request.headers[ClusterHeaders.assignmentVersion].flatMap { UInt64($0) }
        var placed = try await node.place(space, writeQuorum: create.writeQuorum.flatMap(WriteQuorum.init(rawValue:)))
        if let requested, requested > placed.entry.assignment.version, let fresh = try await node.reread(space) {
            placed = (fresh, false)
        }
        let entry = placed.entry
        if entry.assignment.primary == node.node {
            let response = try await next(local, context)
            if placed.created && response.status.code >= 400 { await node.release(entry) }
            if response.status == .created {
                for replica in entry.assignment.replicas {
                    node.replicator.ensure(.init(name: name, replica: replica), version: entry.assignment.version)
                }
            }
            var stamped = response
            stamped.headers[ClusterHeaders.assignmentVersion] = String(entry.assignment.version)
            return stamped
        }
        if request.headers[ClusterHeaders.forwardedBy] != nil || requested != nil {
            node.counters.add(.wrongNode)
            throw ServerError.wrongNode(owner: node.owner(of: entry), version: entry.assignment.version)
        }
        return try await forward(request, context, space: space, entry: entry, body: body, next: next)
    }

    /// Forwards a request whose body is in hand; after a WRONG_NODE or an unreachable owner,
    /// re-reads the key and tries once more (or serves here if this node turned out the owner).
    private func forward(_ request: Request, _ context: ServerContext, space: SpaceID, entry: StoredAssignment,
                         body: ByteBuffer,
                         next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let payload: RequestForwarder.Body = body.readableBytes == 0 ? .none : .buffer(body)
        var current = entry
        for attempt in 0..<2 {
            if attempt == 1 {
                guard let fresh = try await node.reread(space) else {
                    // The space lost its assignment (dropped meanwhile): let this node answer.
                    return try await next(Request(head: request.head, body: .init(buffer: body)), context)
                }
                current = fresh
                if current.assignment.primary == node.node {
                    return try await serve(Request(head: request.head, body: .init(buffer: body)), context,
                                           entry: current, next: next)
                }
                node.counters.add(.retries)
            }
            guard let address = node.table.address(of: current.assignment.primary) else { continue }
            node.counters.add(.forwards)
            do {
                let answer = try await node.forwarder.send(
                    method: request.method, target: request.head.path ?? request.uri.description,
                    headers: request.headers, to: address, version: current.assignment.version, body: payload,
                    timeout: .seconds(Int64(timeout(request))))
                if answer.status.code == 421 { continue }
                return RequestForwarder.response(from: answer)
            } catch {
                node.logger.info("forward failed", metadata: ["to": "\(address)", "error": "\(error)"])
            }
        }
        node.counters.add(.failures)
        throw ServerError.routingFailed("the owner of the space could not serve the request; retry shortly")
    }

    /// Forwards an import with its body streamed: sent once, after a fresh read of the key.
    private func forwardStream(_ request: Request, _ context: ServerContext, space: SpaceID,
                               next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        guard let entry = try await node.reread(space) else { return try await next(request, context) }
        if entry.assignment.primary == node.node { return try await serve(request, context, entry: entry, next: next) }
        guard let address = node.table.address(of: entry.assignment.primary) else {
            node.counters.add(.failures)
            throw ServerError.routingFailed("the owner of the space is not registered; retry shortly")
        }
        node.counters.add(.forwards)
        let length = request.headers[.contentLength].flatMap { Int($0) }
        let answer: HTTPClientResponse
        do {
            answer = try await node.forwarder.send(
                method: request.method, target: request.head.path ?? request.uri.description, headers: request.headers,
                to: address, version: entry.assignment.version, body: .stream(request.body, length: length),
                timeout: .seconds(Int64(node.configuration.transferTimeoutSeconds)))
        } catch {
            node.counters.add(.failures)
            throw ServerError.routingFailed("the owner of the space could not be reached: \(error)")
        }
        if answer.status.code == 421 {
            node.counters.add(.failures)
            throw ServerError.routingFailed("the space moved while its import was sent; retry")
        }
        return RequestForwarder.response(from: answer)
    }

    /// The forward limit of a request: exports stream for long.
    private func timeout(_ request: Request) -> Int {
        request.uri.path.hasSuffix("/export") ? node.configuration.transferTimeoutSeconds
            : node.configuration.forwardTimeoutSeconds
    }

    /// Whether this node's database has the space.
    private func hasLocal(_ name: String) async -> Bool {
        (try? await state.space(name)) != nil
    }
}
